package main

import (
	"context"
	"sync"

	"github.com/sockjsd/sockjsd/sockjs"
)

// echo sends every message back to its sender.
func echo(s *sockjs.Session) {
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		if s.Send(msg) != nil {
			return
		}
	}
}

// closeAtOnce closes every session as soon as it opens.
func closeAtOnce(s *sockjs.Session) { _ = s.Close(3000, "Go away!") }

// hub relays every message from any session to every open session.
type hub struct {
	mu       sync.Mutex // guards sessions; held for map access only, never while sending
	sessions map[*sockjs.Session]struct{}
}

func newHub() *hub { return &hub{sessions: make(map[*sockjs.Session]struct{})} }

func (h *hub) serve(s *sockjs.Session) {
	h.mu.Lock()
	h.sessions[s] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
	}()
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		h.broadcast(msg)
	}
}

// broadcast sends msg to every session. Send never blocks, so a slow
// client only ever loses its own session (closed as a slow client).
func (h *hub) broadcast(msg string) {
	h.mu.Lock()
	targets := make([]*sockjs.Session, 0, len(h.sessions))
	for s := range h.sessions {
		targets = append(targets, s)
	}
	h.mu.Unlock()
	for _, s := range targets {
		_ = s.Send(msg)
	}
}
