package stomp

import (
	"log/slog"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// Options configures a Server. A nil *Options means every default; each
// field documents its zero value.
type Options struct {
	// SockJS configures the SockJS endpoint under the STOMP one (origins,
	// transports, queues, the accept hook). Nil means sockjs defaults.
	SockJS *sockjs.Options

	// Topics carries /topic and /user destinations: publish, subscribe,
	// and the history that resumable subscriptions read. Nil means a
	// hub of this endpoint's own (DefaultTopics). Pass HubTopics(h) to
	// share a sockjs/hub Hub with other endpoints, or, through its
	// broker, with other nodes.
	Topics Topics

	// Queues carries /queue destinations. Nil means an in-memory engine
	// of this process (NewMemoryQueues(nil)).
	Queues Queues

	// AppPrefix is where SENDs go to the HandlerFuncs registered with
	// Handle (Spring's application destination prefix). Empty means
	// "/app".
	AppPrefix string
	// TopicPrefix names broadcast destinations: every subscriber gets
	// every message. Empty means "/topic".
	TopicPrefix string
	// QueuePrefix names queues: each message goes to one subscriber.
	// Empty means "/queue".
	QueuePrefix string
	// UserPrefix names destinations of one user's sessions
	// (/user/queue/x). Empty means "/user".
	UserPrefix string

	// MaxFrameSize is the largest frame a client may send, in bytes,
	// whether it comes in one SockJS message or several. Zero means
	// DefaultMaxFrameSize (64 KiB).
	MaxFrameSize int

	// HeartbeatSend is how often the server offers to send heart-beats
	// (the first number of CONNECTED's heart-beat header), and
	// HeartbeatExpect how often it asks the client to (the second).
	// Zero means 10 seconds each; a negative value turns that direction
	// off. The rates used are negotiated with the client's CONNECT.
	HeartbeatSend   time.Duration
	HeartbeatExpect time.Duration

	// Authenticate, when set, decides who the client of a CONNECT is,
	// from its headers (login and passcode, or a token header) and the
	// SockJS session (whose User is what sockjs.Options.Authenticate
	// found). It returns the user name, "" for anonymous. An error
	// refuses the connection: ERROR (its message the *Error's, or
	// "Unauthorized"), then the session closes with
	// sockjs.CodeUnauthorized. Nil means the SockJS session's user.
	Authenticate func(s *sockjs.Session, connect *Frame) (user string, err error)

	// Authorize, when set, decides whether s may SUBSCRIBE to or SEND to
	// destination (command is "SUBSCRIBE" or "SEND"; destination is what
	// the client wrote, such as "/topic/news" or "/user/queue/reply").
	// An error refuses it: ERROR (its message the *Error's, or
	// "Forbidden"), then the session closes with CodeForbidden. Nil means
	// everything is allowed.
	Authorize func(s *Session, command, destination string) error

	// Logger receives the endpoint's logs. Nil means the SockJS options'
	// logger, or none.
	Logger *slog.Logger
}

// Defaults of zero Options fields.
const (
	DefaultHeartbeat = 10 * time.Second
)

// Close codes of the SockJS session after an ERROR frame.
const (
	// CodeProtocolError (4002) closes a session that sent a malformed
	// frame or broke the protocol.
	CodeProtocolError = 4002
	// CodeForbidden (4003) closes a session that Options.Authorize
	// refused a destination.
	CodeForbidden = 4003
)

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&r.AppPrefix, "/app")
	def(&r.TopicPrefix, "/topic")
	def(&r.QueuePrefix, "/queue")
	def(&r.UserPrefix, "/user")
	if r.MaxFrameSize <= 0 {
		r.MaxFrameSize = DefaultMaxFrameSize
	}
	for _, d := range []*time.Duration{&r.HeartbeatSend, &r.HeartbeatExpect} {
		switch {
		case *d == 0:
			*d = DefaultHeartbeat
		case *d < 0:
			*d = 0
		}
	}
	if r.Logger == nil && r.SockJS != nil {
		r.Logger = r.SockJS.Logger
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Topics == nil {
		r.Topics = DefaultTopics()
	}
	if r.Queues == nil {
		r.Queues = NewMemoryQueues(nil)
	}
	return r
}
