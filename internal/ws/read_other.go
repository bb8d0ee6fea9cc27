//go:build !unix

package ws

// rawReadSupported: elsewhere the reader keeps a small buffer of its own
// and reads through the net.Conn.
const rawReadSupported = false

func readFD(uintptr, []byte) (int, bool, error) { panic("unreachable") }
