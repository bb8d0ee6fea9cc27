package sockjs

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// Options configures a Server. A nil *Options means every default.
// Every field documents its zero value; a zero Options is the
// configuration the SockJS protocol suite and sockjs-client expect.
type Options struct {
	// Heartbeat is how often an idle receiving connection gets an "h"
	// frame (and, on websocket, a ping). Zero means 25 seconds.
	Heartbeat time.Duration

	// PongTimeout is how long a websocket client has to answer the ping
	// each heartbeat sends (or to send anything) before its connection is
	// taken for dead and closed, and its session with 1006: a client whose
	// network went away without a word is noticed within Heartbeat +
	// PongTimeout. Zero means 10 seconds; it is never more than Heartbeat.
	// Hixie-76 connections have no ping: only a failed write ends them.
	PongTimeout time.Duration

	// DisconnectDelay is how long a session of an HTTP transport lives
	// without a receiving connection before it is closed and forgotten.
	// Zero means 5 seconds.
	DisconnectDelay time.Duration

	// ResponseLimit is how many bytes a streaming response (xhr-streaming,
	// eventsource, htmlfile) carries before the server ends it and the
	// client opens a new one. The prelude does not count. Zero means 128 KiB.
	// On HTTP/1.1 each response ends its connection (see Connections in
	// the package doc), so the next one costs a new connection, and over
	// TLS a new handshake: raise the limit for busy streams.
	ResponseLimit int

	// DisableWebsocket turns off the websocket transports, framed and raw;
	// /info then reports "websocket": false.
	DisableWebsocket bool

	// DisableRawWebsocket turns off only <prefix>/websocket, the unframed
	// endpoint for programs that are not sockjs-client.
	DisableRawWebsocket bool

	// JSessionID makes every session URL set a JSESSIONID cookie (echoing
	// the client's own value when it sends one), for load balancers that
	// need a cookie for sticky sessions; /info then reports
	// "cookie_needed": true. Off by default.
	JSessionID bool

	// SockJSURL is the sockjs-client script the iframe page loads. Empty
	// means the copy of sockjs-client embedded in this module, served by the
	// Server itself at <prefix>/sockjs-<version>.min.js, so the iframe's
	// client always matches a page that uses the same copy.
	SockJSURL string

	// MaxSendBody is the largest xhr_send or jsonp_send body accepted;
	// larger ones get 413. Zero means 1 MiB.
	MaxSendBody int64

	// MaxMessageSize is the largest websocket message accepted; a larger
	// one closes the connection with 1009. Zero means 1 MiB.
	MaxMessageSize int64

	// MaxSessions caps the sessions open at once; a new session beyond it
	// gets 503. Zero means no cap.
	MaxSessions int

	// SendQueueBytes and SendQueueMessages bound the outgoing queue of a
	// session whose client does not keep up. Send past either bound closes
	// the session with CodeSlowClient. Zero means 4 MiB and 16384 messages.
	SendQueueBytes    int
	SendQueueMessages int

	// SendTimeout is how long Session.SendContext (and so a hub's
	// Publish) waits for room in a full send queue before it closes the
	// session with CodeSlowClient, as a client too slow to keep up. Zero
	// means 3 seconds.
	SendTimeout time.Duration

	// RecvQueue is how many incoming messages wait for Session.Recv before
	// the sender is slowed down. Zero means 256.
	RecvQueue int

	// RecvTimeout is how long an incoming message may wait for room in a
	// full receive queue before the session is closed with
	// CodeSlowClient (1008, "Receive queue full"). Zero means 10 seconds.
	RecvTimeout time.Duration

	// WriteTimeout bounds every network write. Zero means 10 seconds.
	WriteTimeout time.Duration

	// AllowedOrigins restricts which pages may use the server. Empty means
	// any origin (what the protocol suite expects). Entries are exact
	// origins ("https://example.com") or patterns with one "*" wildcard
	// ("https://*.example.com"); "*" alone allows every origin. A
	// restricted list also disables the iframe transports, whose requests
	// cannot be checked.
	AllowedOrigins []string

	// SessionKey binds each HTTP-transport session to its client: a
	// request whose key differs from that of the request that opened the
	// session is answered as if the session did not exist (404), so a
	// third party that learns a session id cannot post into the session or
	// read from it. Nil means the client's IP address (see TrustedProxies);
	// the port is left out, as it changes from one poll to the next.
	// NoSessionBinding turns binding off. Websocket sessions need none:
	// they live on one connection.
	SessionKey func(r *http.Request) string

	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// is believed when finding the client's IP address. Empty means none:
	// the peer address is the client.
	TrustedProxies []netip.Prefix

	// Authenticate, when set, decides whether a session may open, from
	// the request that opens it (its cookies, headers, query), before the
	// handler runs: on websocket once the connection is upgraded, on the
	// HTTP transports at the session's first request. It runs once per
	// session; /info, the iframe page and the client script never call it.
	// The Identity it returns is the session's (Session.User,
	// Session.Identity). An error refuses the session: the client's first
	// and only frame is a close frame with the code and reason of a
	// *Refusal, or CodeUnauthorized (4001, "Unauthorized") for any other
	// error, and the handler never runs. It may be called from many
	// goroutines at once. Nil means every session opens, anonymous.
	Authenticate func(r *http.Request) (Identity, error)

	// Logger receives the server's logs. Nil means no logs.
	Logger *slog.Logger

	// Metrics receives counts of what happens. Nil means none are kept.
	Metrics Metrics
}

// NoSessionBinding is an Options.SessionKey that binds no session to its
// client: any request that knows a session id may use the session.
func NoSessionBinding(*http.Request) string { return "" }

// Defaults of the zero Options fields.
const (
	DefaultHeartbeat         = 25 * time.Second
	DefaultPongTimeout       = 10 * time.Second
	DefaultDisconnectDelay   = 5 * time.Second
	DefaultResponseLimit     = 128 << 10
	DefaultMaxSendBody       = 1 << 20
	DefaultMaxMessageSize    = 1 << 20
	DefaultSendQueueBytes    = 4 << 20
	DefaultSendQueueMessages = 16384
	DefaultSendTimeout       = 3 * time.Second
	DefaultRecvQueue         = 256
	DefaultRecvTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
)

// withDefaults returns a copy of o with every zero field set to its default.
func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	setDefault(&r.Heartbeat, DefaultHeartbeat)
	setDefault(&r.PongTimeout, DefaultPongTimeout)
	r.PongTimeout = min(r.PongTimeout, r.Heartbeat)
	setDefault(&r.DisconnectDelay, DefaultDisconnectDelay)
	setDefault(&r.ResponseLimit, DefaultResponseLimit)
	setDefault(&r.MaxSendBody, DefaultMaxSendBody)
	setDefault(&r.MaxMessageSize, DefaultMaxMessageSize)
	setDefault(&r.SendQueueBytes, DefaultSendQueueBytes)
	setDefault(&r.SendQueueMessages, DefaultSendQueueMessages)
	setDefault(&r.SendTimeout, DefaultSendTimeout)
	setDefault(&r.RecvQueue, DefaultRecvQueue)
	setDefault(&r.RecvTimeout, DefaultRecvTimeout)
	setDefault(&r.WriteTimeout, DefaultWriteTimeout)
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Metrics == nil {
		r.Metrics = nopMetrics{}
	}
	return r
}

// setDefault replaces a zero or negative *v with def.
func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}
