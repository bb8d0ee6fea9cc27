package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// testNode is one node of an in-process cluster: a sockjs.Server wrapped
// by a Node, behind its own HTTP server.
type testNode struct {
	node  *Node
	srv   *sockjs.Server
	ts    *httptest.Server
	base  string // the echo service's URL
	hits  atomic.Int64
	dead  bool
	conns *connTracker

	mu      sync.Mutex        // guards remotes
	remotes map[string]string // session id → RemoteAddr of its opening request
}

// echo sends back every message, and closes the session on "bye".
func (tn *testNode) echo(s *sockjs.Session) {
	tn.mu.Lock()
	tn.remotes[s.ID()] = s.Request().RemoteAddr
	tn.mu.Unlock()
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		if msg == "bye" {
			_ = s.Close(3000, "bye")
			return
		}
		_ = s.Send(msg)
	}
}

type clusterOpts struct {
	disconnect    time.Duration
	responseLimit int
}

func newCluster(t testing.TB, e Engine, n int, o clusterOpts) []*testNode {
	t.Helper()
	var nodes []*testNode
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		node, err := New(Config{Engine: e, URL: "http://" + ln.Addr().String(), Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		tracked := &connTracker{Listener: ln, conns: map[net.Conn]bool{}}
		tn := &testNode{node: node, remotes: make(map[string]string), conns: tracked}
		tn.srv = sockjs.New("/echo", tn.echo, &sockjs.Options{
			DisconnectDelay: o.disconnect,
			ResponseLimit:   o.responseLimit,
		})
		h := node.Wrap("echo", tn.srv)
		mux := http.NewServeMux()
		mux.Handle("/echo/", h)
		mux.Handle("/echo", h)
		tn.ts = &httptest.Server{Listener: tracked, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tn.hits.Add(1)
			mux.ServeHTTP(w, r)
		})}}
		tn.ts.Start()
		tn.base = tn.ts.URL + "/echo"
		nodes = append(nodes, tn)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := tn.node.Shutdown(ctx); err != nil && !tn.dead {
				t.Errorf("Shutdown: %v", err)
			}
			tn.ts.CloseClientConnections()
			tn.ts.Close()
		})
	}
	return nodes
}

// kill ends a node as kill -9 would: its connections (hijacked ones
// too) and listener close at once, nothing is released in the engine.
func (tn *testNode) kill() {
	tn.dead = true
	tn.node.abandon()
	tn.ts.Listener.Close()
	tn.ts.CloseClientConnections()
	tn.conns.closeAll()
}

// connTracker is a listener that remembers every connection it accepted,
// for kill: httptest forgets the connections net/http lets go by Hijack.
type connTracker struct {
	net.Listener
	mu    sync.Mutex // guards conns
	conns map[net.Conn]bool
}

func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns[c] = true
		l.mu.Unlock()
	}
	return c, err
}

func (l *connTracker) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		_ = c.Close()
	}
	clear(l.conns)
}

func bases(nodes []*testNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.base)
	}
	return out
}

// Every HTTP transport works with each request of a session on another
// node than the last, on every engine: sends and receivers forwarded to
// the owner, streams re-opened on other nodes (a small response limit)
// relayed as they are written.
func TestRoundRobin(t *testing.T) {
	for _, ec := range engineCases {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.make(t, 3*time.Second)
			nodes := newCluster(t, e, 3, clusterOpts{responseLimit: 300})
			t.Run("clients", func(t *testing.T) {
				for _, rc := range receivers {
					for i := range 2 {
						t.Run(fmt.Sprintf("%s-%d", rc.name, i), func(t *testing.T) {
							t.Parallel()
							c := newRRClient(t, bases(nodes), rc.name)
							c.start()
							if f := c.frame(); f != "o" {
								t.Fatalf("first frame %q", f)
							}
							c.echo(rc.sender, 25)
						})
					}
				}
			})
			for _, n := range nodes {
				if n.hits.Load() == 0 {
					t.Errorf("node %s served nothing", n.base)
				}
			}
		})
	}
}

// poll makes one xhr poll for session id on base and returns its frame.
func poll(t *testing.T, c *http.Client, base, id string) string {
	t.Helper()
	resp, err := c.Post(base+"/000/"+id+"/xhr", "text/plain", nil)
	if err != nil {
		t.Fatalf("poll %s on %s: %v", id, base, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("poll %s on %s: %s %q", id, base, resp.Status, b)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func send(t *testing.T, c *http.Client, base, id, body string) int {
	t.Helper()
	resp, err := c.Post(base+"/000/"+id+"/xhr_send", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("send %s on %s: %v", id, base, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip, so that session binding by IP can tell clients apart.
func clientFrom(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// The owner sees the client's own address on forwarded requests, so
// binding a session to its client's IP holds across nodes.
func TestBindingAcrossNodes(t *testing.T) {
	nodes := newCluster(t, NewMemory(0), 3, clusterOpts{})
	alice, mallory := clientFrom(t, "127.0.0.2"), clientFrom(t, "127.0.0.3")
	if f := poll(t, alice, nodes[0].base, "s1"); f != "o" {
		t.Fatalf("open: %q", f)
	}
	if got := send(t, mallory, nodes[1].base, "s1", `["evil"]`); got != http.StatusNotFound {
		t.Fatalf("another client's send through another node: %d, want 404", got)
	}
	if got := send(t, alice, nodes[2].base, "s1", `["hi"]`); got != http.StatusNoContent {
		t.Fatalf("the client's send through another node: %d, want 204", got)
	}
	if f := poll(t, alice, nodes[1].base, "s1"); f != `a["hi"]` {
		t.Fatalf("poll through another node: %q", f)
	}
	// The application sees the client's address, not the forwarding node's.
	nodes[0].mu.Lock()
	remote := nodes[0].remotes["s1"]
	nodes[0].mu.Unlock()
	if !strings.HasPrefix(remote, "127.0.0.2:") {
		t.Fatalf("session's remote address %q", remote)
	}
	// Opened through a non-owner: the owner still sees the client.
	if _, err := nodes[1].node.cfg.Engine.Claim(context.Background(), "echo:s2", nodes[1].node.ID()); err != nil {
		t.Fatal(err)
	}
	if f := poll(t, alice, nodes[2].base, "s2"); f != "o" {
		t.Fatalf("open through a non-owner: %q", f)
	}
	nodes[1].mu.Lock()
	remote = nodes[1].remotes["s2"]
	nodes[1].mu.Unlock()
	if !strings.HasPrefix(remote, "127.0.0.2:") {
		t.Fatalf("remote address of a session opened through a peer: %q", remote)
	}
}
