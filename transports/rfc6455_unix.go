//go:build unix

package transports

import "syscall"

// rawReadSupported: on Unix a descriptor is read with read(2).
const rawReadSupported = true

func readFD(fd uintptr, p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
