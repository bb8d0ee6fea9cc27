package stomp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

// A test client speaking STOMP over SockJS, by websocket or xhr-polling:
// sockjs-client's framing, done by hand.

var sessionSeq atomic.Int64

type sockConn interface {
	send(msgs ...string) error
	read() (string, error) // one SockJS frame: "o", "h", "a[...]", "c[...]"
	close()
}

type client struct {
	t       testing.TB
	conn    sockConn
	dec     decoder
	pending []string // messages of the last "a" frame not yet read
	closed  *closeFrame
}

type closeFrame struct {
	code   int
	reason string
}

// dial opens a SockJS session to url (an httptest server's) over
// transport "websocket" or "xhr".
func dial(t testing.TB, url, transport string) *client {
	t.Helper()
	id := fmt.Sprintf("c%d", sessionSeq.Add(1))
	base := url + "/000/" + id
	var sc sockConn
	switch transport {
	case "websocket":
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/websocket", nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		sc = &wsConn{ws}
	case "xhr":
		sc = &xhrConn{base: base}
	default:
		t.Fatalf("no transport %q", transport)
	}
	c := &client{t: t, conn: sc, dec: decoder{max: 1 << 20, version: v12}}
	t.Cleanup(sc.close)
	if f, err := sc.read(); err != nil || f != "o" {
		t.Fatalf("open frame %q, %v", f, err)
	}
	return c
}

// connect sends CONNECT with headers (accept-version 1.2 unless given)
// and returns CONNECTED.
func (c *client) connect(kv ...string) Frame {
	c.t.Helper()
	h := hs(kv...)
	f := Frame{Command: cmdConnect, Headers: h}
	if _, ok := f.Lookup("accept-version"); !ok {
		f.Headers = append(f.Headers, Header{"accept-version", "1.2"})
	}
	if _, ok := f.Lookup("heart-beat"); !ok {
		f.Headers = append(f.Headers, Header{"heart-beat", "0,0"})
	}
	c.sendFrame(f)
	got := c.next()
	if got.Command == cmdConnected {
		switch got.Get("version") {
		case "1.0":
			c.dec.version = v10
		case "1.1":
			c.dec.version = v11
		}
	}
	return got
}

func (c *client) sendRaw(msgs ...string) {
	c.t.Helper()
	if err := c.conn.send(msgs...); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) sendFrame(f Frame) {
	c.t.Helper()
	c.sendRaw(string(appendFrame(nil, c.dec.version, &f)))
}

// frame sends a frame given as command and header pairs, with body.
func (c *client) frame(cmd, body string, kv ...string) {
	c.t.Helper()
	c.sendFrame(Frame{Command: cmd, Headers: hs(kv...), Body: body})
}

// message returns the next SockJS message, or ok false once the session
// closed.
func (c *client) message() (string, bool) {
	c.t.Helper()
	for len(c.pending) == 0 {
		if c.closed != nil {
			return "", false
		}
		f, err := c.conn.read()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		switch {
		case f == "h":
		case strings.HasPrefix(f, "a"):
			var msgs []string
			if err := json.Unmarshal([]byte(f[1:]), &msgs); err != nil {
				c.t.Fatalf("bad frame %q: %v", f, err)
			}
			c.pending = msgs
		case strings.HasPrefix(f, "c"):
			var cl []any
			if err := json.Unmarshal([]byte(f[1:]), &cl); err != nil || len(cl) != 2 {
				c.t.Fatalf("bad close frame %q", f)
			}
			c.closed = &closeFrame{int(cl[0].(float64)), cl[1].(string)}
			return "", false
		default:
			c.t.Fatalf("unexpected frame %q", f)
		}
	}
	m := c.pending[0]
	c.pending = c.pending[1:]
	return m, true
}

// next returns the next STOMP frame, failing the test if the session
// closes first.
func (c *client) next() Frame {
	c.t.Helper()
	f, ok := c.tryNext()
	if !ok {
		c.t.Fatalf("session closed (%+v) while a frame was expected", c.closed)
	}
	return f
}

func (c *client) tryNext() (Frame, bool) {
	c.t.Helper()
	for {
		f, ok, err := c.dec.next()
		if err != nil {
			c.t.Fatalf("server sent a bad frame: %v", err)
		}
		if ok {
			return f, true
		}
		m, open := c.message()
		if !open {
			return Frame{}, false
		}
		c.dec.feed(m)
	}
}

// expect reads the next frame and checks its command and headers.
func (c *client) expect(cmd string, kv ...string) Frame {
	c.t.Helper()
	f := c.next()
	if f.Command != cmd {
		c.t.Fatalf("got %s %q %q, want %s", f.Command, f.Headers, f.Body, cmd)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if got := f.Get(kv[i]); got != kv[i+1] {
			c.t.Fatalf("%s header %s = %q, want %q (headers %q)", cmd, kv[i], got, kv[i+1], f.Headers)
		}
	}
	return f
}

// expectError reads an ERROR whose message contains msg, then the close
// with code.
func (c *client) expectError(msg string, code int) Frame {
	c.t.Helper()
	f := c.expect(cmdError)
	if !strings.Contains(f.Get("message"), msg) {
		c.t.Fatalf("ERROR message %q, want it to contain %q", f.Get("message"), msg)
	}
	c.expectClose(code)
	return f
}

func (c *client) expectClose(code int) {
	c.t.Helper()
	for {
		f, ok := c.tryNext()
		if !ok {
			break
		}
		c.t.Fatalf("got %s %q while the close was expected", f.Command, f.Headers)
	}
	if c.closed.code != code {
		c.t.Fatalf("closed with %+v, want code %d", c.closed, code)
	}
}

// wsConn is SockJS over websocket.
type wsConn struct{ ws *websocket.Conn }

func (w *wsConn) send(msgs ...string) error {
	b, _ := json.Marshal(msgs)
	return w.ws.WriteMessage(websocket.TextMessage, b)
}

func (w *wsConn) read() (string, error) {
	_ = w.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, p, err := w.ws.ReadMessage()
	return string(p), err
}

func (w *wsConn) close() { w.ws.Close() }

// xhrConn is SockJS over xhr-polling: a POST to /xhr per read.
type xhrConn struct {
	base   string
	frames []string // lines of the last poll
}

func (x *xhrConn) post(path, body string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", x.base+path, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("%s: %s %q", path, resp.Status, b)
	}
	return string(b), err
}

func (x *xhrConn) send(msgs ...string) error {
	b, _ := json.Marshal(msgs)
	_, err := x.post("/xhr_send", string(b))
	return err
}

func (x *xhrConn) read() (string, error) {
	for len(x.frames) == 0 {
		body, err := x.post("/xhr", "")
		if err != nil {
			return "", err
		}
		x.frames = strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	}
	f := x.frames[0]
	x.frames = x.frames[1:]
	return f, nil
}

func (x *xhrConn) close() {}

// serveStomp starts srv on httptest, shutting both down at the end.
func serveStomp(t testing.TB, srv *Server) string {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return ts.URL
}

var transportNames = []string{"websocket", "xhr"}
