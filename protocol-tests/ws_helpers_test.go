package protocoltests

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// wsURL turns an http(s) URL into the matching ws(s) URL.
func wsURL(httpURL string) string {
	switch {
	case strings.HasPrefix(httpURL, "https:"):
		return "wss:" + strings.TrimPrefix(httpURL, "https:")
	case strings.HasPrefix(httpURL, "http:"):
		return "ws:" + strings.TrimPrefix(httpURL, "http:")
	}
	return httpURL
}

var wsDialer = &websocket.Dialer{HandshakeTimeout: ioTimeout} // no proxy

// wsConn is an RFC 6455 client connection with deadlines on every call.
type wsConn struct {
	t testing.TB
	c *websocket.Conn
}

// dialWS opens a websocket to the http(s) URL u; it is closed when the
// test ends.
func dialWS(t testing.TB, u string) *wsConn {
	t.Helper()
	c, resp, err := wsDialer.Dial(wsURL(u), nil)
	if err != nil {
		if resp != nil {
			t.Fatalf("websocket %s: %v (status %d)", u, err, resp.StatusCode)
		}
		t.Fatalf("websocket %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsConn{t: t, c: c}
}

func (w *wsConn) send(msg string) {
	w.t.Helper()
	_ = w.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		w.t.Fatalf("websocket send %q: %v", msg, err)
	}
}

// next reads one message with a deadline.
func (w *wsConn) next() (string, error) {
	_ = w.c.SetReadDeadline(time.Now().Add(ioTimeout))
	_, b, err := w.c.ReadMessage()
	return string(b), err
}

// recv wants a message within the deadline.
func (w *wsConn) recv() string {
	w.t.Helper()
	msg, err := w.next()
	if err != nil {
		if isTimeout(err) {
			w.t.Fatalf("websocket: no message within %v", ioTimeout)
		}
		w.t.Fatalf("websocket: connection ended: %v", err)
	}
	return msg
}

func (w *wsConn) mustRecv(want string) {
	w.t.Helper()
	if got := w.recv(); got != want {
		w.t.Fatalf("websocket: got %q, want %q", got, want)
	}
}

// mustEnd wants the server to end the connection after at most extra
// more messages; the connection ending is a close frame or EOF, not a
// timeout. It returns the close error.
func (w *wsConn) mustEnd(extra int) error {
	w.t.Helper()
	for i := 0; ; i++ {
		msg, err := w.next()
		if err != nil {
			if isTimeout(err) {
				w.t.Fatalf("websocket: connection still open after %v", ioTimeout)
			}
			return err
		}
		if i >= extra {
			w.t.Fatalf("websocket: got %q, want the connection to end", msg)
		}
	}
}

func (w *wsConn) close() { w.c.Close() }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ---- hixie-76 (draft-hixie-thewebsocketprotocol-76) ------------------
//
// Safari 5 and other old browsers speak this draft; the frames and the
// handshake are internal/sockjsclient's Hixie76. These helpers add the
// suite's checks of the handshake's headers and fail the test on errors.

// hixieConn is a hixie-76 websocket under test.
type hixieConn struct {
	t testing.TB
	c *sockjsclient.Hixie76
}

// hixieHandshake opens a hixie-76 websocket on sessURL+"/websocket". The
// client reads the response head before sending the eight key bytes: a
// server that waits for them before answering (as HAProxy would never
// let it) times out here. The server's 16-byte answer is checked too.
func hixieHandshake(t testing.TB, sessURL string) *hixieConn {
	t.Helper()
	httpURL := sessURL + "/websocket"
	u, err := url.Parse(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, err := sockjsclient.DialHixie76(ctx, httpURL, http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("hixie-76 handshake on %s: %v", httpURL, err)
	}
	t.Cleanup(func() { _ = c.Close(sockjsclient.CloseDrop) })
	h := c.Response.Header
	if got := strings.ToLower(h.Get("Connection")); got != "upgrade" {
		t.Errorf("hixie-76 handshake: Connection %q, want upgrade", got)
	}
	if got := strings.ToLower(h.Get("Upgrade")); got != "websocket" {
		t.Errorf("hixie-76 handshake: Upgrade %q, want websocket", got)
	}
	if got, want := h.Get("Sec-WebSocket-Location"), wsURL(httpURL); got != want {
		t.Errorf("hixie-76 handshake: Sec-WebSocket-Location %q, want %q", got, want)
	}
	if got := h.Get("Sec-WebSocket-Origin"); got != origin {
		t.Errorf("hixie-76 handshake: Sec-WebSocket-Origin %q, want %q", got, origin)
	}
	if _, ok := h["Content-Length"]; ok {
		t.Errorf("hixie-76 handshake: unexpected Content-Length %q", h.Get("Content-Length"))
	}
	return &hixieConn{t: t, c: c}
}

// hixieSend writes one hixie-76 text frame.
func (c *hixieConn) hixieSend(msg string) {
	c.t.Helper()
	if err := c.c.Send(msg, time.Now().Add(ioTimeout)); err != nil {
		c.t.Fatalf("hixie-76 send: %v", err)
	}
}

// hixieNext reads one hixie-76 frame. closed is true for a closing frame
// or the connection's end; a timeout or a malformed frame fails the test.
func (c *hixieConn) hixieNext() (msg string, closed bool) {
	c.t.Helper()
	msg, err := c.c.Recv(time.Now().Add(ioTimeout))
	switch {
	case err == nil:
		return msg, false
	case errors.Is(err, sockjsclient.ErrClosingFrame), errors.Is(err, io.EOF):
		return "", true
	case isTimeout(err):
		c.t.Fatalf("hixie-76: no frame within %v", ioTimeout)
	default:
		c.t.Fatalf("hixie-76: %v", err)
	}
	return "", false
}

func (c *hixieConn) hixieMustRecv(want string) {
	c.t.Helper()
	msg, closed := c.hixieNext()
	if closed {
		c.t.Fatalf("hixie-76: connection closed, want %q", want)
	}
	if msg != want {
		c.t.Fatalf("hixie-76: got %q, want %q", msg, want)
	}
}
