package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sockjsd/sockjsd/sockjs"
)

// newEngineServer serves our own sockjs package: echo on /echo and
// broadcast (to every session, the sender included) on /broadcast.
func newEngineServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newEngine(t))
	t.Cleanup(srv.Close)
	return srv
}

// newEngine is newEngineServer's handler.
func newEngine(t *testing.T) http.Handler {
	t.Helper()
	echo := func(s *sockjs.Session) {
		for {
			msg, err := s.Recv(s.Context())
			if err != nil || s.Send(msg) != nil {
				return
			}
		}
	}
	var mu sync.Mutex
	members := map[*sockjs.Session]bool{}
	broadcast := func(s *sockjs.Session) {
		mu.Lock()
		members[s] = true
		mu.Unlock()
		defer func() {
			mu.Lock()
			delete(members, s)
			mu.Unlock()
		}()
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			mu.Lock()
			var all []*sockjs.Session
			for m := range members {
				all = append(all, m)
			}
			mu.Unlock()
			for _, m := range all {
				_ = m.Send(msg)
			}
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/echo/", sockjs.New("/echo", echo, nil))
	mux.Handle("/broadcast/", sockjs.New("/broadcast", broadcast, nil))
	return mux
}

// counted counts the requests that reach h.
type counted struct {
	h http.Handler
	n atomic.Int64
}

func (c *counted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

// Several -url: with -spread request, the requests of every session go to
// every node in turn (here three listeners of one engine, which therefore
// share sessions, as a cluster would); with -spread session, sessions go
// to the nodes in turn and stay there (here three separate engines).
func TestMultiNode(t *testing.T) {
	tests := []struct {
		name, spread, transport string
		shared                  bool
		valid                   bool
	}{
		{"request xhr-polling", "request", "xhr-polling", true, true},
		{"request xhr-streaming", "request", "xhr-streaming", true, true},
		{"request jsonp-polling", "request", "jsonp-polling", true, true},
		{"session xhr-polling", "session", "xhr-polling", false, true},
		{"session websocket", "session", "websocket", false, true},
		// Nodes that do not share sessions fail requests spread over them.
		{"request over separate nodes", "request", "xhr-polling", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			engine := newEngine(t)
			var nodes []*counted
			var urls []string
			for range 3 {
				if !tt.shared {
					engine = newEngine(t)
				}
				c := &counted{h: engine}
				srv := httptest.NewServer(c)
				t.Cleanup(srv.Close)
				nodes = append(nodes, c)
				urls = append(urls, srv.URL+"/echo")
			}
			code, res, stderr := runTool(t, "echo", "-url", strings.Join(urls, ","), "-spread", tt.spread,
				"-transport", tt.transport, "-sessions", "3", "-inflight", "4", "-duration", "250ms", "-warmup", "50ms", "-timeout", "5s")
			if !tt.valid {
				if code != 1 || res.Valid {
					t.Fatalf("exit %d valid %v, want an invalid run", code, res.Valid)
				}
				return
			}
			if code != 0 || res == nil || !res.Valid || res.Messages == 0 {
				t.Fatalf("exit %d: %+v %s", code, res, stderr)
			}
			for i, n := range nodes {
				if n.n.Load() == 0 {
					t.Errorf("node %d got no request", i)
				}
			}
		})
	}
}

// The tool against our engine, briefly, over every transport it speaks:
// a run must be valid. Figures are not asserted.
func TestAgainstEngine(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"echo websocket", []string{"echo", "-transport", "websocket", "-sessions", "4", "-inflight", "8"}},
		{"echo xhr-streaming", []string{"echo", "-transport", "xhr-streaming", "-sessions", "4", "-inflight", "8"}},
		{"echo xhr-polling", []string{"echo", "-transport", "xhr-polling", "-sessions", "4", "-inflight", "8"}},
		{"broadcast websocket", []string{"broadcast", "-transport", "websocket", "-sessions", "8", "-inflight", "2"}},
		{"connect xhr-streaming", []string{"connect", "-transport", "xhr-streaming", "-concurrency", "2"}},
		{"idle xhr-polling", []string{"idle", "-transport", "xhr-polling", "-sessions", "20", "-settle", "0s"}},
		// The engine binds a session to its client's address: every
		// connection of a session must come from the same source.
		{"idle xhr-streaming sources", []string{"idle", "-transport", "xhr-streaming", "-sessions", "20", "-settle", "0s", "-source", "127.0.0.1-127.0.0.4"}},
		{"echo xhr-polling sources", []string{"echo", "-transport", "xhr-polling", "-sessions", "8", "-source", "127.0.0.1-127.0.0.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newEngineServer(t)
			service := "/echo"
			if tt.args[0] == "broadcast" {
				service = "/broadcast"
			}
			args := append(tt.args, "-url", srv.URL+service, "-duration", "250ms", "-timeout", "5s")
			if tt.args[0] != "idle" {
				args = append(args, "-warmup", "50ms")
			}
			code, res, stderr := runTool(t, args...)
			if code != 0 || res == nil || !res.Valid {
				t.Fatalf("exit %d: %+v %s", code, res, stderr)
			}
		})
	}
}
