// Command sockjsd-bench is the comparison's build of our own server: the
// sockjs package with default options, an echo service on /echo and a
// broadcast service (every message to every open session) on /broadcast.
package main

import (
	"net/http"
	"sync"

	"github.com/sockjsd/sockjsd/bench/internal/benchserver"
	"github.com/sockjsd/sockjsd/sockjs"
)

func main() {
	mux := http.NewServeMux()
	mux.Handle("/echo/", sockjs.New("/echo", echo, nil))
	b := &broadcast{sessions: map[*sockjs.Session]struct{}{}}
	mux.Handle("/broadcast/", sockjs.New("/broadcast", b.serve, nil))
	benchserver.Main("sockjsd", mux)
}

func echo(s *sockjs.Session) {
	ctx := s.Context()
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return
		}
		if s.Send(msg) != nil {
			return
		}
	}
}

type broadcast struct {
	mu       sync.Mutex // guards sessions
	sessions map[*sockjs.Session]struct{}
}

func (b *broadcast) serve(s *sockjs.Session) {
	b.mu.Lock()
	b.sessions[s] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.sessions, s)
		b.mu.Unlock()
	}()
	ctx := s.Context()
	var targets []*sockjs.Session
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return
		}
		b.mu.Lock()
		targets = targets[:0]
		for t := range b.sessions {
			targets = append(targets, t)
		}
		b.mu.Unlock()
		for _, t := range targets {
			_ = t.Send(msg) // never blocks; a slow client is closed by the server
		}
	}
}
