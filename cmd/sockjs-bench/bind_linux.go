package main

import "syscall"

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from <linux/in.h>: with an
// explicit source address, the kernel picks the source port at connect()
// time, so one source address can reach several servers without the
// ports of one blocking the others.
const ipBindAddressNoPort = 24

func bindNoPort(network, address string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) {
		// Best effort: without it only the number of ports per source
		// address is smaller.
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
}

// setRcvBuf asks for a receive buffer of n bytes on the socket before it
// connects (so that the window the peer sees is small from the start).
func setRcvBuf(c syscall.RawConn, n int) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
	}); cerr != nil {
		return cerr
	}
	return err
}
