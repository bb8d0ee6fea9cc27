// Package ws is the websocket protocol (RFC 6455) as sockjsd's websocket
// transports speak it: the handshake, done by gorilla/websocket's Upgrader
// behind a small API of our own (gorilla.go, which also lists what we rely
// on in gorilla), and the frames after it, read and written here on the
// hijacked connection (read.go, conn.go), every write passing a Guard that
// lets nothing follow the close frame.
//
// An idle connection holds little: the reader waits on the descriptor
// holding no buffer and borrows a pooled one only for bytes that arrived,
// and its chain of calls while it waits stays under about 1 KiB of stack
// frames (see CONTRIBUTING.md, "An idle connection holds little").
//
// It is an implementation detail of package sockjs; its API may change at
// any time.
package ws
