package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/stomp"
)

// newStompServer serves package sockjs/stomp at /stomp as cmd/sockjsd
// does: /app/echo answers the sender on /user/queue/echo, /topic/* is
// broadcast. fault, if not nil, says what the n-th echo replies instead
// of the body alone, or fails it.
func newStompServer(t *testing.T, opts *stomp.Options, fault func(n int64, body string) ([]string, error)) *httptest.Server {
	t.Helper()
	srv := stomp.New("/stomp", opts)
	var n atomic.Int64
	srv.Handle("/echo", func(m *stomp.Message) error {
		replies := []string{m.Body}
		if fault != nil {
			var err error
			if replies, err = fault(n.Add(1), m.Body); err != nil {
				return err
			}
		}
		for _, r := range replies {
			if err := m.Reply("/user/queue/echo", r); err != nil {
				return err
			}
		}
		return nil
	})
	mux := http.NewServeMux()
	mux.Handle("/stomp", srv)
	mux.Handle("/stomp/", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Shutdown(context.Background())
	})
	return ts
}

// The STOMP mode against the real STOMP endpoint, briefly, on the
// websocket and HTTP transports: every run must be valid and have
// measured something. Figures are not asserted.
func TestStompAgainstEndpoint(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   func(*Result) bool
	}{
		{"echo websocket", []string{"echo", "-transport", "websocket", "-sessions", "4", "-inflight", "8"},
			func(r *Result) bool { return r.Messages > 0 && r.Latency.Count > 0 }},
		{"echo xhr-streaming", []string{"echo", "-transport", "xhr-streaming", "-sessions", "4", "-inflight", "8", "-size", "3000"},
			func(r *Result) bool { return r.Messages > 0 }},
		{"echo xhr-polling", []string{"echo", "-transport", "xhr-polling", "-sessions", "2", "-inflight", "4"},
			func(r *Result) bool { return r.Messages > 0 }},
		{"echo 1.1", []string{"echo", "-sessions", "2", "-inflight", "4", "-stomp-version", "1.1"},
			func(r *Result) bool { return r.Messages > 0 && r.Stomp.Version == "1.1" }},
		{"echo 1.0", []string{"echo", "-sessions", "2", "-inflight", "4", "-stomp-version", "1.0"},
			func(r *Result) bool { return r.Messages > 0 && r.Stomp.Version == "1.0" }},
		{"echo highest of three", []string{"echo", "-sessions", "2", "-stomp-version", "1.0,1.1,1.2"},
			func(r *Result) bool { return r.Messages > 0 && r.Stomp.Version == "1.2" }},
		{"broadcast websocket", []string{"broadcast", "-transport", "websocket", "-sessions", "20", "-inflight", "4"},
			func(r *Result) bool { return r.Messages > 0 && r.Publishes > 0 && r.Stomp.Subscribe == "/topic/bench" }},
		{"broadcast xhr-streaming", []string{"broadcast", "-transport", "xhr-streaming", "-sessions", "5", "-inflight", "2",
			"-stomp-send", "/topic/room.a"},
			func(r *Result) bool { return r.Messages > 0 && r.Stomp.Subscribe == "/topic/room.a" }},
		{"connect websocket", []string{"connect", "-transport", "websocket", "-concurrency", "2"},
			func(r *Result) bool { return r.Connects > 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newStompServer(t, nil, nil)
			args := append(tt.args, "-stomp", "-url", srv.URL+"/stomp", "-duration", "300ms", "-warmup", "50ms", "-timeout", "5s")
			code, res, stderr := runTool(t, args...)
			if code != 0 || res == nil || !res.Valid {
				t.Fatalf("exit %d: %+v %s", code, res, stderr)
			}
			if res.Stomp == nil || res.Stomp.Version == "" {
				t.Fatalf("no STOMP report: %+v", res.Stomp)
			}
			if !tt.ok(res) {
				t.Fatalf("unexpected result %+v, stomp %+v", res, res.Stomp)
			}
		})
	}
}

// A STOMP server that misbehaves makes the run invalid, and says why.
func TestStompErrorsInvalidateRun(t *testing.T) {
	tests := []struct {
		name  string
		opts  *stomp.Options
		fault func(int64, string) ([]string, error)
		args  []string
		kind  string
	}{
		// A handler error is an ERROR frame, then the session closes.
		{name: "ERROR frame", fault: nth(20, func(string) ([]string, error) { return nil, &stomp.Error{Message: "no more"} }),
			kind: string(KindStomp)},
		{name: "wrong body", fault: nth(20, func(b string) ([]string, error) { return []string{strings.ToUpper(b)}, nil }),
			kind: string(KindMismatch)},
		{name: "lost message", fault: nth(20, func(string) ([]string, error) { return nil, nil }),
			kind: string(KindMismatch)},
		{name: "duplicated message", fault: nth(20, func(b string) ([]string, error) { return []string{b, b}, nil }),
			kind: string(KindMismatch)},
		// A SEND to a destination the server does not have.
		{name: "unknown destination", args: []string{"-stomp-send", "/nowhere/echo"}, kind: string(KindStomp)},
		// Subscribed elsewhere: the echoes never come.
		{name: "echo never comes", args: []string{"-stomp-subscribe", "/topic/elsewhere"}, kind: string(KindTimeout)},
		// Refused at CONNECT, and at SUBSCRIBE.
		{name: "unauthorized", opts: &stomp.Options{Authenticate: func(*sockjs.Session, *stomp.Frame) (string, error) {
			return "", &stomp.Error{Message: "who are you"}
		}}, kind: string(KindStomp)},
		{name: "forbidden", opts: &stomp.Options{Authorize: func(s *stomp.Session, command, dest string) error {
			if command == "SUBSCRIBE" {
				return &stomp.Error{Message: "not you"}
			}
			return nil
		}}, kind: string(KindStomp)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newStompServer(t, tt.opts, tt.fault)
			args := append([]string{"echo", "-stomp", "-url", srv.URL + "/stomp", "-sessions", "2", "-inflight", "2",
				"-duration", "300ms", "-warmup", "0s", "-timeout", "1s"}, tt.args...)
			code, res, stderr := runTool(t, args...)
			if code != 1 || res == nil || res.Valid {
				t.Fatalf("exit %d, %+v %s; want an invalid run", code, res, stderr)
			}
			found := false
			for _, e := range res.Errors {
				found = found || e.Kind == tt.kind
			}
			if !found {
				t.Fatalf("errors %+v, want kind %q", res.Errors, tt.kind)
			}
		})
	}
}

// nth applies f to the n-th echo only.
func nth(n int64, f func(body string) ([]string, error)) func(int64, string) ([]string, error) {
	return func(i int64, body string) ([]string, error) {
		if i == n {
			return f(body)
		}
		return []string{body}, nil
	}
}
