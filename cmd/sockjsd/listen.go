package main

import (
	"io"
	"net"
	"strconv"
	"time"
)

// A TLS client (a browser told https:// for a plain-HTTP port, a
// misconfigured proxy) opens with a handshake record, which net/http reads
// as the start of a request line and waits on until ReadHeaderTimeout: the
// client sees seconds of silence and then a reset. plainListener answers it
// at once instead.
//
// The check costs nothing per connection beyond a wrapper: no goroutine,
// nothing in Accept. It runs in the connection's first Read, on the
// goroutine net/http already serves the connection with.
type plainListener struct{ net.Listener }

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &plainConn{Conn: c}, nil
}

// tlsHandshake is the content type of a TLS handshake record, the first
// byte a TLS client sends; no HTTP method starts with it.
const tlsHandshake = 0x16

const tlsRefusal = "Client sent a TLS handshake to a plain HTTP port\n"

var tlsRefusalResponse = []byte("HTTP/1.1 400 Bad Request\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\n" +
	"Content-Length: " + strconv.Itoa(len(tlsRefusal)) + "\r\n" +
	"\r\n" + tlsRefusal)

// plainConn checks the first bytes read from a connection.
type plainConn struct {
	net.Conn
	// checked is set by the first Read that got bytes. Reads of one
	// connection never overlap (net/http's reader, then a hijacker's),
	// and net/http orders the hand-over, so it needs no lock.
	checked bool
}

func (c *plainConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.checked || n == 0 {
		return n, err
	}
	c.checked = true
	if p[0] != tlsHandshake {
		return n, err
	}
	c.refuseTLS()
	// io.EOF: net/http takes it for a client gone, logs nothing and
	// writes nothing more.
	return 0, io.EOF
}

// refuseTLS writes the 400, lets the rest of the client's handshake
// arrive (closing with unread bytes would reset the connection and could
// lose the answer), and closes.
func (c *plainConn) refuseTLS() {
	_ = c.Conn.SetDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write(tlsRefusalResponse)
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
		var buf [512]byte
		for total := 0; total < 64<<10; {
			n, err := c.Conn.Read(buf[:])
			total += n
			if err != nil {
				break
			}
		}
	}
	_ = c.Conn.Close()
}

// NetConn returns the connection under the check, which holds no data of
// its own once the first Read is done: what reads a hijacked connection
// may read this one directly.
func (c *plainConn) NetConn() net.Conn { return c.Conn }

// PassthroughConn makes plainConn a ws.Passthrough: after the first Read
// it hands on the connection's bytes unchanged, so an idle websocket
// reads the descriptor itself and holds no buffer.
func (c *plainConn) PassthroughConn() net.Conn { return c.Conn }
