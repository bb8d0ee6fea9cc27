package ws

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Websockets over HTTP/2 (RFC 8441). The client opens a stream with an
// extended CONNECT (:method CONNECT, :protocol websocket), the server
// answers 200, and the frames then travel in the stream's DATA frames: the
// request body one way, the response body the other. Go's HTTP/2 server
// advertises it (SETTINGS_ENABLE_CONNECT_PROTOCOL) when GODEBUG has
// http2xconnect=1, and then hands such a request to the handler with
// Method "CONNECT", ProtoMajor 2 and the protocol in the ":protocol"
// header; otherwise it refuses the stream itself.
//
// A stream is no connection to hijack: it lives as long as the handler
// that accepted it, and is written through the ResponseWriter, flushed
// after every frame. streamConn makes it a net.Conn, so that the frames,
// the Guard and the reader are the same as over HTTP/1.1; the reader reads
// it through its Read, with a small buffer of its own.

// IsExtendedConnect reports whether r opens a websocket over HTTP/2.
func IsExtendedConnect(r *http.Request) bool {
	return r.Method == http.MethodConnect && r.ProtoMajor >= 2 && r.Header.Get(":protocol") != ""
}

// Errors of an extended CONNECT that is not a websocket handshake.
var (
	errNotWebsocketProtocol = errors.New(`websocket: the CONNECT protocol is not "websocket"`)
	errVersion              = errors.New("websocket: Sec-WebSocket-Version must be 13")
	errOrigin               = errors.New("websocket: origin not allowed")
)

// upgradeStream answers an RFC 8441 handshake and returns the websocket on
// the stream. The caller is to serve it on the handler's goroutine and
// return only once it is closed and nothing writes to it any more. With
// holdHandshake, the 200 response leaves with the first frame.
func (u *Upgrader) upgradeStream(w http.ResponseWriter, r *http.Request, holdHandshake bool) (*Conn, error) {
	var err error
	switch {
	case !strings.EqualFold(r.Header.Get(":protocol"), "websocket"):
		err = errNotWebsocketProtocol
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		// RFC 6455 §4.4: the versions the server speaks, with the refusal.
		w.Header().Set("Sec-WebSocket-Version", "13")
		err = errVersion
	case !u.originAllowed(r):
		http.Error(w, "Forbidden", http.StatusForbidden)
		return nil, errOrigin
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, err
	}
	rc := http.NewResponseController(w)
	// The server's own timeouts are for requests, not for a stream that
	// lives for days: the websocket sets its deadlines itself.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK) // no Sec-WebSocket-Accept: RFC 8441 §5
	sc := &streamConn{body: r.Body, w: w, rc: rc, remote: streamAddr(r.RemoteAddr)}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		sc.local = la
	} else {
		sc.local = streamAddr("")
	}
	if !holdHandshake {
		if err := rc.Flush(); err != nil {
			return nil, err
		}
	}
	c := newConn(NewGuard(sc, IsClose, false), u.cfg.MaxMessageSize, u.cfg.WriteTimeout)
	c.in.textOnly = u.cfg.TextOnly
	c.stream = true
	return c, nil
}

// originAllowed applies Config.CheckOrigin, or, when it is nil, the check
// gorilla makes: no Origin, or one whose host is the request's.
func (u *Upgrader) originAllowed(r *http.Request) bool {
	if u.cfg.CheckOrigin != nil {
		return u.cfg.CheckOrigin(r)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	o, err := url.Parse(origin)
	return err == nil && strings.EqualFold(o.Host, r.Host)
}

// streamConn is an HTTP/2 stream as a net.Conn: reads come from the
// request body, and each write goes to the ResponseWriter and is flushed.
// Its methods must not be called once the handler has returned, which
// the caller of upgradeStream sees to.
type streamConn struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	local  net.Addr
	remote net.Addr

	mu     sync.Mutex // held across each write and its flush
	closed atomic.Bool
}

func (c *streamConn) Read(p []byte) (int, error) { return c.body.Read(p) }

func (c *streamConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	n, err := c.w.Write(p)
	if err == nil {
		err = c.rc.Flush()
	}
	return n, err
}

// Close ends reading at once (a Read under way returns) and writing; the
// stream itself ends when the handler returns. A write under way, which
// holds mu, is stuck on a peer that does not read: the stream is reset,
// so that it fails at once. Otherwise what was written, a close frame
// last, still reaches the peer.
func (c *streamConn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.mu.TryLock() {
		c.mu.Unlock() // no write under way, and none starts now
	} else {
		_ = c.rc.SetWriteDeadline(time.Unix(1, 0)) // a deadline in the past resets the stream
	}
	// A deadline in the past closes the request body for good.
	return c.rc.SetReadDeadline(time.Unix(1, 0))
}

func (c *streamConn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return nil // the body is closed for good already
	}
	return c.rc.SetReadDeadline(t)
}

func (c *streamConn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return nil
	}
	return c.rc.SetWriteDeadline(t)
}

func (c *streamConn) SetDeadline(t time.Time) error {
	_ = c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }

// streamAddr is an address known only as the text net/http gives.
type streamAddr string

func (a streamAddr) Network() string { return "tcp" }
func (a streamAddr) String() string  { return string(a) }
