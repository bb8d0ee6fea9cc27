package transports_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
	"github.com/sockjsd/sockjsd/session"
	"github.com/sockjsd/sockjsd/transports"
)

// harnessOptions configure a test server built from transports.Set alone.
// A zero field takes the value the sockjs package defaults to.
type harnessOptions struct {
	Heartbeat       time.Duration
	PongTimeout     time.Duration // zero: transports' default
	DisconnectDelay time.Duration
	RecvTimeout     time.Duration
	WriteTimeout    time.Duration
	ResponseLimit   int
	RecvQueue       int
	SendQueueBytes  int
	SendQueueMsgs   int
	MaxSendBody     int64
	MaxMessageSize  int64
}

func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}

// harness is what the sockjs package is to transports, in a few lines: a
// registry of sessions (transports.Sessions), the application's
// goroutines, counts (transports.Observer, through recMetrics) and the
// routing of <prefix>/<server>/<session>/<transport> to transports.Set.
// It checks no origin, sets no CORS, caching or cookie header: tests of
// those belong with the sockjs package.
type harness struct {
	cfg     *transports.Config
	set     map[string]transports.Transport
	raw     transports.Transport
	limits  session.Limits
	reg     *session.Registry
	app     func(s appSession)
	metrics *recMetrics
	work    sync.WaitGroup // application handlers and connections (Go)
}

func newHarness(opts *harnessOptions, app func(s appSession), m *recMetrics) *harness {
	if opts == nil {
		opts = &harnessOptions{}
	}
	h := &harness{reg: session.NewRegistry(), app: app, metrics: m}
	h.limits = session.Limits{
		SendQueueBytes:    orDefault(opts.SendQueueBytes, 4<<20),
		SendQueueMessages: orDefault(opts.SendQueueMsgs, 16384),
		SendTimeout:       3 * time.Second,
		RecvQueue:         orDefault(opts.RecvQueue, 256),
		RecvTimeout:       orDefault(opts.RecvTimeout, 10*time.Second),
		DisconnectDelay:   orDefault(opts.DisconnectDelay, 5*time.Second),
	}
	h.cfg = &transports.Config{
		Heartbeat:      orDefault(opts.Heartbeat, 25*time.Second),
		PongTimeout:    opts.PongTimeout,
		ResponseLimit:  orDefault(opts.ResponseLimit, 128<<10),
		WriteTimeout:   orDefault(opts.WriteTimeout, 10*time.Second),
		MaxSendBody:    orDefault(opts.MaxSendBody, 1<<20),
		MaxMessageSize: orDefault(opts.MaxMessageSize, 1<<20),
		CheckOrigin:    func(*http.Request) bool { return true },
		Sessions:       harnessSessions{h},
		Observer:       m,
		Logger:         slog.New(slog.DiscardHandler),
	}
	h.set = transports.Set(h.cfg, true)
	h.raw = transports.RawWebsocket(h.cfg)
	return h
}

// ServeHTTP routes /<prefix>/<server>/<session>/<transport> to its
// transport, and /<prefix>/websocket to the raw websocket, after the
// method check a server makes.
func (h *harness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	var t transports.Transport
	switch {
	case len(parts) == 4:
		t = h.set[parts[3]]
	case len(parts) == 2 && parts[1] == "websocket":
		t = h.raw
		parts = append(parts, "", "")
	}
	if t == nil {
		http.NotFound(w, r)
		return
	}
	if !strings.Contains(t.Allow(), r.Method) {
		w.Header().Set("Allow", t.Allow())
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	t.Serve(w, r, parts[2])
}

// Shutdown closes every session, as sockjs.Server.Shutdown does, and
// waits for the handlers and connections.
func (h *harness) Shutdown(ctx context.Context) error {
	for _, s := range h.reg.Close() {
		_ = s.Close(closecode.GoingAway, "Server shutting down")
		s.Stop()
		h.reg.Remove(s)
	}
	done := make(chan struct{})
	go func() { h.work.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start runs the application for a new session; the session is closed
// when it returns, and its close code counted.
func (h *harness) start(s *session.Session) {
	h.work.Go(func() {
		defer func() {
			_ = s.Close(closecode.Normal, "Normal closure")
			code, _, _ := s.CloseStatus()
			h.metrics.SessionClosed("", code, 0)
		}()
		h.app(harnessSession{s, h.metrics})
	})
}

type harnessSessions struct{ h *harness }

func (x harnessSessions) Lookup(_ *http.Request, id string) *session.Session { return x.h.reg.Get(id) }

func (x harnessSessions) OpenHTTP(_ *http.Request, id, _ string) (*session.Session, error) {
	s, created := x.h.reg.GetOrCreate(id, 0, func() *session.Session {
		return session.New(id, "", x.h.limits, x.h.reg.Remove)
	})
	switch {
	case s == nil:
		return nil, transports.ErrShuttingDown
	case created:
		x.h.start(s)
	}
	return s, nil
}

func (x harnessSessions) OpenWebsocket(_ *http.Request, id, _ string) (*session.Session, error) {
	s := session.New(id, "", x.h.limits, nil)
	if !x.h.reg.Add(s, 0) {
		return nil, transports.ErrShuttingDown
	}
	x.h.start(s)
	return s, nil
}

func (x harnessSessions) End(s *session.Session) {
	_ = s.Close(closecode.Interrupted, "Connection interrupted") // nothing if closed already
	x.h.reg.Remove(s)
}

func (x harnessSessions) Go(f func()) { x.h.work.Go(f) }

// harnessSession is a session as the test application sees it: Send
// counts slow clients, as sockjs.Session.Send does.
type harnessSession struct {
	*session.Session
	m *recMetrics
}

func (s harnessSession) Send(msg string) error {
	err := s.Session.Send(msg)
	if errors.Is(err, session.ErrSlowClient) {
		s.m.SlowClient("")
	}
	return err
}

// newEnv starts the harness with opts (nil: defaults) and the test
// application (env.handle) under httptest. It is shut down and closed
// when the test ends.
func newEnv(t testing.TB, opts *harnessOptions) *env {
	t.Helper()
	e := &env{t: t, ended: make(map[string]endInfo), metrics: &recMetrics{}}
	h := newHarness(opts, e.handle, e.metrics)
	e.handler, e.shutdown = h, h.Shutdown
	e.start()
	return e
}

// ioTimeout bounds every single read or request of the tests.
const ioTimeout = 5 * time.Second

// env is the harness under httptest with an application that echoes and
// obeys a few commands, and records how each session ended.
type env struct {
	t        testing.TB
	handler  http.Handler
	shutdown func(context.Context) error
	ts       *httptest.Server
	tr       *http.Transport
	client   *http.Client
	base     string // the server's URL, prefix included
	ids      atomic.Int64

	live    atomic.Int32 // application handlers running
	mu      sync.Mutex
	ended   map[string]endInfo // by session id (not for raw websocket)
	metrics *recMetrics
}

type endInfo struct {
	code    int
	reason  string
	sendErr error // the error of the Send that ended a flood
	flood   time.Duration
}

// start serves e.handler under httptest until the test ends.
func (e *env) start() {
	t := e.t
	e.ts = httptest.NewServer(e.handler)
	e.tr = &http.Transport{MaxIdleConnsPerHost: 16}
	e.client = &http.Client{Transport: e.tr, Timeout: 2 * ioTimeout}
	e.base = e.ts.URL + "/echo"
	t.Cleanup(e.close)
}

func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	_ = e.shutdown(ctx)
	e.tr.CloseIdleConnections()
	e.ts.Close()
}

// newID returns a fresh session id starting with prefix.
func (e *env) newID(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, e.ids.Add(1))
}

func (e *env) sessionURL(id, transport string) string {
	return e.base + "/000/" + id + "/" + transport
}

// handle is the application. Sessions whose id starts with "stuck" never
// read; others echo every message, except commands:
//
//	burst N SIZE [DELAYMS]  send N messages of SIZE bytes ("0001:xxx…")
//	flood SIZE              send SIZE-byte messages until Send fails
//	close CODE              close the session with CODE, "bye"
//
// appSession is what the application uses of a session (harnessSession).
type appSession interface {
	ID() string
	Context() context.Context
	Recv(ctx context.Context) (string, error)
	Send(msg string) error
	Close(code int, reason string) error
	CloseStatus() (code int, reason string, closed bool)
}

func (e *env) handle(s appSession) {
	e.live.Add(1)
	defer e.live.Add(-1)
	var info endInfo
	defer func() {
		info.code, info.reason, _ = s.CloseStatus()
		e.mu.Lock()
		e.ended[s.ID()] = info
		e.mu.Unlock()
	}()
	if strings.HasPrefix(s.ID(), "stuck") {
		<-s.Context().Done()
		return
	}
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		f := strings.Fields(msg)
		switch {
		case len(f) >= 3 && f[0] == "burst":
			n, _ := strconv.Atoi(f[1])
			size, _ := strconv.Atoi(f[2])
			delay := 0
			if len(f) > 3 {
				delay, _ = strconv.Atoi(f[3])
			}
			go func() {
				for i := range n {
					_ = s.Send(burstMessage(i, size))
					time.Sleep(time.Duration(delay) * time.Millisecond)
				}
			}()
		case len(f) == 2 && f[0] == "flood":
			size, _ := strconv.Atoi(f[1])
			m := strings.Repeat("f", size)
			start := time.Now()
			for {
				if err := s.Send(m); err != nil {
					info.sendErr, info.flood = err, time.Since(start)
					break
				}
			}
		case len(f) == 2 && f[0] == "close":
			code, _ := strconv.Atoi(f[1])
			_ = s.Close(code, "bye")
		default:
			_ = s.Send(msg)
		}
	}
}

func burstMessage(i, size int) string {
	m := fmt.Sprintf("%04d:", i)
	return m + strings.Repeat("x", max(0, size-len(m)))
}

// waitEnded waits for the application handler of session id to return.
func (e *env) waitEnded(t testing.TB, id string, within time.Duration) endInfo {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		e.mu.Lock()
		info, ok := e.ended[id]
		e.mu.Unlock()
		if ok {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: handler still running after %v", id, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitNoHandlers waits for every application handler to return.
func (e *env) waitNoHandlers(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for e.live.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d application handlers still running after %v\n%s", e.live.Load(), within, allStacks())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- metrics ----

type recMetrics struct {
	mu        sync.Mutex
	closed    map[int]int
	slow      int
	conflicts int
	refused   map[string]int
}

func (m *recMetrics) SessionOpened(string) {}
func (m *recMetrics) SessionClosed(_ string, code int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed == nil {
		m.closed = map[int]int{}
	}
	m.closed[code]++
}
func (m *recMetrics) MessagesIn(string, int, int)  {}
func (m *recMetrics) MessagesOut(string, int, int) {}
func (m *recMetrics) SlowClient(string) {
	m.mu.Lock()
	m.slow++
	m.mu.Unlock()
}
func (m *recMetrics) Refused(reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refused == nil {
		m.refused = map[string]int{}
	}
	m.refused[reason]++
}
func (m *recMetrics) ReceiverConflict(string) {
	m.mu.Lock()
	m.conflicts++
	m.mu.Unlock()
}
func (m *recMetrics) Heartbeat(string) {}
