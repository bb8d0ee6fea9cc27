package transports_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// The streaming receivers take the connection over (hijack) when they can,
// and fall back to net/http when they cannot. These tests speak HTTP by
// hand on raw TCP connections, so that they choose the protocol version,
// the body and the headers, and can see how the connection ends.

// rawRequest is a streaming request written by hand.
type rawRequest struct {
	proto  string // "HTTP/1.1" when empty
	body   string // sent with its Content-Length
	header string // more header lines, each ending in CRLF
}

// rawStream is a streaming response read off its own TCP connection.
type rawStream struct {
	*stream
	conn net.Conn
	br   *bufio.Reader // the connection, under the response
}

// dialStream sends a streaming request for session id to the server at
// host (an httptest URL), checks for 200 and reads the prelude. The
// connection is closed when the test ends.
func dialStream(t testing.TB, host, id, kind string, rq rawRequest) *rawStream {
	t.Helper()
	u, err := url.Parse(host + "/echo/000/" + id + "/" + kind)
	if err != nil {
		t.Fatal(err)
	}
	method, target := "GET", u.RequestURI()
	if kind == "xhr_streaming" {
		method = "POST"
	}
	if kind == "htmlfile" {
		target += "?c=cb"
	}
	proto := rq.proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s %s\r\nHost: %s\r\n", method, target, proto, u.Host)
	if method == "POST" || rq.body != "" {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(rq.body))
	}
	req.WriteString(rq.header)
	req.WriteString("\r\n")
	req.WriteString(rq.body)

	conn, err := net.DialTimeout("tcp", u.Host, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReader(conn)
	s := &stream{kind: kind, cancel: func() { conn.Close() }}
	rs := &rawStream{stream: s, conn: conn, br: br}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		conn.Close()
		t.Fatalf("%s %s: %v", kind, proto, err)
	}
	if s.resp, err = http.ReadResponse(br, nil); err != nil {
		conn.Close()
		t.Fatalf("%s %s: %v", kind, proto, err)
	}
	t.Cleanup(rs.close)
	if s.resp.StatusCode != 200 {
		b, _ := io.ReadAll(s.resp.Body)
		t.Fatalf("%s %s: status %d %q", kind, proto, s.resp.StatusCode, b)
	}
	s.br = bufio.NewReader(s.resp.Body)
	if s.prelude, err = s.readUntil(preludeEnd[kind]); err != nil {
		t.Fatalf("%s %s prelude: %v", kind, proto, err)
	}
	return rs
}

var preludeEnd = map[string]string{"xhr_streaming": "\n", "eventsource": "\r\n", "htmlfile": "\r\n\r\n"}

// mustConnEOF wants the server to have ended the connection once the
// response is over: nothing more to read, then EOF.
func (rs *rawStream) mustConnEOF(t testing.TB) {
	t.Helper()
	var b [64]byte
	n, err := rs.br.Read(b[:])
	if n != 0 || err != io.EOF {
		t.Fatalf("%s: after the response, read %q, %v; want EOF (the server closes the connection)", rs.kind, b[:n], err)
	}
}

// readMessages reads frames until want messages have arrived or the
// response has ended. A response ends once the frames it carried reach
// limit bytes (the prelude not counted), not before and not after: then
// the body must end cleanly (the last chunk, for a chunked body) and, when
// hijacked, the server must close the connection.
func (rs *rawStream) readMessages(t testing.TB, want, limit int, hijacked bool) (msgs []string, ended bool) {
	t.Helper()
	for len(msgs) < want {
		frame, err := rs.next()
		if err != nil {
			t.Fatalf("%s: the response ended after %d bytes (limit %d), %d of %d messages read: %v", rs.kind, rs.bytes, limit, len(msgs), want, err)
		}
		if frame != "h" {
			m, err := decodeMessages(frame)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m...)
		}
		if rs.bytes >= limit {
			rs.mustEnd(t) // io.ErrUnexpectedEOF, a body cut short, fails
			if hijacked {
				rs.mustConnEOF(t)
			}
			return msgs, true
		}
	}
	return msgs, false
}

// envelopeOverLimit returns a message of fewer than budget bytes whose
// frame reaches budget: JSON doubles the size of quotes, which the lease
// must count to make that frame final. budget must exceed 12 bytes.
func envelopeOverLimit(budget int) string { return strings.Repeat(`"`, budget/2) }

var streamContentType = map[string]string{
	"xhr_streaming": "application/javascript; charset=UTF-8",
	"eventsource":   "text/event-stream",
	"htmlfile":      "text/html; charset=UTF-8",
}

// withServerHeaders sets, before the transport runs, the headers a server
// in front of transports sets on every session URL (package sockjs sets
// these; its own tests check that it does): no caching, CORS for the
// page's origin, and the sticky-session cookie echoed. The transport must
// send them as they are, however it serves the response.
func withServerHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store, no-cache, no-transform, must-revalidate, max-age=0")
		if origin := r.Header.Get("Origin"); origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Vary", "Origin")
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		if c, err := r.Cookie("JSESSIONID"); err == nil {
			http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: c.Value, Path: "/"})
		}
		next.ServeHTTP(w, r)
	})
}

// checkStreamResponse checks what every streaming response carries,
// however it is served: its content type, no sniffing, no proxy
// buffering, the headers withServerHeaders set, once each, and its
// transport's prelude.
func checkStreamResponse(t testing.TB, rs *rawStream, origin string) {
	t.Helper()
	h := rs.resp.Header
	for name, want := range map[string]string{
		"Content-Type":                streamContentType[rs.kind],
		"X-Content-Type-Options":      "nosniff",
		"X-Accel-Buffering":           "no", // nginx passes each frame at once
		"Cache-Control":               "no-store, no-cache, no-transform, must-revalidate, max-age=0",
		"Access-Control-Allow-Origin": origin,
	} {
		if got := h.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s %q, want %q", rs.kind, name, got, want)
		}
	}
	if origin != "*" && h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("%s: Access-Control-Allow-Credentials %q with Origin %s", rs.kind, h.Get("Access-Control-Allow-Credentials"), origin)
	}
	switch p := rs.prelude; rs.kind {
	case "xhr_streaming":
		if p != strings.Repeat("h", 2048)+"\n" {
			t.Errorf("xhr_streaming prelude %.20q… (%d bytes), want 2048 h and a newline", p, len(p))
		}
	case "eventsource":
		if p != "\r\n" {
			t.Errorf("eventsource prelude %q", p)
		}
	case "htmlfile":
		if !strings.Contains(p, "var c = parent.cb;") || len(p) < 1024 {
			t.Errorf("htmlfile prelude (%d bytes) does not name the callback or is short:\n%s", len(p), p)
		}
	}
}

// writeWatch is a middleware that counts, per connection, the bytes the
// handler writes through net/http's ResponseWriter (none when the
// connection was taken over), and keeps the header the handler passed to
// WriteHeader. hide hides Hijack as a simple middleware does; otherwise
// the wrapper offers Unwrap and the connection can still be taken over.
type writeWatch struct {
	next http.Handler
	hide bool

	mu     sync.Mutex
	wrote  map[string]int         // by client address
	header map[string]http.Header // by client address
}

func newWriteWatch(next http.Handler, hide bool) *writeWatch {
	return &writeWatch{next: next, hide: hide, wrote: map[string]int{}, header: map[string]http.Header{}}
}

func (ww *writeWatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pw := plainWriter{w: w, watch: ww, client: r.RemoteAddr}
	if ww.hide {
		ww.next.ServeHTTP(pw, r)
	} else {
		ww.next.ServeHTTP(unwrapWriter{pw}, r)
	}
}

// written returns what the handler wrote through net/http for the
// request made on conn.
func (ww *writeWatch) written(conn net.Conn) (int, http.Header) {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	client := conn.LocalAddr().String()
	return ww.wrote[client], ww.header[client]
}

// plainWriter passes Write and Flush through, and offers neither Hijack
// nor Unwrap.
type plainWriter struct {
	w      http.ResponseWriter
	watch  *writeWatch
	client string
}

func (p plainWriter) Header() http.Header { return p.w.Header() }

func (p plainWriter) WriteHeader(code int) {
	p.watch.mu.Lock()
	p.watch.header[p.client] = p.w.Header().Clone()
	p.watch.mu.Unlock()
	p.w.WriteHeader(code)
}

func (p plainWriter) Write(b []byte) (int, error) {
	p.watch.mu.Lock()
	p.watch.wrote[p.client] += len(b)
	p.watch.mu.Unlock()
	return p.w.Write(b)
}

func (p plainWriter) Flush() { _ = http.NewResponseController(p.w).Flush() }

type unwrapWriter struct{ plainWriter }

func (u unwrapWriter) Unwrap() http.ResponseWriter { return u.w }

// front serves h (e's harness behind middleware) on a server of its own,
// closed (after the harness's Shutdown) when the test ends.
func (e *env) front(t testing.TB, h http.Handler) string {
	ts := httptest.NewServer(h)
	t.Cleanup(func() {
		e.close() // ends the streams the server below still serves
		ts.Close()
	})
	return ts.URL
}

// Over HTTP/1.1 with no request body, a streaming response is written on
// the hijacked connection: the head the server set, chunked, the prelude
// and frames; at the response limit it ends with the last chunk and the
// connection is closed, and the client's next request on the session
// carries on without a 2010.
func TestHijackedStream(t *testing.T) {
	const limit = 1024
	e := newEnv(t, &harnessOptions{ResponseLimit: limit})
	watch := newWriteWatch(withServerHeaders(e.handler), false)
	fronts := []struct {
		name  string
		host  string
		watch *writeWatch
	}{
		// The ResponseWriter net/http gave, as it is.
		{"direct", e.front(t, withServerHeaders(e.handler)), nil},
		// Through a middleware that offers Unwrap: that net/http wrote
		// nothing proves that the connection was taken over.
		{"unwrap", e.front(t, watch), watch},
	}
	const origin = "http://page.example"
	for _, front := range fronts {
		for _, kind := range streamKinds {
			t.Run(front.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				id := e.newID("hijack")
				open := func() *rawStream {
					rs := dialStream(t, front.host, id, kind, rawRequest{
						header: "Origin: " + origin + "\r\nCookie: JSESSIONID=sticky\r\n",
					})
					checkStreamResponse(t, rs, origin)
					resp := rs.resp
					if resp.Proto != "HTTP/1.1" || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || resp.ContentLength != -1 {
						t.Errorf("%s, Transfer-Encoding %q, Content-Length %d; want HTTP/1.1, chunked", resp.Proto, resp.TransferEncoding, resp.ContentLength)
					}
					// The connection cannot go back to net/http. (ReadResponse
					// turns Connection: close into resp.Close.)
					if !resp.Close {
						t.Error("no Connection: close")
					}
					if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d) > time.Minute || len(resp.Header.Values("Date")) != 1 {
						t.Errorf("Date %q: %v", resp.Header.Values("Date"), err)
					}
					if c := resp.Cookies(); len(c) != 1 || c[0].Name != "JSESSIONID" || c[0].Value != "sticky" || c[0].Path != "/" {
						t.Errorf("Set-Cookie %q, want JSESSIONID=sticky; Path=/", resp.Header.Values("Set-Cookie"))
					}
					if vary := resp.Header.Values("Vary"); len(vary) != 1 || vary[0] != "Origin" {
						t.Errorf("Vary %q, want Origin", vary)
					}
					return rs
				}
				rs := open()
				rs.mustNext(t, "o")
				e.mustSend(t, id, "hello")
				rs.mustNext(t, `a["hello"]`)

				// More than a response may carry (how many responses it
				// takes depends on how the messages are batched); each one
				// that ends is followed by the client's next, which takes
				// up where the last ended: no 2010, no second "o".
				const n, size = 12, 200
				e.mustSend(t, id, fmt.Sprintf("burst %d %d 1", n, size))
				var got []string
				responses := 1
				for len(got) < n {
					if responses > 10 {
						t.Fatalf("%d responses for %d messages", responses, n)
					}
					msgs, ended := rs.readMessages(t, n-len(got), limit, true)
					got = append(got, msgs...)
					if ended {
						if front.watch != nil {
							if wrote, _ := front.watch.written(rs.conn); wrote != 0 {
								t.Fatalf("%d bytes written through net/http: the connection was not taken over", wrote)
							}
						}
						rs.close()
						rs = open()
						responses++
					}
				}
				if responses < 2 {
					t.Fatalf("%d messages of %d bytes in %d responses, limit %d", n, size, responses, limit)
				}
				for i, m := range got {
					if m != burstMessage(i, size) {
						t.Fatalf("message %d is %.10q…, want %.10q…", i, m, burstMessage(i, size))
					}
				}

				// A response that ends by its envelope alone.
				if limit-rs.bytes < 100 {
					e.mustSend(t, id, strings.Repeat("x", limit)) // end this one first
					if _, ended := rs.readMessages(t, 1, limit, true); !ended {
						t.Fatal("a message longer than the limit did not end the response")
					}
					rs.close()
					rs = open()
				}
				big := envelopeOverLimit(limit - rs.bytes)
				e.mustSend(t, id, big)
				if msgs, ended := rs.readMessages(t, 1, limit, true); !ended || len(msgs) != 1 || msgs[0] != big {
					t.Fatalf("message of %d quotes, %d bytes before the limit: got %d messages, ended %v", len(big), limit-rs.bytes, len(msgs), ended)
				}
				rs.close()
				rs = open()
				e.mustSend(t, id, "still here")
				rs.mustNext(t, `a["still here"]`)

				e.metrics.mu.Lock()
				conflicts := e.metrics.conflicts
				e.metrics.mu.Unlock()
				if conflicts != 0 {
					t.Fatalf("%d receiver conflicts", conflicts)
				}
			})
		}
	}
}

// Where the connection cannot be taken over, net/http serves the same
// transports: HTTP/1.0, a ResponseWriter without Hijack, a request with a
// body. Each serves frames, ends at the response limit, answers 2010 to a
// second receiver and closes the session with 1002 when its client goes
// away.
func TestStreamFallback(t *testing.T) {
	const limit = 512
	// A session its receiver left without 1002 times out (1006) well
	// before waitEnded gives up.
	e := newEnv(t, &harnessOptions{ResponseLimit: limit, DisconnectDelay: time.Second})
	unwrap := newWriteWatch(withServerHeaders(e.handler), false)
	hidden := newWriteWatch(withServerHeaders(e.handler), true)
	unwrapHost, hiddenHost := e.front(t, unwrap), e.front(t, hidden)
	paths := []struct {
		name  string
		kinds []string
		host  string
		watch *writeWatch
		req   rawRequest
		check func(t *testing.T, resp *http.Response)
	}{
		{"HTTP/1.0", streamKinds, unwrapHost, unwrap, rawRequest{proto: "HTTP/1.0"}, func(t *testing.T, resp *http.Response) {
			// No chunking in HTTP/1.0: the body ends with the connection.
			if resp.Proto != "HTTP/1.0" || len(resp.TransferEncoding) != 0 || !resp.Close {
				t.Errorf("%s, Transfer-Encoding %q, close %v; want HTTP/1.0, unchunked, closed", resp.Proto, resp.TransferEncoding, resp.Close)
			}
		}},
		{"no Hijack", streamKinds, hiddenHost, hidden, rawRequest{}, nil},
		{"request body", []string{"xhr_streaming"}, unwrapHost, unwrap, rawRequest{body: "x"}, nil},
	}
	for _, path := range paths {
		for _, kind := range path.kinds {
			t.Run(path.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				id := e.newID("fallback")
				open := func() *rawStream {
					rs := dialStream(t, path.host, id, kind, path.req)
					checkStreamResponse(t, rs, "*")
					if path.check != nil {
						path.check(t, rs.resp)
					}
					return rs
				}
				rs := open()
				rs.mustNext(t, "o")
				if wrote, _ := path.watch.written(rs.conn); wrote == 0 {
					t.Fatal("nothing written through net/http: the connection was taken over")
				}
				e.mustSend(t, id, "hello")
				rs.mustNext(t, `a["hello"]`)

				// The response ends at the limit, reached by the
				// envelope alone or by the frame, and the next one carries
				// on.
				for _, m := range []string{envelopeOverLimit(limit - rs.bytes), strings.Repeat("x", limit)} {
					e.mustSend(t, id, m)
					if msgs, ended := rs.readMessages(t, 1, limit, false); !ended || len(msgs) != 1 || msgs[0] != m {
						t.Fatalf("message of %d bytes, %d before the limit: got %d messages, ended %v", len(m), limit-rs.bytes, len(msgs), ended)
					}
					rs.close()
					rs = open()
				}
				// A frame read tells that the receiver is attached (the
				// prelude goes out before it attaches).
				e.mustSend(t, id, "again")
				rs.mustNext(t, `a["again"]`)

				second := dialStream(t, path.host, id, kind, path.req)
				second.mustNext(t, conflictFrame)
				second.mustEnd(t)
				second.close()

				// The first receiver is still attached.
				e.mustSend(t, id, "still here")
				rs.mustNext(t, `a["still here"]`)
				rs.close()
				if info := e.waitEnded(t, id, ioTimeout); info.code != closecode.Interrupted {
					t.Fatalf("session closed with %d after its receiver went away, want 1002", info.code)
				}
			})
		}
	}
}

// When the hijack fails, net/http serves the response, so the header must
// carry nothing of a hijacked response's head (Connection: close, chunking):
// it would make net/http drop a connection it could keep.
func TestStreamFallbackHeader(t *testing.T) {
	e := newEnv(t, nil)
	hidden := newWriteWatch(e.handler, true)
	host := e.front(t, hidden)
	for _, kind := range streamKinds {
		t.Run(kind, func(t *testing.T) {
			id := e.newID("header")
			rs := dialStream(t, host, id, kind, rawRequest{})
			rs.mustNext(t, "o")
			_, h := hidden.written(rs.conn)
			// Hop-by-hop headers are net/http's to set.
			for _, name := range []string{"Connection", "Transfer-Encoding"} {
				if v, ok := h[name]; ok {
					t.Errorf("the handler set %s %q for net/http", name, v)
				}
			}
			if rs.resp.Close {
				t.Error("Connection: close: net/http drops a connection it could keep")
			}
		})
	}
}

// However a hijacked stream ends, every goroutine it started ends too.
func TestHijackedStreamLeavesNoGoroutines(t *testing.T) {
	const limit = 256
	ends := []struct {
		name     string
		kinds    []string
		code     int  // the session's close code
		shutdown bool // the end is the server's Shutdown
		end      func(t *testing.T, e *env, id string, rs *rawStream)
	}{
		{"response limit", streamKinds, closecode.TimedOut, false, func(t *testing.T, e *env, id string, rs *rawStream) {
			e.mustSend(t, id, "burst 4 200")
			if _, ended := rs.readMessages(t, 4, limit, true); !ended {
				t.Fatal("the response did not end")
			}
			rs.close()
		}},
		// A client that keeps the connection after the response is cut
		// off a second later.
		{"response limit, client stays", []string{"xhr_streaming"}, closecode.TimedOut, false, func(t *testing.T, e *env, id string, rs *rawStream) {
			e.mustSend(t, id, "burst 4 200")
			if _, ended := rs.readMessages(t, 4, limit, true); !ended {
				t.Fatal("the response did not end")
			}
		}},
		{"client abort", streamKinds, closecode.Interrupted, false, func(t *testing.T, e *env, id string, rs *rawStream) {
			rs.close()
		}},
		{"app close", streamKinds, 3000, false, func(t *testing.T, e *env, id string, rs *rawStream) {
			e.mustSend(t, id, "close 3000")
			rs.mustNext(t, `c[3000,"bye"]`)
			rs.mustEnd(t)
			rs.mustConnEOF(t)
			rs.close()
		}},
		{"shutdown", streamKinds, closecode.GoingAway, true, func(t *testing.T, e *env, id string, rs *rawStream) {
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
				defer cancel()
				done <- e.shutdown(ctx)
			}()
			rs.mustNext(t, goingAway)
			rs.mustEnd(t)
			rs.mustConnEOF(t)
			rs.close()
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		}},
	}
	for _, end := range ends {
		for _, kind := range end.kinds {
			t.Run(end.name+"/"+kind, func(t *testing.T) {
				// Shutdown ends the server too: count from before it
				// started. Otherwise the server stays up and the count is
				// taken with it running, so that what only Shutdown would
				// end counts as a leak.
				var baseline int
				if end.shutdown {
					baseline = stableGoroutines()
				}
				e := newEnv(t, &harnessOptions{ResponseLimit: limit, DisconnectDelay: 50 * time.Millisecond})
				if !end.shutdown {
					baseline = stableGoroutines()
				}
				id := e.newID("leak")
				rs := dialStream(t, e.ts.URL, id, kind, rawRequest{})
				rs.mustNext(t, "o")
				e.mustSend(t, id, "hello")
				rs.mustNext(t, `a["hello"]`)
				end.end(t, e, id, rs)
				if info := e.waitEnded(t, id, ioTimeout); info.code != end.code {
					t.Errorf("session closed with %d, want %d", info.code, end.code)
				}
				e.waitNoHandlers(t, ioTimeout)
				e.tr.CloseIdleConnections()
				if end.shutdown {
					e.ts.Close()
				}
				waitGoroutines(t, baseline, 3*time.Second)
			})
		}
	}
}
