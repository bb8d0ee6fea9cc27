package protocoltests

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
// Safari 5 and other old browsers speak this draft. Its handshake carries
// two keys in headers and eight more bytes after them, and the server
// answers with the MD5 of the three. Frames are 0x00 <UTF-8 text> 0xFF; a
// close is 0xFF 0x00.

// The key pair and body used by the official suite, and the server's
// answer to them with body "aaaaaaaa".
const (
	hixieKey1   = "4 @1  46546xW%0l 1 5"
	hixieKey2   = "12998 5 Y3 1  .P00"
	hixieKey3   = "aaaaaaaa"
	hixieAnswer = "\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{"
)

// hixieHandshake opens a hixie-76 websocket on sessURL+"/websocket". It
// reads the response head before sending the eight key bytes: a server
// that waits for them before answering (as HAProxy would never let it)
// times out here. It then checks the 16-byte answer.
func hixieHandshake(t testing.TB, sessURL string) *rawConn {
	t.Helper()
	httpURL := sessURL + "/websocket"
	u, err := url.Parse(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	origin := u.Scheme + "://" + u.Host
	c := dialRaw(t, httpURL)
	r := c.request("GET", httpURL, "1.1", "", H{
		"Connection":         "Upgrade",
		"Upgrade":            "WebSocket",
		"Origin":             origin,
		"Sec-WebSocket-Key1": hixieKey1,
		"Sec-WebSocket-Key2": hixieKey2,
	})
	if r.status != 101 {
		t.Fatalf("%s: status %d, want 101", r.what, r.status)
	}
	if got := strings.ToLower(r.header.Get("Connection")); got != "upgrade" {
		t.Errorf("%s: Connection %q, want upgrade", r.what, got)
	}
	if got := strings.ToLower(r.header.Get("Upgrade")); got != "websocket" {
		t.Errorf("%s: Upgrade %q, want websocket", r.what, got)
	}
	checkHeader(t, r, "Sec-WebSocket-Location", wsURL(httpURL))
	checkHeader(t, r, "Sec-WebSocket-Origin", origin)
	if _, ok := r.header["Content-Length"]; ok {
		t.Errorf("%s: unexpected Content-Length %q", r.what, r.header.Get("Content-Length"))
	}
	c.write(hixieKey3)
	if got := c.readN(len(hixieAnswer)); got != hixieAnswer {
		t.Fatalf("hixie-76 answer %q, want %q", got, hixieAnswer)
	}
	return c
}

// hixieSend writes one hixie-76 text frame.
func (c *rawConn) hixieSend(msg string) {
	c.t.Helper()
	c.write("\x00" + msg + "\xff")
}

// hixieNext reads one hixie-76 frame. closed is true for a close frame or
// EOF; a timeout fails the test.
func (c *rawConn) hixieNext() (msg string, closed bool) {
	c.t.Helper()
	c.deadline(ioTimeout)
	b, err := c.br.ReadByte()
	if err != nil {
		if isTimeout(err) {
			c.t.Fatalf("hixie-76: no frame within %v", ioTimeout)
		}
		return "", true
	}
	switch b {
	case 0x00:
		s, err := c.br.ReadString(0xff)
		if err != nil {
			c.fail("hixie-76 frame", err)
		}
		return s[:len(s)-1], false
	case 0xff:
		if b2, err := c.br.ReadByte(); err != nil || b2 != 0x00 {
			c.t.Fatalf("hixie-76: bad close frame 0xff %#x (%v)", b2, err)
		}
		return "", true
	default:
		c.t.Fatalf("hixie-76: unexpected frame type %#x", b)
		return "", false
	}
}

func (c *rawConn) hixieMustRecv(want string) {
	c.t.Helper()
	msg, closed := c.hixieNext()
	if closed {
		c.t.Fatalf("hixie-76: connection closed, want %q", want)
	}
	if msg != want {
		c.t.Fatalf("hixie-76: got %q, want %q", msg, want)
	}
}
