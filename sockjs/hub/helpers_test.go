package hub_test

import (
	"context"
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
	"github.com/sockjsd/sockjsd/sockjs"
)

// TestMain fails the run if goroutines of this module outlive the tests.
func TestMain(m *testing.M) { leaktest.Main(m) }

// env is a SockJS server whose sessions the test takes hold of: each
// session's handler hands it over and waits for its end. A session's user
// is the "user" query parameter of its opening request.
type env struct {
	t        testing.TB
	url      string
	srv      *sockjs.Server
	sessions chan *sockjs.Session
}

var ids atomic.Int64

func newEnv(t testing.TB, opts *sockjs.Options) *env {
	t.Helper()
	var o sockjs.Options
	if opts != nil {
		o = *opts
	}
	if o.DisconnectDelay == 0 {
		o.DisconnectDelay = time.Minute // a stalled poller stays open
	}
	o.Authenticate = func(r *http.Request) (sockjs.Identity, error) {
		return sockjs.Identity{User: r.URL.Query().Get("user")}, nil
	}
	e := &env{t: t, sessions: make(chan *sockjs.Session, 1)}
	e.srv = sockjs.New("/hub", func(s *sockjs.Session) {
		e.sessions <- s
		<-s.Context().Done()
	}, &o)
	ts := httptest.NewServer(e.srv)
	e.url = ts.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.srv.Shutdown(ctx)
		ts.Close()
	})
	return e
}

// session returns the session whose handler started next.
func (e *env) session() *sockjs.Session {
	e.t.Helper()
	select {
	case s := <-e.sessions:
		return s
	case <-time.After(5 * time.Second):
		e.t.Fatal("no session opened")
		return nil
	}
}

// client is the far end of a raw websocket session.
type client struct {
	t    testing.TB
	conn *websocket.Conn
}

// dial opens a raw websocket session for user.
func (e *env) dial(user string) (*sockjs.Session, *client) {
	e.t.Helper()
	u := "ws" + strings.TrimPrefix(e.url, "http") + "/hub/websocket?user=" + user
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return e.session(), &client{e.t, c}
}

// read returns the next message, failing the test after a few seconds.
func (c *client) read() string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return string(p)
}

// expect reads len(want) messages and fails unless they are want.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for i, w := range want {
		if got := c.read(); got != w {
			c.t.Fatalf("message %d: got %q, want %q", i, got, w)
		}
	}
}

// closed waits for the close and returns its code.
func (c *client) closed() int {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.conn.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		if err != nil {
			c.t.Fatalf("read: %v, want a close", err)
		}
	}
}

// poller opens an xhr-polling session for user that nobody polls again:
// its send queue only fills.
func (e *env) poller(user string) *sockjs.Session {
	e.t.Helper()
	url := fmt.Sprintf("%s/hub/000/p%d/xhr?user=%s", e.url, ids.Add(1), user)
	resp, err := http.Post(url, "text/plain", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "o\n" {
		e.t.Fatalf("opening poll: %q", b)
	}
	return e.session()
}

// eventually polls cond until it holds or a few seconds pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
