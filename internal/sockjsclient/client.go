package sockjsclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one open SockJS session seen from the client. Dial has already
// consumed the "o" frame.
type Conn interface {
	// Send delivers msgs to the server, in order: one websocket message
	// per message, or all of them in one xhr_send or jsonp_send request.
	Send(msgs []string, deadline time.Time) error
	// Recv returns the next frame the server sent, a close frame
	// included. A zero deadline means none.
	Recv(deadline time.Time) (Frame, error)
	// Close ends the session from the client's side.
	Close(mode CloseMode) error
}

// CloseMode says how a client leaves a session.
type CloseMode int

const (
	// CloseGraceful sends a websocket close frame before closing the
	// connection; HTTP transports simply stop.
	CloseGraceful CloseMode = iota
	// CloseDrop closes the TCP connections without a websocket close frame.
	CloseDrop
	// CloseReset aborts the TCP connections with a RST.
	CloseReset
)

func (m CloseMode) String() string {
	switch m {
	case CloseGraceful:
		return "graceful"
	case CloseDrop:
		return "drop"
	case CloseReset:
		return "reset"
	}
	return fmt.Sprintf("CloseMode(%d)", int(m))
}

// The transports, by the names sockjs-client gives them.
const (
	WebSocket    = "websocket"
	XHRStreaming = "xhr-streaming"
	XHRPolling   = "xhr-polling"
	EventSource  = "eventsource"
	HTMLFile     = "htmlfile"
	JSONPPolling = "jsonp-polling"
)

// Transports lists every transport Dial speaks, in sockjs-client's order
// of preference.
func Transports() []string {
	return []string{WebSocket, XHRStreaming, EventSource, HTMLFile, XHRPolling, JSONPPolling}
}

// Options configures Dial. A nil *Options means the zero value.
type Options struct {
	// Header is added to every request and to the websocket handshake
	// (an Origin, say). Nil means none. Host, Content-Length and Cookie
	// are the client's own; do not set them here.
	Header http.Header
	// Jar, if not nil, supplies the Cookie of every request and takes
	// every Set-Cookie (the JSESSIONID a sticky balancer routes by).
	Jar http.CookieJar
	// BaseURL, if not nil, is called before every HTTP request and before
	// the websocket handshake and returns the base URL to use instead of
	// Dial's: a cluster test sends each request to another node. The
	// session's server and session ids stay the same.
	BaseURL func() string
	// ServerID is the <server> part of the session's URLs. Empty means a
	// random one, "000" to "999", as sockjs-client draws it.
	ServerID string
	// SessionID is the <session> part. Empty means a random 8 characters
	// from sockjs-client's alphabet.
	SessionID string
	// TLSConfig is used for https and wss base URLs; its ServerName, if
	// empty, is the URL's host. Nil means a default configuration.
	TLSConfig *tls.Config
	// DialContext opens the TCP connections (every connection of the
	// session). Nil means a net.Dialer's.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	// ReadBufferSize is the read buffer of each connection. Zero means
	// 4096 bytes.
	ReadBufferSize int
}

// maxMessage bounds any frame, websocket message or response body the
// client reads.
const maxMessage = 64 << 20

// Dial opens a session with transport on the SockJS service at base (e.g.
// http://127.0.0.1:8081/echo; with Options.BaseURL set, base may be
// empty) and returns once the "o" frame has arrived. A close frame in its
// place is a *CloseError. ctx bounds the opening only.
func Dial(ctx context.Context, transport, base string, opts *Options) (Conn, error) {
	s, err := newSession(base, opts)
	if err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	var c Conn
	switch transport {
	case WebSocket:
		c, err = dialWebsocket(ctx, s)
	case XHRStreaming:
		c, err = dialStream(s, &xhrStreamingKind, dl)
	case EventSource:
		c, err = dialStream(s, &eventSourceKind, dl)
	case HTMLFile:
		c, err = dialStream(s, &htmlFileKind, dl)
	case XHRPolling:
		c, err = dialPoll(s, &xhrPollingKind, dl)
	case JSONPPolling:
		c, err = dialPoll(s, &jsonpPollingKind, dl)
	default:
		return nil, fmt.Errorf("sockjs: unknown transport %q (have %s)", transport, strings.Join(Transports(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ReadMessages returns the messages of the next frame that carries any,
// skipping heartbeats and empty arrays. A close frame is a *CloseError;
// any other frame is an error wrapping ErrBadFrame.
func ReadMessages(c Conn, deadline time.Time) ([]string, error) {
	for {
		f, err := c.Recv(deadline)
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case FrameHeartbeat:
		case FrameArray, FrameMessage:
			if len(f.Messages) > 0 {
				return f.Messages, nil
			}
		case FrameClose:
			return nil, closeErr(f)
		default:
			return nil, badFrame("%s frame in an open session", f.Type)
		}
	}
}

// expectOpen checks that the first frame of a session is "o".
func expectOpen(f Frame) error {
	switch f.Type {
	case FrameOpen:
		return nil
	case FrameClose:
		return closeErr(f)
	}
	return badFrame("first frame is %s, want open", f.Type)
}

// session is what every connection of one Conn shares: the options and
// the servers it has talked to.
type session struct {
	opts    Options
	server  string
	id      string
	fixed   *target                   // the target when there is no BaseURL chooser
	targets atomic.Pointer[[]*target] // parsed chooser answers; replaced, never changed
	mu      sync.Mutex                // serializes additions to targets
}

// target is one server: where to connect and what to send it.
type target struct {
	raw        string // the base URL as given
	host       string // Host header
	addr       string // host:port to dial
	tls        bool
	serverName string
	prefix     string   // <base path>/<server>/<session>, as sent
	url        *url.URL // the session's URL, for the cookie jar (nil without one)
}

func newSession(base string, opts *Options) (*session, error) {
	s := &session{}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.ReadBufferSize <= 0 {
		s.opts.ReadBufferSize = 4096
	}
	s.server, s.id = s.opts.ServerID, s.opts.SessionID
	if s.server == "" {
		s.server = fmt.Sprintf("%03d", rand.IntN(1000))
	}
	if s.id == "" {
		s.id = randomString(8)
	}
	if s.opts.BaseURL == nil {
		t, err := s.parse(base)
		if err != nil {
			return nil, err
		}
		s.fixed = t
	}
	return s, nil
}

// pick returns the target of the next request.
func (s *session) pick() (*target, error) {
	if s.fixed != nil {
		return s.fixed, nil
	}
	raw := s.opts.BaseURL()
	if p := s.targets.Load(); p != nil {
		for _, t := range *p {
			if t.raw == raw {
				return t, nil
			}
		}
	}
	t, err := s.parse(raw)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var next []*target
	if p := s.targets.Load(); p != nil {
		next = append(next, *p...)
	}
	next = append(next, t)
	s.targets.Store(&next)
	return t, nil
}

func (s *session) parse(raw string) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("sockjs: base URL: %w", err)
	}
	t := &target{raw: raw, host: u.Host, serverName: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "http", "ws":
		if port == "" {
			port = "80"
		}
	case "https", "wss":
		t.tls = true
		if port == "" {
			port = "443"
		}
	default:
		return nil, fmt.Errorf("sockjs: base URL %q: scheme must be http, https, ws or wss", raw)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("sockjs: base URL %q: want scheme://host[:port][/path]", raw)
	}
	t.addr = net.JoinHostPort(u.Hostname(), port)
	t.prefix = strings.TrimRight(u.EscapedPath(), "/") + "/" + s.server + "/" + s.id
	if s.opts.Jar != nil {
		scheme := "http"
		if t.tls {
			scheme = "https"
		}
		t.url = &url.URL{Scheme: scheme, Host: u.Host, Path: t.prefix}
	}
	return t, nil
}

// dial opens a TCP (and, for https, TLS) connection to t.
func (s *session) dial(ctx context.Context, t *target) (net.Conn, error) {
	var c net.Conn
	var err error
	if s.opts.DialContext != nil {
		c, err = s.opts.DialContext(ctx, "tcp", t.addr)
	} else {
		var d net.Dialer
		c, err = d.DialContext(ctx, "tcp", t.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrDial, t.addr, err)
	}
	if !t.tls {
		return c, nil
	}
	cfg := &tls.Config{}
	if s.opts.TLSConfig != nil {
		cfg = s.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = t.serverName
	}
	cfg.NextProtos = []string{"http/1.1"}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w %s: TLS: %w", ErrDial, t.addr, err)
	}
	return tc, nil
}

// appendHeaders appends the caller's headers and the jar's cookies for
// t's URL with suffix.
func (s *session) appendHeaders(b []byte, t *target, suffix string) []byte {
	for k, vs := range s.opts.Header {
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	if s.opts.Jar != nil {
		u := *t.url
		u.Path += suffix
		if cs := s.opts.Jar.Cookies(&u); len(cs) > 0 {
			b = append(b, "Cookie: "...)
			for i, c := range cs {
				if i > 0 {
					b = append(b, "; "...)
				}
				b = append(b, c.Name...)
				b = append(b, '=')
				b = append(b, c.Value...)
			}
			b = append(b, "\r\n"...)
		}
	}
	return b
}

// storeCookies hands a response's Set-Cookie to the jar.
func (s *session) storeCookies(t *target, suffix string, resp *http.Response) {
	if s.opts.Jar == nil || len(resp.Header["Set-Cookie"]) == 0 {
		return
	}
	u := *t.url
	u.Path += suffix
	s.opts.Jar.SetCookies(&u, resp.Cookies())
}

// idAlphabet is sockjs-client's alphabet for session ids and callbacks.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz012345"

func randomString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rand.IntN(len(idAlphabet))]
	}
	return string(b)
}
