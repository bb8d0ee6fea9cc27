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
