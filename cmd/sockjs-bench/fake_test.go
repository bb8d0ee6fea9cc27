package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer is a tiny SockJS server for the tool's tests: echo and
// broadcast services over websocket, xhr-streaming and xhr-polling, with
// a small streaming response limit (so the client must reopen streams) and
// switchable misbehaviour to prove the tool reports errors.
type fakeServer struct {
	fault string // "", "2010", "wrong-echo", "bad-prelude", "send-500", "drop-message", "stall"

	mu       sync.Mutex // guards sessions
	sessions map[string]*fakeSession
}

type fakeSession struct {
	srv       *fakeServer
	broadcast bool

	mu        sync.Mutex // guards the fields below
	queue     []string
	ws        *websocket.Conn
	receivers int // attached polling/streaming requests
	polls     int
	closed    bool
	wake      chan struct{}
	sent      int // messages delivered so far (for drop-message)
}

const fakeResponseLimit = 4096

var fakeUpgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func newFakeServer(fault string) (*fakeServer, *httptest.Server) {
	f := &fakeServer{fault: fault, sessions: map[string]*fakeSession{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo/{server}/{session}/{transport}", func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, false) })
	mux.HandleFunc("/broadcast/{server}/{session}/{transport}", func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, true) })
	mux.HandleFunc("/debug/goroutines", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, runtime.NumGoroutine())
	})
	return f, httptest.NewServer(mux)
}

func (f *fakeServer) session(id string, broadcast bool) (*fakeSession, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := fmt.Sprint(broadcast) + id
	s, ok := f.sessions[key]
	if !ok {
		s = &fakeSession{srv: f, broadcast: broadcast, wake: make(chan struct{}, 1)}
		f.sessions[key] = s
	}
	return s, !ok
}

// deliver hands msgs from the client of s to the service.
func (f *fakeServer) deliver(s *fakeSession, msgs []string) {
	if !s.broadcast {
		for i, m := range msgs {
			if f.fault == "wrong-echo" {
				msgs[i] = strings.ToUpper(m)
			}
		}
		s.push(msgs)
		return
	}
	f.mu.Lock()
	var all []*fakeSession
	for _, t := range f.sessions {
		if t.broadcast {
			all = append(all, t)
		}
	}
	f.mu.Unlock()
	for _, t := range all {
		t.push(msgs)
	}
}

// push queues msgs for s's client (or writes them to its websocket).
func (s *fakeSession) push(msgs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.srv.fault == "drop-message" || s.srv.fault == "stall" {
		var kept []string
		for _, m := range msgs {
			s.sent++
			if s.sent < 3 || (s.sent > 3 && s.srv.fault == "drop-message") {
				kept = append(kept, m)
			}
		}
		if msgs = kept; len(msgs) == 0 {
			return
		}
	}
	if s.ws != nil {
		b, _ := json.Marshal(msgs)
		_ = s.ws.WriteMessage(websocket.TextMessage, append([]byte("a"), b...))
		return
	}
	s.queue = append(s.queue, msgs...)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take returns the queued messages as an "a" frame, waiting up to d.
func (s *fakeSession) take(ctx context.Context, d time.Duration) string {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			b, _ := json.Marshal(s.queue)
			s.queue = nil
			s.mu.Unlock()
			return "a" + string(b)
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-t.C:
			return "h"
		case <-ctx.Done():
			return "h"
		}
	}
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request, broadcast bool) {
	s, isNew := f.session(r.PathValue("session"), broadcast)
	switch r.PathValue("transport") {
	case "websocket":
		ws, err := fakeUpgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		s.mu.Lock()
		s.ws = ws
		_ = ws.WriteMessage(websocket.TextMessage, []byte("o"))
		s.mu.Unlock()
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				s.mu.Lock()
				s.closed = true
				s.mu.Unlock()
				return
			}
			var msgs []string
			if json.Unmarshal(b, &msgs) != nil {
				return
			}
			f.deliver(s, msgs)
		}
	case "xhr_send":
		var msgs []string
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &msgs); err != nil {
			http.Error(w, "Broken JSON encoding.", http.StatusInternalServerError)
			return
		}
		if f.fault == "send-500" {
			http.Error(w, "nope", http.StatusInternalServerError)
			return
		}
		f.deliver(s, msgs)
		w.WriteHeader(http.StatusNoContent)
	case "xhr":
		s.mu.Lock()
		s.polls++
		polls := s.polls
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/javascript; charset=UTF-8")
		switch {
		case isNew:
			io.WriteString(w, "o\n")
		case f.fault == "2010" && polls == 3:
			io.WriteString(w, "c[2010,\"Another connection still open\"]\n")
		default:
			io.WriteString(w, s.take(r.Context(), time.Second)+"\n")
		}
	case "xhr_streaming":
		w.Header().Set("Content-Type", "application/javascript; charset=UTF-8")
		w.WriteHeader(http.StatusOK)
		n := 2048
		if f.fault == "bad-prelude" {
			n = 2047
		}
		var buf bytes.Buffer
		buf.Write(bytes.Repeat([]byte("h"), n))
		buf.WriteString("\n")
		if isNew {
			buf.WriteString("o\n")
		}
		w.Write(buf.Bytes())
		w.(http.Flusher).Flush()
		written := 0
		for written < fakeResponseLimit {
			frame := s.take(r.Context(), time.Second) + "\n"
			if _, err := io.WriteString(w, frame); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			written += len(frame)
			if r.Context().Err() != nil {
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}
