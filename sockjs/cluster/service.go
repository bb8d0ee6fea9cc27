package cluster

import (
	"context"
	"errors"
	"net/http"
	"net/http/httputil"
	"strings"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// service is the handler Wrap returns for one Server.
type service struct {
	n    *Node
	name string
	srv  *sockjs.Server
}

// route says what a session URL's transport needs from the cluster.
type route uint8

const (
	routeLocal    route = iota // served where it lands (websocket, unknown names)
	routeReceiver              // may open the session: claims it
	routeSender                // needs the session to exist
)

// transportRoutes lists the session URL transports that go to the owner,
// with the method of a request that may open a session.
var transportRoutes = map[string]struct {
	route  route
	method string
}{
	"xhr":           {routeReceiver, http.MethodPost},
	"xhr_streaming": {routeReceiver, http.MethodPost},
	"eventsource":   {routeReceiver, http.MethodGet},
	"htmlfile":      {routeReceiver, http.MethodGet},
	"jsonp":         {routeReceiver, http.MethodGet},
	"xhr_send":      {routeSender, http.MethodPost},
	"jsonp_send":    {routeSender, http.MethodPost},
}

// streaming names the receivers whose response lasts.
var streaming = map[string]bool{"xhr_streaming": true, "eventsource": true, "htmlfile": true}

// sessionPath finds the session id and transport at the end of a path:
// .../<server>/<session>/<transport>, with ids as package sockjs accepts
// them. A path that only looks like one (under a prefix of two or more
// segments) is routed like one, and the Server answers it 404 wherever it
// lands.
func sessionPath(p string) (id, transport string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	transport, p = p[i+1:], p[:i]
	i = strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	id, p = p[i+1:], p[:i]
	i = strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	server := p[i+1:]
	if !validID(server) || !validID(id) {
		return "", "", false
	}
	return id, transport, true
}

// validID is package sockjs's rule for server and session ids.
func validID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.Contains(id, ".")
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if carriesForwarding(r.Header) {
		fr, err := s.n.verify(r, time.Now())
		if err != nil {
			s.n.log.Info("sockjs/cluster: forwarded request refused", "err", err, "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		s.serveForwarded(w, fr)
		return
	}
	id, transport, ok := sessionPath(r.URL.Path)
	rt := transportRoutes[transport]
	if !ok || rt.route == routeLocal || r.Method == http.MethodOptions {
		s.srv.ServeHTTP(w, r)
		return
	}
	key := s.name + ":" + id
	if s.n.enter(key) {
		defer s.n.leave(key)
		s.srv.ServeHTTP(w, r)
		return
	}
	owner, err := s.n.cfg.Engine.Owner(r.Context(), key)
	if err == nil && owner == "" && rt.route == routeReceiver && r.Method == rt.method && !s.n.isClosing() {
		owner, err = s.n.cfg.Engine.Claim(r.Context(), key, s.n.self)
	}
	switch {
	case err != nil:
		s.n.log.Error("sockjs/cluster: engine unreachable", "err", err)
		http.Error(w, "Session registry unavailable.", http.StatusServiceUnavailable)
	case owner == s.n.self:
		if !s.n.adopt(r.Context(), key, s.srv, id) {
			s.srv.ServeHTTP(w, r) // shutting down: the Server refuses it
			return
		}
		defer s.n.leave(key)
		s.srv.ServeHTTP(w, r)
	case owner == "":
		s.srv.ServeHTTP(w, r) // a sender for no session: 404 from the Server
	default:
		s.forward(w, r, key, owner, transport)
	}
}

// serveForwarded serves a request a peer forwarded, believing what its
// signature vouches for. A forwarded request is never forwarded again:
// when this node does not hold the session and cannot claim it, the peer
// is told it was misdirected.
func (s *service) serveForwarded(w http.ResponseWriter, r *http.Request) {
	id, transport, ok := sessionPath(r.URL.Path)
	rt := transportRoutes[transport]
	if !ok || rt.route == routeLocal {
		s.srv.ServeHTTP(w, r)
		return
	}
	key := s.name + ":" + id
	if s.n.enter(key) {
		defer s.n.leave(key)
		s.srv.ServeHTTP(w, r)
		return
	}
	if rt.route == routeReceiver && r.Method == rt.method && !s.n.isClosing() {
		owner, err := s.n.cfg.Engine.Claim(r.Context(), key, s.n.self)
		if err == nil && owner == s.n.self && s.n.adopt(r.Context(), key, s.srv, id) {
			defer s.n.leave(key)
			s.srv.ServeHTTP(w, r)
			return
		}
		w.Header().Set(misdirectedHeader, "1")
		http.Error(w, "Session not held here.", http.StatusMisdirectedRequest)
		return
	}
	s.srv.ServeHTTP(w, r) // a sender for a session not here: 404
}

func (n *Node) isClosing() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closing
}

// forwarding is what the proxy's hooks need to know of one request.
type forwarding struct {
	key, owner, transport string
	target                string // the owner's base URL
}

type forwardingKey struct{}

// forward relays r to the session's owner and its answer back, streamed
// as the owner writes it.
func (s *service) forward(w http.ResponseWriter, r *http.Request, key, owner, transport string) {
	f := &forwarding{key: key, owner: owner, transport: transport, target: ownerURL(owner)}
	r = r.WithContext(context.WithValue(r.Context(), forwardingKey{}, f))
	if streaming[transport] && s.n.canRelayStream() {
		s.n.relayStream(w, r) // chunk by chunk, see stream.go
		return
	}
	s.n.proxy.ServeHTTP(w, r)
}

// rewrite builds the request to the owner: same method, request target,
// Host, headers and body, plus the signed forwarding headers.
func (n *Node) rewrite(pr *httputil.ProxyRequest) {
	f := pr.In.Context().Value(forwardingKey{}).(*forwarding)
	target := f.target + requestTarget(pr.In)
	u, err := pr.Out.URL.Parse(target)
	if err == nil {
		pr.Out.URL = u
	}
	pr.Out.Host = pr.In.Host
	// ReverseProxy drops these before Rewrite; the owner reads them as
	// the node that received them would have (see sign).
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
		if v := pr.In.Header[h]; v != nil {
			pr.Out.Header[h] = v
		}
	}
	n.sign(pr.Out, pr.In, time.Now())
}

// requestTarget is the path and query the client asked for, before any
// router stripped a prefix from r.URL.
func requestTarget(r *http.Request) string {
	t := r.RequestURI
	if t == "" || !strings.HasPrefix(t, "/") {
		return r.URL.RequestURI()
	}
	return t
}

// misdirectedHeader marks the owner's own 421 answer, as opposed to one
// the application behind it might send.
const misdirectedHeader = "Sockjsd-Misdirected"

var errMisdirected = errors.New("sockjs/cluster: the owner does not hold the session")

func misdirected(resp *http.Response) error {
	if resp.StatusCode == http.StatusMisdirectedRequest && resp.Header.Get(misdirectedHeader) != "" {
		return errMisdirected
	}
	return nil
}

// forwardFailed answers a request the owner could not be asked, or
// disowned. A client that went away needs nothing. Otherwise the session
// is lost: if the owner is out of reach (the usual cause: it died), its
// claim is deleted, unless another node has made it since, so that the
// id is free; the client gets the end of its session.
func (n *Node) forwardFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	f := r.Context().Value(forwardingKey{}).(*forwarding)
	if !errors.Is(err, errMisdirected) {
		n.log.Warn("sockjs/cluster: owner out of reach", "owner", f.owner, "key", f.key, "err", err)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
		_, _ = n.cfg.Engine.Release(ctx, f.key, f.owner)
		cancel()
	}
	n.lost.serve(w, r)
}
