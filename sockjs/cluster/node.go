package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// Config configures a Node. Engine, URL and Secret are required.
type Config struct {
	// Engine is the owner registry every node of the cluster shares:
	// NewRedis, NewNATS, or NewMemory for nodes in one process.
	Engine Engine

	// URL is where this node's peers reach it: scheme, host and port
	// ("http://10.0.0.5:8081"), the same listener that serves clients.
	// Forwarded requests keep their path, so every node must mount the
	// wrapped Servers at the same paths.
	URL string

	// Secret authenticates node-to-node requests (HMAC-SHA256), shared by
	// every node; at least 16 bytes, better 32 random ones. A node believes
	// the client address and protocol a forwarded request carries only
	// when its signature is valid, and refuses (403) any request that
	// carries forwarding headers without one.
	Secret []byte

	// Transport carries forwarded requests to their owner: set one with a
	// TLS client configuration (and URL "https://...") for encrypted or
	// mutually authenticated node-to-node traffic. Nil means plain HTTP
	// with keep-alive connections. Relayed streams use an *http.Transport's
	// dialers and TLSClientConfig directly, to keep the owner's chunks
	// (see stream.go); with another RoundTripper they go through it, their
	// frames intact but chunks possibly merged.
	Transport http.RoundTripper

	// Logger receives the cluster's logs. Nil means none.
	Logger *slog.Logger
}

// Node is one sockjsd process in a cluster. It wraps the node's SockJS
// Servers so that a request for a session reaches the node that holds
// the session, whichever node the load balancer chose. Create it with New;
// it must be ended with Shutdown.
type Node struct {
	cfg     Config
	self    string // this node's owner value: URL "#" a random incarnation id
	secret  []byte
	log     *slog.Logger
	proxy   *httputil.ReverseProxy
	lost    lostAnswer
	refresh time.Duration

	mu       sync.Mutex // guards the fields below; leaf lock
	claims   map[string]*claim
	servers  []*sockjs.Server
	closing  bool
	stopping chan struct{} // closed to end the refresh loop

	loopDone chan struct{} // closed when the refresh loop has ended
}

// claim is what a node knows of a session whose owner it is. Guarded by
// Node.mu. The claim lives while a request for the session is served here
// or the Server holds the session (sockjs.Server.HasSession): between the
// claim and the session's creation, only the first is true.
type claim struct {
	srv      *sockjs.Server
	id       string
	inflight int // requests for the session being served here
}

// New returns a Node and starts the goroutine that keeps its claims
// alive in the engine; Shutdown ends it.
func New(cfg Config) (*Node, error) {
	if cfg.Engine == nil {
		return nil, errors.New("sockjs/cluster: Config.Engine is required")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("sockjs/cluster: Config.Secret must have at least 16 bytes")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("sockjs/cluster: Config.URL %q: want scheme://host:port", cfg.URL)
	}
	if cfg.Transport == nil {
		cfg.Transport = defaultTransport()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var incarnation [8]byte
	_, _ = rand.Read(incarnation[:])
	n := &Node{
		cfg:      cfg,
		self:     u.Scheme + "://" + u.Host + "#" + hex.EncodeToString(incarnation[:]),
		secret:   append([]byte(nil), cfg.Secret...),
		log:      log,
		lost:     newLostAnswer(),
		refresh:  max(cfg.Engine.TTL()/3, time.Millisecond),
		claims:   make(map[string]*claim),
		stopping: make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	n.proxy = &httputil.ReverseProxy{
		Rewrite:        n.rewrite,
		Transport:      cfg.Transport,
		FlushInterval:  -1, // streams and polls go through as written
		ModifyResponse: misdirected,
		ErrorHandler:   n.forwardFailed,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BufferPool:     copyBuffers{},
	}
	go n.keepClaims()
	return n, nil
}

// defaultTransport is for node-to-node requests: no proxy from the
// environment, no compression of its own, and enough idle connections for
// the polls of many sessions at once. No response header timeout: a long
// poll answers only when it has something to say.
func defaultTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// ID returns the value this node writes into the engine for the sessions
// it holds: its URL and an id drawn anew each time a Node is created, so
// that a restarted node does not take its predecessor's claims for its own.
func (n *Node) ID() string { return n.self }

// Wrap returns the handler to mount in srv's place: it serves srv's
// requests here when this node holds the session (or claims it, on the
// first receiving request of a new session), and forwards them to the
// node that does otherwise. name tells apart the Servers of one node
// ("echo", "chat"): it must be the same on every node and hold no colon.
// Websocket, /info, the iframe page, the client script and CORS
// preflights are always served here.
func (n *Node) Wrap(name string, srv *sockjs.Server) http.Handler {
	if name == "" || strings.Contains(name, ":") {
		panic(fmt.Sprintf("sockjs/cluster: Wrap: name %q must be non-empty and hold no colon", name))
	}
	n.mu.Lock()
	n.servers = append(n.servers, srv)
	n.mu.Unlock()
	return &service{n: n, name: name, srv: srv}
}

// Shutdown shuts every wrapped Server down (each session gets its close
// frame, see sockjs.Server.Shutdown), then releases every claim this node
// holds in the engine, so that the sessions' ids are free at once. It
// returns when that is done or ctx is, with the errors met.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		<-n.loopDone
		return nil
	}
	n.closing = true
	servers := n.servers
	close(n.stopping)
	n.mu.Unlock()

	var errs []error
	for _, srv := range servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	<-n.loopDone
	n.mu.Lock()
	keys := make([]string, 0, len(n.claims))
	for k := range n.claims {
		keys = append(keys, k)
	}
	clear(n.claims)
	n.mu.Unlock()
	for _, k := range keys {
		if _, err := n.cfg.Engine.Release(ctx, k, n.self); err != nil {
			errs = append(errs, fmt.Errorf("sockjs/cluster: releasing %q: %w", k, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// abandon stops the node as a crash would: its claims stay in the engine
// until they expire or a peer finds the node gone. For tests.
func (n *Node) abandon() {
	n.mu.Lock()
	if !n.closing {
		n.closing = true
		close(n.stopping)
	}
	n.mu.Unlock()
	<-n.loopDone
}

// enter counts a request for key served here if this node holds the
// session, and reports whether it does. leave must follow.
func (n *Node) enter(key string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.claims[key]
	if c == nil {
		return false
	}
	c.inflight++
	return true
}

// adopt records a claim the engine just granted and counts the request
// that made it; leave must follow. It reports false when the node is
// shutting down (the claim is then released).
func (n *Node) adopt(ctx context.Context, key string, srv *sockjs.Server, id string) bool {
	n.mu.Lock()
	if n.closing {
		n.mu.Unlock()
		_, _ = n.cfg.Engine.Release(context.WithoutCancel(ctx), key, n.self)
		return false
	}
	c := n.claims[key]
	if c == nil {
		c = &claim{srv: srv, id: id}
		n.claims[key] = c
	}
	c.inflight++
	n.mu.Unlock()
	return true
}

func (n *Node) leave(key string) {
	n.mu.Lock()
	if c := n.claims[key]; c != nil {
		c.inflight--
	}
	n.mu.Unlock()
}

// keepClaims refreshes the claims of sessions that live here every TTL/3
// and releases those of sessions gone, until Shutdown.
func (n *Node) keepClaims() {
	defer close(n.loopDone)
	t := time.NewTicker(n.refresh)
	defer t.Stop()
	for {
		select {
		case <-n.stopping:
			return
		case <-t.C:
		}
		n.refreshAll()
	}
}

func (n *Node) refreshAll() {
	var live, idle []string
	n.mu.Lock()
	for k, c := range n.claims {
		// HasSession takes the Server's registry lock, a leaf lock held
		// for a map lookup: no lock order to keep.
		if c.inflight == 0 && !c.srv.HasSession(c.id) {
			idle = append(idle, k)
			delete(n.claims, k)
		} else {
			live = append(live, k)
		}
	}
	n.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), n.refresh)
	defer cancel()
	for _, k := range idle {
		if _, err := n.cfg.Engine.Release(ctx, k, n.self); err != nil {
			n.log.Warn("sockjs/cluster: release failed", "key", k, "err", err)
		}
		// A request that came between the decision and the release found
		// the claim still in the engine and adopted it: claim it again.
		n.mu.Lock()
		_, back := n.claims[k]
		n.mu.Unlock()
		if back {
			live = append(live, k)
		}
	}
	for _, k := range live {
		ok, err := n.cfg.Engine.Refresh(ctx, k, n.self)
		if err != nil {
			n.log.Warn("sockjs/cluster: refresh failed", "key", k, "err", err)
			continue
		}
		if ok {
			continue
		}
		// The claim expired (the engine was out of reach for a TTL) or was
		// taken by a peer that thought this node dead: claim it again, or
		// let the owner the engine names have the session's requests.
		owner, err := n.cfg.Engine.Claim(ctx, k, n.self)
		if err == nil && owner != n.self {
			n.log.Warn("sockjs/cluster: a session held here is claimed by another node", "key", k, "owner", owner)
			n.mu.Lock()
			delete(n.claims, k)
			n.mu.Unlock()
		}
	}
}

// copyBuffers lends the proxy the buffers it copies responses through,
// which it would otherwise allocate (32 KiB) for every request.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (copyBuffers) Get() []byte  { return *copyBufferPool.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put(&b) }

// ownerURL returns the base URL in an owner value.
func ownerURL(owner string) string {
	u, _, _ := strings.Cut(owner, "#")
	return u
}
