// Command igm is the comparison's peer server built on igm/sockjs-go v3
// with its default options: an echo service on /echo and a broadcast
// service (every message to every open session) on /broadcast.
//
// This is the only place in the repository that imports igm/sockjs-go.
package main

import (
	"net/http"
	"sync"

	"github.com/igm/sockjs-go/v3/sockjs"
	"github.com/sockjsd/sockjsd/bench/internal/benchserver"
)

func main() {
	opts := sockjs.DefaultOptions
	mux := http.NewServeMux()
	mux.Handle("/echo/", sockjs.NewHandler("/echo", opts, echo))
	b := &broadcast{sessions: map[sockjs.Session]struct{}{}}
	mux.Handle("/broadcast/", sockjs.NewHandler("/broadcast", opts, b.serve))
	benchserver.Main("igm", mux)
}

func echo(s sockjs.Session) {
	for {
		msg, err := s.Recv()
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
	sessions map[sockjs.Session]struct{}
}

func (b *broadcast) serve(s sockjs.Session) {
	b.mu.Lock()
	b.sessions[s] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.sessions, s)
		b.mu.Unlock()
	}()
	var targets []sockjs.Session
	for {
		msg, err := s.Recv()
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
			_ = t.Send(msg)
		}
	}
}
