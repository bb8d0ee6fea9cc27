package transports_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// stableGoroutines waits (up to a second) for goroutines of earlier tests
// to wind down and returns the count.
func stableGoroutines() int {
	n := runtime.NumGoroutine()
	same := 0
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && same < 5; {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

// closers collects client-side resources to release before counting
// goroutines.
type closers struct {
	mu sync.Mutex
	fs []func()
}

func (c *closers) add(f func()) {
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
}

func (c *closers) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.fs {
		f()
	}
	c.fs = nil
}

const goingAway = `c[1001,"Server shutting down"]`

// Every transport in every state — active, idle, abandoned, stalled,
// blocked — ends on Shutdown, and the goroutine count returns to what it
// was before the server started.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	baseline := stableGoroutines()
	e := newEnv(t, &harnessOptions{
		Heartbeat:       5 * time.Second, // pending polls must wait for the shutdown
		DisconnectDelay: 300 * time.Millisecond,
		WriteTimeout:    300 * time.Millisecond,
		SendQueueBytes:  64 << 10,
	})
	var cl closers
	var checks sync.WaitGroup // client-side expectations about the shutdown

	// xhr: an echo, then a poll pending at shutdown.
	id := e.newID("x")
	e.mustPoll(t, id, "xhr", "o")
	e.mustSend(t, id, "hi")
	e.mustPoll(t, id, "xhr", `a["hi"]`)
	checks.Go(func() {
		if f, err := e.poll(id, "xhr"); err != nil || f != goingAway {
			t.Errorf("pending xhr poll at shutdown: %q, %v", f, err)
		}
	})
	// xhr and jsonp sessions with no receiver; one the app closed.
	e.mustPoll(t, e.newID("idle"), "xhr", "o")
	jid := e.newID("j")
	e.mustPoll(t, jid, "jsonp", "o")
	if status, body, err := e.send(jid, "jsonp_send", "j"); err != nil || status != 200 || body != "ok" {
		t.Fatalf("jsonp_send: %d %q %v", status, body, err)
	}
	e.mustPoll(t, jid, "jsonp", `a["j"]`)
	checks.Go(func() {
		if f, err := e.poll(jid, "jsonp"); err != nil || f != goingAway {
			t.Errorf("pending jsonp poll at shutdown: %q, %v", f, err)
		}
	})
	cid := e.newID("closed")
	e.mustPoll(t, cid, "xhr", "o")
	e.mustSend(t, cid, "close 3000")
	// Streams pending at shutdown, and abandoned ones.
	for _, kind := range streamKinds {
		sid := e.newID("s")
		s := e.mustOpenStream(t, sid, kind)
		cl.add(s.close)
		s.mustNext(t, "o")
		e.mustSend(t, sid, "m")
		s.mustNext(t, `a["m"]`)
		checks.Go(func() {
			for {
				f, err := s.next()
				if err != nil {
					t.Errorf("%s at shutdown: %v", kind, err)
					return
				}
				if f == goingAway {
					break
				}
				if f != "h" {
					t.Errorf("%s at shutdown: frame %q", kind, f)
				}
			}
			if raw, err := s.nextRaw(); !errors.Is(err, io.EOF) {
				t.Errorf("%s: after the close frame %q, %v; want EOF", kind, raw, err)
			}
		})
		a := e.mustOpenStream(t, e.newID("abandoned"), kind)
		a.mustNext(t, "o")
		a.close()
	}
	// An xhr_send blocked on a session whose app never reads.
	stuck := e.newID("stuck")
	e.mustPoll(t, stuck, "xhr", "o")
	checks.Go(func() {
		msgs := make([]string, 300) // more than RecvQueue
		if status, body, err := e.send(stuck, "xhr_send", msgs...); err != nil || status != 204 {
			t.Errorf("blocked xhr_send at shutdown: %d %q %v", status, body, err)
		}
	})
	// Websockets: active, abandoned, stalled idle, stalled flooded, raw,
	// hixie active and abandoned.
	ws := e.dialWS(t, e.sessionURL(e.newID("ws"), "websocket"))
	cl.add(func() { ws.Close() })
	wsMustRead(t, ws, "o")
	wsWrite(t, ws, `["x"]`)
	wsMustRead(t, ws, `a["x"]`)
	checks.Go(func() {
		code, msgs := wsCloseCode(ws)
		if code != 1001 || len(msgs) == 0 || msgs[len(msgs)-1] != goingAway {
			t.Errorf("websocket at shutdown: frames %q, close %d", msgs, code)
		}
	})
	gone := e.dialWS(t, e.sessionURL(e.newID("ws"), "websocket"))
	wsMustRead(t, gone, "o")
	gone.UnderlyingConn().Close()
	stalled := e.dialWS(t, e.sessionURL(e.newID("ws"), "websocket"))
	cl.add(func() { stalled.Close() })
	flooded := e.dialWS(t, e.sessionURL(e.newID("ws"), "websocket"))
	cl.add(func() { flooded.Close() })
	wsWrite(t, flooded, `["flood 1024"]`)
	raw := e.dialWS(t, e.base+"/websocket")
	cl.add(func() { raw.Close() })
	wsWrite(t, raw, "r")
	wsMustRead(t, raw, "r")
	checks.Go(func() {
		if code, _ := wsCloseCode(raw); code != 1001 {
			t.Errorf("raw websocket at shutdown: close %d", code)
		}
	})
	hx := e.dialHixie(t, e.sessionURL(e.newID("hx"), "websocket"))
	cl.add(func() { _ = hx.Close(sockjsclient.CloseDrop) })
	hx.mustNext(t, "o")
	checks.Go(func() {
		for {
			m, closed, err := hx.next()
			if err != nil || closed {
				t.Errorf("hixie at shutdown: ended before the close frame: %v", err)
				return
			}
			if m == goingAway {
				break
			}
		}
		if _, closed, err := hx.next(); !closed || !hx.closing || err != nil {
			t.Errorf("hixie: no closing frame after c[1001] (closed %v): %v", closed, err)
		}
	})
	hxGone := e.dialHixie(t, e.sessionURL(e.newID("hx"), "websocket"))
	hxGone.mustNext(t, "o")
	_ = hxGone.Close(sockjsclient.CloseDrop)

	time.Sleep(100 * time.Millisecond) // let pending requests attach
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	start := time.Now()
	if err := e.shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v after %v\n%s", err, time.Since(start), allStacks())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d application handlers still running after Shutdown returned", n)
	}
	checks.Wait()
	// After Shutdown, no new session opens.
	if status, _, _ := e.do("POST", e.sessionURL(e.newID("late"), "xhr"), "", nil); status != 503 {
		t.Errorf("xhr after Shutdown: %d, want 503", status)
	}

	cl.run()
	e.tr.CloseIdleConnections()
	e.ts.Close()
	waitGoroutines(t, baseline, 3*time.Second)
}

// Without Shutdown: every goroutine a session starts ends with the
// session, however the session ends.
func TestSessionGoroutinesEndWithSession(t *testing.T) {
	e := newEnv(t, &harnessOptions{
		Heartbeat:       50 * time.Millisecond,
		DisconnectDelay: 100 * time.Millisecond,
		WriteTimeout:    300 * time.Millisecond,
		RecvQueue:       2,
	})
	scenarios := []struct {
		name string
		run  func(t *testing.T, cl *closers)
	}{
		{"xhr timed out", func(t *testing.T, cl *closers) {
			id := e.newID("x")
			e.mustPoll(t, id, "xhr", "o")
			e.mustSend(t, id, "a")
			e.mustPoll(t, id, "xhr", `a["a"]`)
			if info := e.waitEnded(t, id, ioTimeout); info.code != closecode.TimedOut {
				t.Errorf("closed with %d, want 1006", info.code)
			}
		}},
		{"xhr poll aborted", func(t *testing.T, cl *closers) {
			id := e.newID("x")
			e.mustPoll(t, id, "xhr", "o")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", e.sessionURL(id, "xhr"), nil)
			if resp, err := e.client.Do(req); err == nil {
				resp.Body.Close()
			}
			// 1002 when the poll attached before the abort; under heavy
			// load it may not have, and the session times out instead.
			if info := e.waitEnded(t, id, ioTimeout); info.code != closecode.Interrupted && info.code != closecode.TimedOut {
				t.Errorf("closed with %d, want 1002 (or 1006)", info.code)
			}
		}},
		{"jsonp timed out", func(t *testing.T, cl *closers) {
			id := e.newID("j")
			e.mustPoll(t, id, "jsonp", "o")
			if status, _, err := e.send(id, "jsonp_send", "a"); err != nil || status != 200 {
				t.Fatalf("jsonp_send: %d %v", status, err)
			}
			e.mustPoll(t, id, "jsonp", `a["a"]`)
			e.waitEnded(t, id, ioTimeout)
		}},
		{"app closed xhr", func(t *testing.T, cl *closers) {
			id := e.newID("x")
			e.mustPoll(t, id, "xhr", "o")
			e.mustSend(t, id, "close 3000")
			e.mustPoll(t, id, "xhr", `c[3000,"bye"]`)
			e.waitEnded(t, id, ioTimeout)
		}},
		{"xhr_send aborted while blocked", func(t *testing.T, cl *closers) {
			id := e.newID("stuck")
			e.mustPoll(t, id, "xhr", "o")
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", e.sessionURL(id, "xhr_send"), strings.NewReader(`["1","2","3","4"]`))
			if resp, err := e.client.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("blocked xhr_send answered %d", resp.StatusCode)
			}
			e.waitEnded(t, id, ioTimeout)
		}},
		{"websocket client close", func(t *testing.T, cl *closers) {
			id := e.newID("ws")
			c := e.dialWS(t, e.sessionURL(id, "websocket"))
			wsMustRead(t, c, "o")
			wsWrite(t, c, `["a"]`)
			wsMustRead(t, c, `a["a"]`)
			wsClose(c)
			if info := e.waitEnded(t, id, ioTimeout); info.code != 1000 {
				t.Errorf("closed with %d, want 1000", info.code)
			}
		}},
		{"websocket app close", func(t *testing.T, cl *closers) {
			id := e.newID("ws")
			c := e.dialWS(t, e.sessionURL(id, "websocket"))
			wsMustRead(t, c, "o")
			wsWrite(t, c, `["close 3000"]`)
			if code, msgs := wsCloseCode(c); code != 3000 || len(msgs) != 1 || msgs[0] != `c[3000,"bye"]` {
				t.Errorf("got %q, close %d", msgs, code)
			}
			c.Close()
			e.waitEnded(t, id, ioTimeout)
		}},
		{"websocket dropped", func(t *testing.T, cl *closers) {
			id := e.newID("ws")
			c := e.dialWS(t, e.sessionURL(id, "websocket"))
			wsMustRead(t, c, "o")
			c.UnderlyingConn().Close()
			e.waitEnded(t, id, ioTimeout)
		}},
		{"websocket stalled and flooded", func(t *testing.T, cl *closers) {
			id := e.newID("ws")
			c := e.dialWS(t, e.sessionURL(id, "websocket"))
			cl.add(func() { c.Close() })
			wsWrite(t, c, `["flood 1024"]`)
			e.waitEnded(t, id, ioTimeout)
		}},
		{"websocket silent", func(t *testing.T, cl *closers) {
			id := e.newID("ws")
			c := e.dialWS(t, e.sessionURL(id, "websocket"))
			cl.add(func() { c.Close() })
			c.SetPingHandler(func(string) error { return nil })
			wsCloseCode(c) // dropped for not answering pings
			e.waitEnded(t, id, ioTimeout)
		}},
		{"raw websocket", func(t *testing.T, cl *closers) {
			c := e.dialWS(t, e.base+"/websocket")
			wsWrite(t, c, "a")
			wsMustRead(t, c, "a")
			wsClose(c)
		}},
		{"hixie client close", func(t *testing.T, cl *closers) {
			id := e.newID("hx")
			h := e.dialHixie(t, e.sessionURL(id, "websocket"))
			h.mustNext(t, "o")
			_ = h.send(`["a"]`)
			h.mustNext(t, `a["a"]`)
			_ = h.CloseHandshake(time.Now().Add(ioTimeout))
			e.waitEnded(t, id, ioTimeout)
			_ = h.Close(sockjsclient.CloseDrop)
		}},
		{"hixie dropped", func(t *testing.T, cl *closers) {
			id := e.newID("hx")
			h := e.dialHixie(t, e.sessionURL(id, "websocket"))
			h.mustNext(t, "o")
			_ = h.Close(sockjsclient.CloseDrop)
			e.waitEnded(t, id, ioTimeout)
		}},
	}
	for _, kind := range streamKinds {
		scenarios = append(scenarios, struct {
			name string
			run  func(t *testing.T, cl *closers)
		}{kind + " aborted", func(t *testing.T, cl *closers) {
			id := e.newID("s")
			s := e.mustOpenStream(t, id, kind)
			s.mustNext(t, "o")
			e.mustSend(t, id, "a")
			s.mustNext(t, `a["a"]`)
			s.close()
			if info := e.waitEnded(t, id, ioTimeout); info.code != closecode.Interrupted {
				t.Errorf("closed with %d, want 1002", info.code)
			}
		}}, struct {
			name string
			run  func(t *testing.T, cl *closers)
		}{kind + " app close", func(t *testing.T, cl *closers) {
			id := e.newID("s")
			s := e.mustOpenStream(t, id, kind)
			s.mustNext(t, "o")
			e.mustSend(t, id, "close 3000")
			s.mustNext(t, `c[3000,"bye"]`)
			s.mustEnd(t)
			s.close()
			e.waitEnded(t, id, ioTimeout)
		}})
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e.tr.CloseIdleConnections()
			baseline := stableGoroutines()
			var cl closers
			sc.run(t, &cl)
			e.waitNoHandlers(t, ioTimeout)
			cl.run()
			e.tr.CloseIdleConnections()
			waitGoroutines(t, baseline, 3*time.Second)
		})
	}
}

// errWriter is a ResponseWriter whose client is gone: writes fail.
type errWriter struct{ h http.Header }

func (w *errWriter) Header() http.Header              { return w.h }
func (w *errWriter) WriteHeader(int)                  {}
func (w *errWriter) Write([]byte) (int, error)        { return 0, net.ErrClosed }
func (w *errWriter) Flush()                           {}
func (w *errWriter) SetWriteDeadline(time.Time) error { return nil }

// noFlushWriter wraps a ResponseWriter the way a simple middleware does,
// hiding Flush (and offering no Unwrap).
type noFlushWriter struct{ w http.ResponseWriter }

func (w noFlushWriter) Header() http.Header         { return w.w.Header() }
func (w noFlushWriter) WriteHeader(code int)        { w.w.WriteHeader(code) }
func (w noFlushWriter) Write(p []byte) (int, error) { return w.w.Write(p) }

// A session whose first request fails before its receiver attaches (the
// client went away before the prelude was written, or the ResponseWriter
// cannot flush) must still end after the disconnect delay, with its
// application goroutine.
func TestSessionEndsWhenFirstRequestFails(t *testing.T) {
	const delay = 50 * time.Millisecond
	for _, kind := range streamKinds {
		for _, writer := range []string{"client gone", "no flush"} {
			t.Run(kind+"/"+writer, func(t *testing.T) {
				var ended sync.WaitGroup
				ended.Add(1)
				srv := newHarness(&harnessOptions{DisconnectDelay: delay}, func(s appSession) {
					defer ended.Done()
					for {
						if _, err := s.Recv(context.Background()); err != nil {
							return
						}
					}
				}, &recMetrics{})
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
					defer cancel()
					_ = srv.Shutdown(ctx)
				}()
				method := "GET"
				if kind == "xhr_streaming" {
					method = "POST"
				}
				req := httptest.NewRequest(method, "/echo/000/first/"+kind+"?c=cb", nil)
				if writer == "client gone" {
					srv.ServeHTTP(&errWriter{h: http.Header{}}, req)
				} else {
					srv.ServeHTTP(noFlushWriter{httptest.NewRecorder()}, req)
				}
				done := make(chan struct{})
				go func() { ended.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(20 * delay):
					t.Errorf("%s whose first request failed before attaching: session (and its handler goroutine) still alive %v later; want it closed after the disconnect delay (%v)",
						kind, 20*delay, delay)
				}
			})
		}
	}
}

// allStacks returns every goroutine's stack, for a failure message.
func allStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// waitGoroutines waits until no more than baseline goroutines run, and
// fails with every stack when that does not happen within d.
func waitGoroutines(t testing.TB, baseline int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines still running %v later, baseline %d:\n%s", n, d, baseline, allStacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
