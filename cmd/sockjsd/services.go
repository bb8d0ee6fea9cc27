package main

import (
	"context"
	"net/http"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// service is one SockJS service of sockjsd. Every service gets the
// options of serviceOptions, completed by newServer with the service's
// own; add one by adding a row to services.
type service struct {
	name    string // the metrics' service label and the status page's name
	prefix  string
	handler sockjs.HandlerFunc
	// authenticate, when set, is the service's Options.Authenticate.
	authenticate func(*http.Request) (sockjs.Identity, error)
	// build, when set, makes the service's server in handler's place:
	// for a service whose SockJS handler another package builds, such as
	// the STOMP endpoint's.
	build func(prefix string, opts *sockjs.Options) *sockjs.Server
}

func services() []service {
	return []service{
		{name: "echo", prefix: "/echo", handler: echo},
		{name: "broadcast", prefix: "/broadcast", handler: newHub().serve},
		{name: "chat", prefix: "/chat", handler: newChat(nil).serve, authenticate: chatIdentity},
		{name: "close", prefix: "/close", handler: closeAtOnce},
		{name: "stomp", prefix: "/stomp", build: newStomp(nil)},
	}
}

// newServer returns the SockJS server of svc with opts, the options every
// service gets, and the service's own.
func (svc service) newServer(opts *sockjs.Options) *sockjs.Server {
	if svc.authenticate != nil {
		opts.Authenticate = svc.authenticate
	}
	if svc.build != nil {
		return svc.build(svc.prefix, opts)
	}
	return sockjs.New(svc.prefix, svc.handler, opts)
}

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

// broadcastTopic is the one topic of the broadcast service.
const broadcastTopic = "broadcast"

// broadcastHub relays every message from any session to every open
// session, through one topic of a hub: a sender that outruns its
// readers waits for them (and so reads its own client more slowly),
// while a reader that stops reading is closed as a slow client.
type broadcastHub struct{ h *hub.Hub }

func newHub() *broadcastHub { return &broadcastHub{hub.New(nil)} }

func (b *broadcastHub) serve(s *sockjs.Session) {
	ctx := s.Context()
	if _, err := b.h.Subscribe(ctx, s, broadcastTopic, nil); err != nil {
		return
	}
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return
		}
		if _, err := b.h.Publish(ctx, broadcastTopic, msg); err != nil {
			return
		}
	}
}
