package sockjs

import (
	"context"
	"net/http"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"

	"github.com/sockjsd/sockjsd/session"
)

// Errors returned by Session methods. They are the values errors.Is
// matches.
var (
	// ErrSessionClosed: the session is closed; nothing more can be sent,
	// received, or closed.
	ErrSessionClosed = session.ErrClosed
	// ErrSlowClient: Send found the send queue full; the session has been
	// closed with CodeSlowClient.
	ErrSlowClient = session.ErrSlowClient
)

// Close codes the server uses, from the one list sockjsd keeps. An
// application closes with CodeNormal or a code from 3000 to 4999, the ones
// sockjs-client lets its own users choose.
const (
	// CodeNormal (1000) closes a session whose handler returned without
	// closing it.
	CodeNormal = closecode.Normal
	// CodeGoingAway (1001) closes every session on Shutdown.
	CodeGoingAway = closecode.GoingAway
	// CodeInterrupted (1002) closes a session whose receiving request was
	// aborted by the client or the network.
	CodeInterrupted = closecode.Interrupted
	// CodeUnsupportedData (1003) closes a raw websocket that sent a binary
	// message: the endpoint carries text.
	CodeUnsupportedData = closecode.UnsupportedData
	// CodeTimedOut (1006) closes a session that had no receiving
	// connection for the disconnect delay.
	CodeTimedOut = closecode.TimedOut
	// CodeInvalidPayload (1007) closes a websocket that sent a message that
	// is not valid UTF-8 or, framed, not a JSON array of strings.
	CodeInvalidPayload = closecode.InvalidPayload
	// CodeSlowClient (1008) closes a session whose send queue is full, or
	// whose application did not read incoming messages within RecvTimeout.
	CodeSlowClient = closecode.SlowClient
	// CodeTooBig (1009) closes a websocket that sent a message over
	// MaxMessageSize.
	CodeTooBig = closecode.TooBig
	// CodeInternalError (1011) closes a session whose handler panicked.
	CodeInternalError = closecode.InternalError
	// CodeTryAgainLater (1013) refuses a websocket when no new session can
	// be opened (MaxSessions, or a shutdown under way).
	CodeTryAgainLater = closecode.TryAgainLater
	// CodeAnotherReceiver (2010) answers a second receiving request for an
	// HTTP session while one is attached; it does not close the session.
	CodeAnotherReceiver = closecode.AnotherReceiver
)

// Session is one client's connection, whatever transport carries it. Its
// methods are safe for concurrent use: Send from any goroutine, Recv from
// one at a time or several (each message goes to one of them).
type Session struct {
	s         *session.Session
	req       *http.Request
	transport string
	opened    time.Time
	metrics   Metrics
	id        Identity
}

// ID returns the session id, chosen by the client. It is not a secret
// worth anything: anyone who sees the traffic knows it.
func (s *Session) ID() string { return s.s.ID() }

// Transport returns the name of the transport that opened the session:
// "websocket", "xhr_streaming", "xhr", "eventsource", "htmlfile", "jsonp",
// or "rawwebsocket" for <prefix>/websocket.
func (s *Session) Transport() string { return s.transport }

// User returns the user Options.Authenticate gave the session; empty
// when anonymous.
func (s *Session) User() string { return s.id.User }

// Identity returns what Options.Authenticate found of the client; the
// zero Identity when there is no Authenticate. Its Attrs must not be
// modified.
func (s *Session) Identity() Identity { return s.id }

// Request returns a copy of the request that opened the session, for its
// headers, cookies, remote address, URL and (with chi) URL parameters. Its
// body is empty and its context is never cancelled. It shares its header
// map and URL with the original, which the server may still be reading,
// so it must not be modified (clone it to change it).
func (s *Session) Request() *http.Request { return s.req }

// Send queues msg for the client and returns at once; it never waits for
// the network. It returns ErrSessionClosed after the session is closed,
// and ErrSlowClient (closing the session) when the client is so far behind
// that its queue passed Options.SendQueueBytes or SendQueueMessages.
func (s *Session) Send(msg string) error {
	err := s.s.Send(msg)
	if err == ErrSlowClient { // returned once, by the Send that closed the session
		s.metrics.SlowClient(s.transport)
	}
	return err
}

// SendContext queues msg for the client as Send does, but when the send
// queue is full it waits, holding no lock, for room, for ctx, or for the
// session's end. If the queue stays full for Options.SendTimeout, the
// session is closed with CodeSlowClient and ErrSlowClient returned.
//
// Use Send where a message must never hold up the caller (a reply from
// the session's own handler, a notice to one client); use SendContext
// where the caller should slow down to the client's pace instead of
// piling up messages, as a producer that fans out does (package
// sockjs/hub publishes with it).
func (s *Session) SendContext(ctx context.Context, msg string) error {
	err := s.s.SendContext(ctx, msg)
	if err == ErrSlowClient {
		s.metrics.SlowClient(s.transport)
	}
	return err
}

// SetHeartbeat turns the session's heartbeat frames ("h", every
// Options.Heartbeat while the client's connection is idle) on or off, on
// whatever transport carries it; they start on. An application that keeps
// the connection busy itself, as STOMP heart-beats do, turns them off: two
// heartbeats are waste, and on the HTTP transports each costs a response.
// The websocket transports still ping, so a dead connection is still
// found. With the heartbeat off, an idle polling request stays open until
// a message comes, so turn it off only when the application sends
// something more often than a proxy's idle timeout.
func (s *Session) SetHeartbeat(enabled bool) { s.s.SetHeartbeat(enabled) }

// AfterClose arranges for f to run on a goroutine of its own once the
// session is closed (at once if it is already), as context.AfterFunc on
// Context does, for less memory: a hub registers one per session. stop
// cancels it and reports whether it did.
func (s *Session) AfterClose(f func()) (stop func() bool) { return s.s.AfterClose(f) }

// Recv waits for the next message from the client. It returns
// ErrSessionClosed once the session is closed, or ctx's error.
func (s *Session) Recv(ctx context.Context) (string, error) { return s.s.Recv(ctx) }

// Close closes the session: messages already sent are delivered, then the
// client gets a close frame with code and reason. It returns
// ErrSessionClosed if the session was already closed.
func (s *Session) Close(code int, reason string) error { return s.s.Close(code, reason) }

// Context returns a context that is done when the session is closed.
func (s *Session) Context() context.Context { return s.s.Context() }

// CloseStatus returns the code and reason the session was closed with, and
// whether it is closed.
func (s *Session) CloseStatus() (code int, reason string, closed bool) {
	return s.s.CloseStatus()
}
