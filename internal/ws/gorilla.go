package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The handshake is gorilla/websocket's; everything after it is ours. What
// this file relies on in gorilla's Upgrader.Upgrade (v1.5.x), each checked
// by a test in gorilla_test.go that fails if an upgrade of gorilla changes
// it:
//
//  1. Nothing is left buffered after the handshake. Upgrade refuses a
//     client that sends before the handshake is answered ("client sent
//     data before handshake is complete"), so the hijacked bufio.Reader is
//     empty and our reader, which reads the connection itself, loses no
//     byte. (TestGorillaRefusesEarlyData)
//  2. The 101 response is written in one Write call on the connection
//     Hijack returned, which is our Guard: the guard can hold it back and
//     send it with the first frame, and the close rule covers it. Gorilla
//     clears the deadlines net/http set on the connection before writing.
//     (TestGorillaHandshakeOneWriteThroughGuard)
//  3. Compression is off: Upgrade answers no Sec-WebSocket-Extensions,
//     whatever the client offers, because EnableCompression is false. Our
//     frames know no RSV1 and our reader refuses it. The Upgrader is built
//     here from Config, which has no such field, and never leaves this
//     package. (TestGorillaNoCompression)
//  4. Gorilla's own buffers stay unused. With a WriteBufferPool set,
//     Upgrade does not adopt net/http's 4 KiB write buffer as its
//     connection's; the pool is never drawn from, as gorilla writes no
//     frame; ReadBufferSize zero reuses net/http's reader rather than
//     allocate one. The gorilla *Conn is dropped right after Upgrade.
//     (TestGorillaAdoptsNoWriteBuffer)

// Config is what a handshake and the connection after it need.
type Config struct {
	// MaxMessageSize is the largest message a peer may send, in bytes; a
	// larger one fails the connection with 1009 before it is read.
	MaxMessageSize int64
	// WriteTimeout bounds the handshake's write and the answer to a close
	// frame.
	WriteTimeout time.Duration
	// CheckOrigin approves the request's Origin; nil: gorilla's same-origin
	// check.
	CheckOrigin func(r *http.Request) bool
	// TextOnly refuses binary messages: the first frame of one fails the
	// connection with 1003 (RFC 6455 §7.4.1, an endpoint that accepts only
	// text).
	TextOnly bool
}

// Upgrader answers websocket handshakes. Make one with NewUpgrader; it may
// be used from many goroutines at once.
type Upgrader struct {
	cfg Config
	up  websocket.Upgrader
}

// writeBuffers is gorilla's write buffer pool, which it never uses: it
// only writes the handshake. Setting a pool keeps gorilla from adopting
// net/http's 4 KiB write buffer (behaviour 4 above).
var writeBuffers sync.Pool

// NewUpgrader builds an Upgrader from cfg.
func NewUpgrader(cfg Config) *Upgrader {
	return &Upgrader{cfg: cfg, up: websocket.Upgrader{
		// No ReadBufferSize: gorilla then reuses net/http's reader rather
		// than allocate one, and it never reads anyway.
		HandshakeTimeout: cfg.WriteTimeout,
		WriteBufferPool:  &writeBuffers,
		CheckOrigin:      cfg.CheckOrigin,
		// EnableCompression stays false: see behaviour 3 above.
	}}
}

// Upgrade answers the handshake of r and takes the connection over. On
// error the client has had its answer (an HTTP error status) or the
// connection is gone. With holdHandshake, the 101 response is kept back and
// leaves with the first frame, in one write: only where a frame surely
// follows at once.
//
// An extended CONNECT over HTTP/2 (RFC 8441, see IsExtendedConnect) is
// answered too, by this package rather than gorilla; the Conn is then
// OverHTTP2, with what that asks of the caller.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request, holdHandshake bool) (*Conn, error) {
	if IsExtendedConnect(r) {
		return u.upgradeStream(w, r, holdHandshake)
	}
	c, err := u.up.Upgrade(guardedHijacker{w, holdHandshake}, r, nil)
	if err != nil {
		return nil, err
	}
	// Only the network connection is kept: frames are ours from here on.
	conn := newConn(c.NetConn(), u.cfg.MaxMessageSize, u.cfg.WriteTimeout)
	conn.in.textOnly = u.cfg.TextOnly
	return conn, nil
}

// guardedHijacker hands gorilla's Upgrade the hijacked connection wrapped
// in a Guard, so that gorilla's write of the handshake passes the same
// guard as our frames (behaviour 2 above).
type guardedHijacker struct {
	http.ResponseWriter
	holdHandshake bool
}

func (g guardedHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(g.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return NewGuard(conn, IsClose, g.holdHandshake), brw, nil
}
