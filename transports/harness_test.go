package transports_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
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

// newTransportEnv is newEnv over the harness: the same application and
// helpers, with transports.Set serving the requests and no sockjs.Server.
func newTransportEnv(t testing.TB, opts *harnessOptions) *env {
	t.Helper()
	e := &env{t: t, ended: make(map[string]endInfo), metrics: &recMetrics{}}
	h := newHarness(opts, e.handle, e.metrics)
	e.handler, e.shutdown = h, h.Shutdown
	e.start()
	return e
}
