//go:build unix

package ws

import "syscall"

// rawReadSupported: on Unix a descriptor is read with read(2).
const rawReadSupported = true

// readFD reads from a non-blocking descriptor; wouldBlock means nothing
// has arrived yet.
func readFD(fd uintptr, p []byte) (n int, wouldBlock bool, err error) {
	for {
		n, err := syscall.Read(int(fd), p)
		switch err {
		case nil:
			return n, false, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, true, nil
		}
		return 0, false, err
	}
}
