//go:build !linux

package main

import "syscall"

func bindNoPort(network, address string, c syscall.RawConn) error { return nil }

// setRcvBuf is Linux only; elsewhere the kernel's default buffer is used.
func setRcvBuf(c syscall.RawConn, n int) error { return nil }
