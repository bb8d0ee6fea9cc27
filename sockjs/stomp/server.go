package stomp

import (
	"context"
	"net/http"
	"strings"

	"github.com/sockjsd/sockjsd/sockjs"
)

// Server is a STOMP endpoint over SockJS: an http.Handler mounted like a
// sockjs.Server (chi's Mount, or http.ServeMux with the prefix and the
// prefix with a slash). Create it with New, register application
// handlers with Handle.
type Server struct {
	opts      Options // defaults applied
	sockjs    *sockjs.Server
	routes    router // SEND handlers
	subRoutes router // SUBSCRIBE handlers
}

// New returns the STOMP endpoint at prefix (such as "/stomp"); prefix
// means what it means to sockjs.New. A nil opts means every default.
func New(prefix string, opts *Options) *Server {
	s := &Server{opts: opts.withDefaults()}
	s.sockjs = sockjs.New(prefix, s.serve, s.opts.SockJS)
	return s
}

// Handle registers h for SENDs to the application destination
// AppPrefix+pattern: with the default prefix, Handle("/chat/{room}", h)
// receives SENDs to "/app/chat/42", and m.Param("room") is "42". A
// segment is literal or a {name} that matches one non-empty segment;
// where two patterns match, the one with the earlier literal segment
// wins. Handle panics on a malformed or repeated pattern. It may be called
// while the Server serves.
func (s *Server) Handle(pattern string, h HandlerFunc) { s.routes.handle(pattern, h) }

// HandleSubscribe registers h for SUBSCRIBEs to the application
// destination AppPrefix+pattern (Spring's @SubscribeMapping): h runs
// when a client subscribes, and what it sends with m.Reply(m.Destination,
// ...) reaches that subscription alone, typically the initial state a
// page loads once. The subscription stays until UNSUBSCRIBE, reached
// only by Reply. Patterns are Handle's.
func (s *Server) HandleSubscribe(pattern string, h HandlerFunc) { s.subRoutes.handle(pattern, h) }

// ServeHTTP serves the SockJS endpoint that carries STOMP.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.sockjs.ServeHTTP(w, r) }

// SockJS returns the SockJS server that carries the endpoint, for what
// takes one, such as sockjs/cluster's Node.Wrap; serving it is serving
// the endpoint.
func (s *Server) SockJS() *sockjs.Server { return s.sockjs }

// Shutdown closes every session (sockjs.CodeGoingAway) and waits for
// them to end, or for ctx; see sockjs.Server.Shutdown.
func (s *Server) Shutdown(ctx context.Context) error { return s.sockjs.Shutdown(ctx) }

// Publish sends a message to a broker destination, as a client's SEND there
// would: "/topic/..." to every subscriber, "/queue/..." to one,
// "/user/<name>/queue/..." to the subscriptions of that user's sessions
// to "/user/queue/...". It is Spring's SimpMessagingTemplate.convertAndSend.
func (s *Server) Publish(ctx context.Context, destination, body string, headers ...Header) error {
	if err := checkDestination(destination); err != nil {
		return err
	}
	_, err := s.publish(ctx, destination, wrap(headers, body))
	return err
}

// SendToUser sends a message to destination (such as "/queue/reply") of
// every session of user, on every node of the Topics engine, that
// subscribed to it as "/user/queue/reply".
func (s *Server) SendToUser(ctx context.Context, user, destination, body string, headers ...Header) error {
	if user == "" {
		return &Error{"no user to send to"}
	}
	if err := s.checkUserDest(destination); err != nil {
		return err
	}
	_, err := s.opts.Topics.Publish(ctx, s.userTopic(user, destination), wrap(headers, body))
	return err
}

// publish sends engine data to a broker destination and returns its
// position when it went to a topic.
func (s *Server) publish(ctx context.Context, dest, data string) (*Position, error) {
	topic := dest
	switch {
	case under(dest, s.opts.TopicPrefix):
	case under(dest, s.opts.QueuePrefix):
		return nil, s.opts.Queues.Send(ctx, dest, data)
	case under(dest, s.opts.UserPrefix):
		user, rest, ok := strings.Cut(dest[len(s.opts.UserPrefix)+1:], "/")
		if !ok || user == "" {
			return nil, &Error{"no user in destination " + dest}
		}
		if err := s.checkUserDest("/" + rest); err != nil {
			return nil, err
		}
		topic = s.userTopic(user, "/"+rest)
	case under(dest, s.opts.AppPrefix):
		return nil, &Error{"not a broker destination: " + dest}
	default:
		return nil, &Error{"unknown destination: " + dest}
	}
	p, err := s.opts.Topics.Publish(ctx, topic, data)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// checkUserDest accepts the part of a user destination after the user:
// a topic or a queue destination.
func (s *Server) checkUserDest(d string) error {
	if checkDestination(d) != nil || !under(d, s.opts.TopicPrefix) && !under(d, s.opts.QueuePrefix) {
		return &Error{"a user destination names a topic or a queue: " + d}
	}
	return nil
}

// under reports whether dest is below prefix: "/topic/a" is under
// "/topic", "/topic" and "/topics/a" are not.
func under(dest, prefix string) bool {
	return len(dest) > len(prefix)+1 && dest[len(prefix)] == '/' && strings.HasPrefix(dest, prefix)
}

// Session is one STOMP client's connection, as hooks and handlers see it.
type Session struct{ c *conn }

// User returns the user the connection authenticated as; "" when
// anonymous.
func (s *Session) User() string { return s.c.user }

// Version returns the negotiated STOMP version: "1.0", "1.1" or "1.2".
func (s *Session) Version() string { return s.c.version.String() }

// SockJS returns the SockJS session that carries the connection, for its
// request, identity and context.
func (s *Session) SockJS() *sockjs.Session { return s.c.s }
