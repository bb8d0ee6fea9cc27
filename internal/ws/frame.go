package ws

import (
	"encoding/binary"
	"unicode/utf8"
)

// Opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxControlPayload is the most a ping, pong or close frame may carry.
const maxControlPayload = 125

// Headroom is the room a message needs before it for the longest frame
// header a server writes (2 bytes, and 8 of length): Conn.WriteText frames
// a message in place, never copying it.
const Headroom = 10

// Frame writes the header of a final, unmasked frame carrying
// buf[Headroom:] into the end of the headroom and returns the frame.
func Frame(buf []byte, opcode int) []byte {
	n := len(buf) - Headroom
	var start int
	switch {
	case n < 126:
		start = Headroom - 2
		buf[start+1] = byte(n)
	case n <= 0xFFFF:
		start = Headroom - 4
		buf[start+1] = 126
		binary.BigEndian.PutUint16(buf[start+2:], uint16(n))
	default:
		start = 0
		buf[1] = 127
		binary.BigEndian.PutUint64(buf[2:], uint64(n))
	}
	buf[start] = 0x80 | byte(opcode) // FIN: every message is one frame
	return buf[start:]
}

// Opcodes a caller of Frame may need.
const (
	OpText  = opText
	OpClose = opClose
)

// IsClose reports whether p, a whole frame a server writes, is a close
// frame (FIN, opcode 8; a server's frames are not masked).
func IsClose(p []byte) bool { return len(p) > 0 && p[0] == 0x80|opClose }

// TruncateReason shortens a close reason to the 123 bytes a close frame
// has room for, on a rune boundary.
func TruncateReason(s string) string {
	const max = maxControlPayload - 2
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
