// Package transports implements the SockJS transports on top of package
// session: the HTTP receivers (xhr, xhr_streaming, eventsource, htmlfile,
// jsonp) that share one receiver loop, the senders (xhr_send, jsonp_send),
// and the websocket transports (framed, raw, and the hixie-76 handshake).
//
// Long-lived connections (websockets, and HTTP/1.1 streaming responses,
// which are hijacked: stream.go) share one writing scheme, the pump: a
// writer goroutine runs only while the session has something to write,
// so an idle connection costs its reading goroutine and little else.
// Short requests (polls, sends, and streams net/http must serve) are
// answered on net/http's goroutine by the receiver loop.
//
// It is an implementation detail of package sockjs; its API may change at
// any time.
package transports

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sockjsd/sockjsd/session"
)

// A Transport answers the requests for one transport of a session URL,
// <prefix>/<server>/<session>/<name>.
type Transport interface {
	// Allow lists the methods the transport answers, for an Allow header.
	// OPTIONS among them means the transport answers CORS preflights.
	Allow() string
	// Serve answers one request for the session with id sessionID. The
	// caller has checked the method, the origin and set the CORS and
	// cookie headers.
	Serve(w http.ResponseWriter, r *http.Request, sessionID string)
}

// Errors of Sessions.OpenHTTP and OpenWebsocket.
var (
	// ErrSessionLimit: the cap on open sessions is reached.
	ErrSessionLimit = errors.New("sockjs: too many sessions")
	// ErrShuttingDown: the server accepts no new sessions any more.
	ErrShuttingDown = errors.New("sockjs: shutting down")
	// ErrNotYours: the session exists but belongs to another client.
	ErrNotYours = errors.New("sockjs: session bound to another client")
)

// Sessions is what transports need from the server that owns the sessions.
type Sessions interface {
	// Lookup returns the HTTP-transport session with id, or nil if there
	// is none or it is bound to another client than r's.
	Lookup(r *http.Request, id string) *session.Session
	// OpenHTTP returns the HTTP-transport session with id, opening it and
	// starting the application if there is none.
	OpenHTTP(r *http.Request, id, transport string) (*session.Session, error)
	// OpenWebsocket opens a session that lives as long as one websocket
	// connection and starts the application; End must follow.
	OpenWebsocket(r *http.Request, id, transport string) (*session.Session, error)
	// End forgets a websocket session once its connection is over.
	End(s *session.Session)
	// Go runs f on a goroutine that Shutdown waits for.
	Go(f func())
}

// Observer receives counts of what happens; see sockjs.Metrics.
type Observer interface {
	MessagesIn(transport string, count, bytes int)
	MessagesOut(transport string, count, bytes int)
	Refused(reason string)
	ReceiverConflict(transport string)
	Heartbeat(transport string)
}

// Config is the configuration every transport shares. Every field is to be
// set, except PongTimeout, whose zero is its default.
type Config struct {
	Heartbeat time.Duration
	// PongTimeout is how long a websocket peer has to show it is alive
	// (a pong, a message) after each heartbeat's ping before its
	// connection is closed as dead. Zero means DefaultPongTimeout; it is
	// never longer than Heartbeat.
	PongTimeout    time.Duration
	ResponseLimit  int
	WriteTimeout   time.Duration
	MaxSendBody    int64
	MaxMessageSize int64
	CheckOrigin    func(r *http.Request) bool
	Sessions       Sessions
	Observer       Observer
	Logger         *slog.Logger
}

// DefaultPongTimeout is Config.PongTimeout's zero value.
const DefaultPongTimeout = 10 * time.Second

// pongTimeout is PongTimeout with its default and cap applied.
func (c *Config) pongTimeout() time.Duration {
	d := c.PongTimeout
	if d <= 0 {
		d = DefaultPongTimeout
	}
	return min(d, c.Heartbeat)
}

// Set builds every transport, keyed by its URL name. Websocket transports
// are left out when disabled.
func Set(cfg *Config, websocket bool) map[string]Transport {
	m := map[string]Transport{
		"xhr":           &receiver{cfg: cfg, kind: &xhrPolling},
		"xhr_streaming": &receiver{cfg: cfg, kind: &xhrStreaming},
		"eventsource":   &receiver{cfg: cfg, kind: &eventSource},
		"htmlfile":      &receiver{cfg: cfg, kind: &htmlFile},
		"jsonp":         &receiver{cfg: cfg, kind: &jsonpPolling},
		"xhr_send":      &sender{cfg: cfg, kind: &xhrSend},
		"jsonp_send":    &sender{cfg: cfg, kind: &jsonpSend},
	}
	if websocket {
		m["websocket"] = &websocketTransport{cfg: cfg, raw: false}
	}
	return m
}

// RawWebsocket returns the transport of <prefix>/websocket.
func RawWebsocket(cfg *Config) Transport { return &websocketTransport{cfg: cfg, raw: true} }

// refuse counts and logs a refused request. Refusals are the client's
// doing, so they are logged at info level, never as errors.
func (c *Config) refuse(r *http.Request, reason string, err error) {
	c.Observer.Refused(reason)
	c.Logger.Info("sockjs: request refused", "reason", reason, "error", err,
		"path", r.URL.Path, "remote", r.RemoteAddr)
}

// refusalReason names an error of Sessions for metrics and logs.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, ErrShuttingDown):
		return "shutting_down"
	case errors.Is(err, ErrNotYours):
		return "session_binding"
	}
	return "session_limit"
}

// Header values set on every response are built once and shared: net/http
// only reads them, and http.Header.Set would allocate a slice per call.
var (
	nosniffHeader   = []string{"nosniff"}
	textPlainHeader = []string{"text/plain; charset=UTF-8"}
	// noHeader, as X-Accel-Buffering, has nginx pass a streaming response
	// on frame by frame even where proxy_buffering is on: buffered, the
	// client would see its frames only once nginx's buffer is full.
	noHeader = []string{"no"}
)

// plainError answers with a text/plain error body, as the protocol words them.
func plainError(w http.ResponseWriter, msg string, code int) {
	h := w.Header()
	h["Content-Type"] = textPlainHeader
	h["X-Content-Type-Options"] = nosniffHeader
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

// signal notifies c without blocking: c has capacity 1, and a pending
// notification already says what a second one would.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
