package sockjs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/info"
	"github.com/sockjsd/sockjsd/session"
	"github.com/sockjsd/sockjsd/transports"
)

// HandlerFunc is the application: it runs on its own goroutine once per
// session, from the moment the session opens. The session is closed (with
// CodeNormal, unless it was closed already) when the function returns, so
// a typical handler loops on Recv until it fails.
type HandlerFunc func(s *Session)

// Server is a SockJS endpoint: an http.Handler serving every URL under its
// prefix. Create it with New.
//
// When its count of open sessions falls sharply (by 1,000 sessions or
// more, to half its peak or less) a Server returns the memory they held
// to the operating system a second later (debug.FreeOSMemory, at most
// once per 15 s in the process), instead of leaving the process at its
// peak size for minutes.
type Server struct {
	prefix     string
	wildcards  bool // prefix has {name} segments (an http.ServeMux pattern)
	handler    HandlerFunc
	opts       Options // defaults applied
	origins    originPolicy
	registry   *session.Registry
	limits     session.Limits
	transports map[string]transports.Transport
	raw        transports.Transport // nil when disabled
	info       info.Info
	iframe     iframeCache
	script     *info.Static
	work       tracker // every ServeHTTP call and application handler
	mem        *memoryRelease
	stop       chan struct{} // closed by Shutdown: ends a pending memory release
	stopOnce   sync.Once
}

// New returns a Server for the SockJS endpoint at prefix (such as "/echo"),
// calling h for each session. The Server handles every URL starting with
// prefix and strips the prefix itself, so mount it at the same path: with
// chi, r.Mount("/echo", srv); with http.ServeMux, mux.Handle("/echo/", srv)
// and mux.Handle("/echo", srv).
//
// The prefix may hold http.ServeMux wildcards, one path segment each
// ("/rooms/{room}/chat", mounted at mux.Handle("/rooms/{room}/chat/", srv)),
// whose values the application reads with s.Request().PathValue("room").
//
// An empty prefix means the Server is mounted by a router that says where:
// chi's Mount (the way under a chi route with URL parameters, such as
// /rooms/{room}/chat, read with chi.URLParam), an http.ServeMux pattern,
// or http.StripPrefix.
//
// A nil opts means every default. New panics on a malformed
// AllowedOrigins pattern, or on a prefix with a multi-segment
// "{name...}" wildcard, which would leave no way to tell where the SockJS
// paths begin.
func New(prefix string, h HandlerFunc, opts *Options) *Server {
	o := opts.withDefaults()
	prefix = strings.TrimSuffix(prefix, "/")
	if strings.Contains(prefix, "...}") {
		panic(fmt.Sprintf("sockjs: prefix %q: a {name...} wildcard cannot lead SockJS paths; use one-segment wildcards", prefix))
	}
	s := &Server{
		prefix:    prefix,
		wildcards: strings.Contains(prefix, "{"),
		handler:   h,
		opts:      o,
		origins:   newOriginPolicy(o.AllowedOrigins),
		registry:  session.NewRegistry(),
		limits: session.Limits{
			SendQueueBytes:    o.SendQueueBytes,
			SendQueueMessages: o.SendQueueMessages,
			SendTimeout:       o.SendTimeout,
			RecvQueue:         o.RecvQueue,
			RecvTimeout:       o.RecvTimeout,
			DisconnectDelay:   o.DisconnectDelay,
		},
		info:   info.Info{Websocket: !o.DisableWebsocket, CookieNeeded: o.JSessionID},
		script: info.NewClientScript(),
		mem:    newMemoryRelease(),
		stop:   make(chan struct{}),
	}
	cfg := &transports.Config{
		Heartbeat:      o.Heartbeat,
		PongTimeout:    o.PongTimeout,
		ResponseLimit:  o.ResponseLimit,
		WriteTimeout:   o.WriteTimeout,
		MaxSendBody:    o.MaxSendBody,
		MaxMessageSize: o.MaxMessageSize,
		CheckOrigin:    s.origins.allows,
		Sessions:       sessions{s},
		Observer:       o.Metrics,
		Logger:         o.Logger,
	}
	if o.Heartbeat >= heartbeatWarnAt {
		o.Logger.Warn("sockjs: a heartbeat this long lets proxies cut idle connections: most close them after 60 s without traffic",
			"prefix", prefix, "heartbeat", o.Heartbeat)
	}
	s.transports = transports.Set(cfg, !o.DisableWebsocket)
	if !o.DisableWebsocket && !o.DisableRawWebsocket {
		s.raw = transports.RawWebsocket(cfg)
	}
	return s
}

// heartbeatWarnAt is the heartbeat at which New warns: nginx's
// proxy_read_timeout and haproxy's usual server timeout are 60 s, and a
// connection idle that long is cut.
const heartbeatWarnAt = 60 * time.Second

// ServeHTTP routes a request under the prefix: the greeting, /info, the
// iframe page, the sockjs-client script, /websocket and the session URLs
// /<server>/<session>/<transport>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.work.add()
	defer s.work.done()
	rest, ok := s.relativePath(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "", "/":
		if allowMethod(w, r, "GET, HEAD") {
			info.Greeting(w, r)
		}
		return
	case "/info":
		if !s.checkOrigin(w, r) {
			return
		}
		setCORS(w, r)
		if r.Method == http.MethodOptions {
			preflight(w, r, "OPTIONS, GET")
		} else if allowMethod(w, r, "OPTIONS, GET") {
			s.info.ServeHTTP(w, r)
		}
		return
	case "/websocket":
		if s.raw == nil {
			http.NotFound(w, r)
		} else if allowMethod(w, r, s.raw.Allow()) && s.checkOrigin(w, r) {
			s.raw.Serve(w, r, "")
		}
		return
	case "/" + info.ClientScriptName:
		if allowMethod(w, r, "GET, HEAD") {
			s.script.ServeHTTP(w, r)
		}
		return
	}
	if isIframePath(rest) {
		if !s.origins.any {
			// The iframe transports' requests come from the server's own
			// origin, so no origin check could stop them: turn them off.
			s.refuse(w, r, "origin", "Iframe transports are disabled: origins are restricted.", http.StatusForbidden)
		} else if allowMethod(w, r, "GET, HEAD") {
			s.iframe.get(s.sockjsURL(r, rest)).ServeHTTP(w, r)
		}
		return
	}
	sessionID, name, ok := parseSessionPath(rest)
	t := s.transports[name]
	if !ok || t == nil {
		http.NotFound(w, r)
		return
	}
	allow := t.Allow()
	if !allowMethod(w, r, allow) || !s.checkOrigin(w, r) {
		return
	}
	if name != "websocket" {
		setCORS(w, r)
		if r.Method == http.MethodOptions {
			preflight(w, r, allow)
			return
		}
		w.Header()["Cache-Control"] = noCacheHeader
		if s.opts.JSessionID {
			s.setJSessionID(w, r)
		}
	}
	t.Serve(w, r, sessionID)
}

// sockjsURL is the sockjs-client URL of the iframe page: the configured
// one, or the copy this Server serves under its actual mount point.
func (s *Server) sockjsURL(r *http.Request, rest string) string {
	if s.opts.SockJSURL != "" {
		return s.opts.SockJSURL
	}
	// RequestURI still has the path a prefix-stripping router removed.
	path := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		path = u.Path
	}
	mount, _ := strings.CutSuffix(path, rest)
	return mount + "/" + info.ClientScriptName
}

// iframeCache keeps the iframe page for the last sockjs-client URL: a
// Server is nearly always reached under one mount point.
type iframeCache struct{ last atomic.Pointer[info.Static] }

func (c *iframeCache) get(sockjsURL string) *info.Static {
	if p := c.last.Load(); p != nil && p.Source == sockjsURL {
		return p
	}
	p := info.NewIframe(sockjsURL)
	c.last.Store(p)
	return p
}

// maxIDLen bounds server and session ids. sockjs-client sends 3 and 8
// characters; a custom sessionId option may choose longer ones, but no
// client needs kilobytes, and every open session keeps its id.
const maxIDLen = 128

// parseSessionPath splits "/<server>/<session>/<transport>". Server and
// session ids must be non-empty, at most maxIDLen bytes and contain no
// dot; the server id only routes requests in load balancers and is
// otherwise ignored.
func parseSessionPath(p string) (sessionID, transport string, ok bool) {
	p, ok = strings.CutPrefix(p, "/")
	if !ok {
		return "", "", false
	}
	serverID, p, ok1 := strings.Cut(p, "/")
	sessionID, transport, ok2 := strings.Cut(p, "/")
	if !ok1 || !ok2 || !validID(serverID) || !validID(sessionID) || strings.Contains(transport, "/") {
		return "", "", false
	}
	return sessionID, transport, true
}

func validID(id string) bool {
	return id != "" && len(id) <= maxIDLen && !strings.Contains(id, ".")
}

// isIframePath reports whether p is /iframe.html or /iframe-<version>.html.
func isIframePath(p string) bool {
	if p == "/iframe.html" {
		return true
	}
	v, ok := strings.CutPrefix(p, "/iframe-")
	if !ok {
		return false
	}
	v, ok = strings.CutSuffix(v, ".html")
	return ok && !strings.Contains(v, "/")
}

// allowMethod answers 405, with no body and no Content-Type as the
// protocol wants, when r's method is not in allow ("GET, HEAD").
func allowMethod(w http.ResponseWriter, r *http.Request, allow string) bool {
	for rest := allow; rest != ""; {
		var m string
		m, rest, _ = strings.Cut(rest, ", ")
		if m == r.Method {
			return true
		}
	}
	w.Header().Set("Allow", allow)
	w.WriteHeader(http.StatusMethodNotAllowed)
	return false
}

func (s *Server) checkOrigin(w http.ResponseWriter, r *http.Request) bool {
	if s.origins.allows(r) {
		return true
	}
	s.refuse(w, r, "origin", "Origin not allowed.", http.StatusForbidden)
	return false
}

// refuse counts, logs (at info: it is the client's doing) and answers a
// refused request.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, reason, msg string, code int) {
	s.opts.Metrics.Refused(reason)
	s.opts.Logger.Info("sockjs: request refused", "reason", reason, "origin", r.Header.Get("Origin"),
		"path", r.URL.Path, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg))
}

// setJSessionID sets the JSESSIONID cookie load balancers use for sticky
// sessions, keeping the client's value if it sent one. Over HTTPS the
// cookie is SameSite=None and Secure: without that it is a third-party
// cookie to a cross-origin page, which current browsers do not send back.
func (s *Server) setJSessionID(w http.ResponseWriter, r *http.Request) {
	c := &http.Cookie{Name: "JSESSIONID", Value: "dummy", Path: "/"}
	if old, err := r.Cookie("JSESSIONID"); err == nil && old.Value != "" {
		c.Value = old.Value
	}
	if isHTTPS(r, s.opts.TrustedProxies) {
		c.Secure, c.SameSite = true, http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// Shutdown closes every session with CodeGoingAway ("Server shutting
// down"), which ends long polls, streams and websockets after their close
// frame, refuses new sessions, and waits for every request under way and
// every handler to return, or for ctx to be done. Call it before
// http.Server.Shutdown, which neither ends long polls nor waits for
// websockets.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	for _, ss := range s.registry.Close() {
		_ = ss.Close(CodeGoingAway, "Server shutting down")
		ss.Stop()
		s.registry.Remove(ss)
	}
	return s.work.wait(ctx)
}

// sessions implements transports.Sessions for s.
type sessions struct{ s *Server }

func (x sessions) key(r *http.Request) string {
	if x.s.opts.SessionKey != nil {
		return x.s.opts.SessionKey(r)
	}
	return ClientIP(r, x.s.opts.TrustedProxies)
}

func (x sessions) Lookup(r *http.Request, id string) *session.Session {
	ss := x.s.registry.Get(id)
	if ss == nil || ss.Owner() != x.key(r) {
		return nil
	}
	return ss
}

func (x sessions) OpenHTTP(r *http.Request, id, transport string) (*session.Session, error) {
	key := x.key(r)
	if ss := x.s.registry.Get(id); ss != nil {
		if ss.Owner() != key {
			return nil, transports.ErrNotYours
		}
		return ss, nil
	}
	// A new session: authenticate (application code, so no lock held)
	// and, if refused, refuse the session before anyone can see it, so
	// that this and every later request for it get its close frame.
	ident, refusal := x.s.authenticate(r)
	fresh := session.New(id, key, x.s.limits, x.s.registry.Remove)
	if refusal != nil {
		refuseSession(fresh, refusal)
	}
	ss, created := x.s.registry.GetOrCreate(id, x.s.opts.MaxSessions, func() *session.Session { return fresh })
	if !created {
		fresh.Stop() // another request opened it first, or none may open
	}
	switch {
	case ss == nil && x.s.registry.Closed():
		return nil, transports.ErrShuttingDown
	case ss == nil:
		return nil, transports.ErrSessionLimit
	case !created && ss.Owner() != key:
		return nil, transports.ErrNotYours
	case created && refusal == nil:
		x.s.start(ss, r, transport, ident)
	}
	return ss, nil
}

func (x sessions) OpenWebsocket(r *http.Request, id, transport string) (*session.Session, error) {
	ident, refusal := x.s.authenticate(r)
	ss := session.New(id, "", x.s.limits, nil)
	if refusal != nil {
		// Served like any session, its one frame the close frame; not
		// registered, as nothing else may find it.
		refuseSession(ss, refusal)
		return ss, nil
	}
	if !x.s.registry.Add(ss, x.s.opts.MaxSessions) {
		if x.s.registry.Closed() {
			return nil, transports.ErrShuttingDown
		}
		return nil, transports.ErrSessionLimit
	}
	x.s.start(ss, r, transport, ident)
	return ss, nil
}

func (x sessions) End(ss *session.Session) { x.s.registry.Remove(ss) }

func (x sessions) Go(f func()) { x.s.goTracked(f) }

// goTracked runs f on a goroutine that Shutdown waits for.
func (s *Server) goTracked(f func()) {
	s.work.add()
	go func() {
		defer s.work.done()
		f()
	}()
}

// start runs the application's handler for a new session.
func (s *Server) start(ss *session.Session, r *http.Request, transport string, id Identity) {
	pub := &Session{s: ss, req: snapshotRequest(r), transport: transport, opened: time.Now(), metrics: s.opts.Metrics, id: id}
	s.opts.Metrics.SessionOpened(transport)
	s.mem.opened()
	log := s.opts.Logger
	remote := r.RemoteAddr // not r itself: the handler outlives the request
	if log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("sockjs: session opened", "session", ss.ID(), "transport", transport, "remote", remote)
	}
	s.goTracked(func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("sockjs: handler panicked", "session", ss.ID(), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				_ = ss.Close(CodeInternalError, "Internal server error")
			}
			_ = ss.Close(CodeNormal, "Normal closure")
			code, reason, _ := ss.CloseStatus()
			lifetime := time.Since(pub.opened)
			s.opts.Metrics.SessionClosed(transport, code, lifetime)
			if s.mem.ended() {
				s.goTracked(func() { s.mem.release(s.stop) })
			}
			if log.Enabled(context.Background(), slog.LevelDebug) {
				log.Debug("sockjs: session closed", "session", ss.ID(), "transport", transport,
					"remote", remote, "code", code, "reason", reason, "duration", lifetime)
			}
		}()
		s.handler(pub)
	})
}

// tracker counts work under way so that Shutdown can wait for it. Unlike
// sync.WaitGroup, it allows add while a wait is in progress.
type tracker struct {
	mu   sync.Mutex // guards n and idle; leaf lock
	n    int
	idle chan struct{} // closed when n drops to zero; nil when nobody waits
}

func (t *tracker) add() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

func (t *tracker) done() {
	t.mu.Lock()
	t.n--
	if t.n == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// wait returns when nothing is under way, or with ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
