package sockjsclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/leaktest"
	"github.com/sockjsd/sockjsd/internal/sockjsclient"
	"github.com/sockjsd/sockjsd/sockjs"
)

func TestMain(m *testing.M) { leaktest.Main(m) }

const ioTimeout = 5 * time.Second

// echo sends every message back.
func echo(s *sockjs.Session) {
	for {
		msg, err := s.Recv(s.Context())
		if err != nil || s.Send(msg) != nil {
			return
		}
	}
}

// recorder counts the requests reaching a handler and keeps the headers
// the test asks about.
type recorder struct {
	h        http.Handler
	requests atomic.Int64
	mu       sync.Mutex // guards origins and cookies
	origins  []string
	cookies  []string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.requests.Add(1)
	rec.mu.Lock()
	rec.origins = append(rec.origins, r.Header.Get("Origin"))
	rec.cookies = append(rec.cookies, r.Header.Get("Cookie"))
	rec.mu.Unlock()
	rec.h.ServeHTTP(w, r)
}

// newServer serves an echo service on /echo and a closing one on /close,
// with a small response limit so that streams are reopened. The servers
// are shut down when the test ends.
func newServer(t *testing.T, opts *sockjs.Options) *http.ServeMux {
	t.Helper()
	if opts == nil {
		opts = &sockjs.Options{}
	}
	opts.ResponseLimit = 4096
	mux := http.NewServeMux()
	e := sockjs.New("/echo", echo, opts)
	c := sockjs.New("/close", func(s *sockjs.Session) { _ = s.Close(3000, "Go away!") }, opts)
	mux.Handle("/echo/", e)
	mux.Handle("/close/", c)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		_ = e.Shutdown(ctx)
		_ = c.Shutdown(ctx)
	})
	return mux
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func dial(t *testing.T, transport, base string, opts *sockjsclient.Options) sockjsclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, err := sockjsclient.Dial(ctx, transport, base, opts)
	if err != nil {
		t.Fatalf("Dial %s %s: %v", transport, base, err)
	}
	t.Cleanup(func() { _ = c.Close(sockjsclient.CloseGraceful) })
	return c
}

// echoAll sends msgs in one Send and wants them back in order.
func echoAll(t *testing.T, c sockjsclient.Conn, msgs ...string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	if err := c.Send(msgs, deadline); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var got []string
	for len(got) < len(msgs) {
		m, err := sockjsclient.ReadMessages(c, deadline)
		if err != nil {
			t.Fatalf("after %d of %d echoes: %v", len(got), len(msgs), err)
		}
		got = append(got, m...)
	}
	for i := range msgs {
		if got[i] != msgs[i] {
			t.Fatalf("echo %d = %q, want %q", i, got[i], msgs[i])
		}
	}
}

// Messages every envelope must carry intact: JSON escapes, what
// eventsource percent-encodes, what could end a script element, what
// decodeURI would choke on.
var tricky = []string{
	"plain", "", `quote " backslash \ slash /`, "line\nfeed\rreturn\x00nul",
	"100% %41 %zz %", "</script><script>alert(1)</script>", "é ü 😀 \u2028\u2029 \ufeff \uffff",
	";/?:@&=+$,#", "<!-- -->", "\"); alert(1); (\"",
}

func TestEveryTransport(t *testing.T) {
	ts := serve(t, newServer(t, nil))
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			c := dial(t, tr, ts.URL+"/echo", nil)
			echoAll(t, c, "a")
			echoAll(t, c, tricky...)
			// More than the response limit: streams are reopened.
			big := strings.Repeat("x", 3000)
			for range 4 {
				echoAll(t, c, big, "b")
			}
		})
	}
}

func TestServerClose(t *testing.T) {
	ts := serve(t, newServer(t, nil))
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			c, err := sockjsclient.Dial(ctx, tr, ts.URL+"/close", nil)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close(sockjsclient.CloseDrop)
			_, err = sockjsclient.ReadMessages(c, time.Now().Add(ioTimeout))
			var ce *sockjsclient.CloseError
			if !errors.As(err, &ce) || ce.Code != 3000 || ce.Reason != "Go away!" {
				t.Fatalf("ReadMessages: %v, want a CloseError 3000 \"Go away!\"", err)
			}
		})
	}
}

// A second receiver on a session is refused with 2010; Dial says so.
func TestSecondReceiver(t *testing.T) {
	ts := serve(t, newServer(t, nil))
	opts := &sockjsclient.Options{SessionID: "twice", ServerID: "007"}
	dial(t, sockjsclient.XHRStreaming, ts.URL+"/echo", opts)
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, err := sockjsclient.Dial(ctx, sockjsclient.XHRStreaming, ts.URL+"/echo", opts)
	var ce *sockjsclient.CloseError
	if !errors.As(err, &ce) || ce.Code != 2010 {
		if c != nil {
			c.Close(sockjsclient.CloseDrop)
		}
		t.Fatalf("second Dial: %v, want a CloseError 2010", err)
	}
}

func TestErrors(t *testing.T) {
	ts := serve(t, newServer(t, nil))
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()

	_, err := sockjsclient.Dial(ctx, sockjsclient.XHRPolling, ts.URL+"/nothing", nil)
	var se *sockjsclient.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound || !strings.Contains(se.Request, "/nothing/") {
		t.Errorf("Dial to a missing service: %v, want a 404 StatusError", err)
	}
	_, err = sockjsclient.Dial(ctx, sockjsclient.WebSocket, ts.URL+"/nothing", nil)
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Errorf("websocket Dial to a missing service: %v, want a 404 StatusError", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err = sockjsclient.Dial(ctx, sockjsclient.XHRStreaming, closed.URL+"/echo", nil)
	if !errors.Is(err, sockjsclient.ErrDial) {
		t.Errorf("Dial to a closed port: %v, want ErrDial", err)
	}
	if _, err = sockjsclient.Dial(ctx, "flash", ts.URL+"/echo", nil); err == nil {
		t.Error("Dial of an unknown transport succeeded")
	}
	if _, err = sockjsclient.Dial(ctx, sockjsclient.XHRPolling, "ftp://127.0.0.1/echo", nil); err == nil {
		t.Error("Dial of an ftp URL succeeded")
	}

	// After Close, Recv and Send say so.
	for _, tr := range sockjsclient.Transports() {
		c := dial(t, tr, ts.URL+"/echo", nil)
		c.Close(sockjsclient.CloseGraceful)
		if _, err := c.Recv(time.Now().Add(ioTimeout)); !errors.Is(err, sockjsclient.ErrClosed) {
			t.Errorf("%s: Recv after Close: %v, want ErrClosed", tr, err)
		}
	}
}

// Close makes a blocked Recv return.
func TestCloseUnblocksRecv(t *testing.T) {
	ts := serve(t, newServer(t, nil))
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			c := dial(t, tr, ts.URL+"/echo", nil)
			done := make(chan error)
			go func() {
				_, err := c.Recv(time.Time{})
				done <- err
			}()
			time.Sleep(20 * time.Millisecond) // let Recv block; it returns either way
			c.Close(sockjsclient.CloseDrop)
			if err := <-done; err == nil {
				t.Fatal("Recv returned no error after Close")
			}
		})
	}
}

// Extra headers reach every request; the jar takes the JSESSIONID and
// sends it back.
func TestHeadersAndCookies(t *testing.T) {
	rec := &recorder{h: newServer(t, &sockjs.Options{JSessionID: true})}
	ts := serve(t, rec)
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			jar, _ := cookiejar.New(nil)
			rec.mu.Lock()
			rec.origins, rec.cookies = nil, nil
			rec.mu.Unlock()
			c := dial(t, tr, ts.URL+"/echo", &sockjsclient.Options{
				Header: http.Header{"Origin": {"http://page.example"}},
				Jar:    jar,
			})
			echoAll(t, c, "one")
			echoAll(t, c, "two")
			c.Close(sockjsclient.CloseGraceful)
			rec.mu.Lock()
			defer rec.mu.Unlock()
			for i, o := range rec.origins {
				if o != "http://page.example" {
					t.Errorf("request %d: Origin %q", i, o)
				}
			}
			if tr == sockjsclient.WebSocket {
				return // one request: the server sets the cookie in its answer
			}
			if last := rec.cookies[len(rec.cookies)-1]; !strings.Contains(last, "JSESSIONID=") {
				t.Errorf("last request's Cookie %q, want the JSESSIONID", last)
			}
		})
	}
}

// With a BaseURL chooser, requests go round-robin to every server given,
// on one session.
func TestBaseURLRoundRobin(t *testing.T) {
	mux := newServer(t, nil)
	recs := []*recorder{{h: mux}, {h: mux}, {h: mux}}
	var bases []string
	for _, rec := range recs {
		bases = append(bases, serve(t, rec).URL+"/echo")
	}
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			for _, rec := range recs {
				rec.requests.Store(0)
			}
			var next atomic.Uint64
			c := dial(t, tr, "", &sockjsclient.Options{
				BaseURL: func() string { return bases[(next.Add(1)-1)%uint64(len(bases))] },
			})
			for i := range 6 {
				echoAll(t, c, strings.Repeat("m", i))
			}
			c.Close(sockjsclient.CloseGraceful)
			if tr == sockjsclient.WebSocket {
				if next.Load() != 1 {
					t.Errorf("websocket asked the chooser %d times, want once", next.Load())
				}
				return
			}
			for i, rec := range recs {
				if rec.requests.Load() == 0 {
					t.Errorf("server %d got no request", i)
				}
			}
		})
	}
}

func TestTLS(t *testing.T) {
	ts := httptest.NewTLSServer(newServer(t, nil))
	t.Cleanup(ts.Close)
	cfg := &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			c := dial(t, tr, ts.URL+"/echo", &sockjsclient.Options{TLSConfig: cfg})
			echoAll(t, c, "over TLS", strings.Repeat("y", 5000))
		})
	}
}
