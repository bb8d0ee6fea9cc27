package main

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sockjsd/sockjsd/sockjs"
)

// newEngineServer serves our own sockjs package: echo on /echo and
// broadcast (to every session, the sender included) on /broadcast.
func newEngineServer(t *testing.T) *httptest.Server {
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
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
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
