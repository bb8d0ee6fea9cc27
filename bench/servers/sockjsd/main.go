// Command sockjsd-bench is the comparison's build of our own server: the
// sockjs package with default options, an echo service on /echo and a
// broadcast service (every message to every open session) on /broadcast.
// With -hub the broadcast goes through one topic of sockjs/hub, as
// cmd/sockjsd's does; without, through a map of the sessions.
package main

import (
	"flag"
	"net/http"
	"sync"

	"github.com/sockjsd/sockjsd/bench/internal/benchserver"
	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

func main() {
	useHub := flag.Bool("hub", false, "broadcast through a sockjs/hub topic")
	flag.Parse()
	mux := http.NewServeMux()
	mux.Handle("/echo/", sockjs.New("/echo", echo, nil))
	var serve sockjs.HandlerFunc
	if *useHub {
		serve = (&hubBroadcast{hub.New(nil)}).serve
	} else {
		serve = (&broadcast{sessions: map[*sockjs.Session]struct{}{}}).serve
	}
	mux.Handle("/broadcast/", sockjs.New("/broadcast", serve, nil))
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

// hubBroadcast is cmd/sockjsd's broadcast service: one topic, a publisher
// that waits for its readers.
type hubBroadcast struct{ h *hub.Hub }

func (b *hubBroadcast) serve(s *sockjs.Session) {
	ctx := s.Context()
	if _, err := b.h.Subscribe(ctx, s, "broadcast", nil); err != nil {
		return
	}
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return
		}
		if _, err := b.h.Publish(ctx, "broadcast", msg); err != nil {
			return
		}
	}
}
