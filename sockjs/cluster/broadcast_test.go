package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// broadcastNode is one node of a full cluster: a Node on an engine, a hub
// on a broker of the same kind, and a SockJS server wrapped by the Node
// whose sessions all subscribe to one topic.
type broadcastNode struct {
	node *Node
	hub  *hub.Hub
	base string // the service's URL, "http://127.0.0.1:p/room"
}

// subscribed reports that a session joined the topic on node index node.
type subscribed struct {
	node int
	id   string
}

// broadcastEngine builds the session engine that goes with a hub broker
// kind, on the same server.
func broadcastEngine(t *testing.T, kind string) Engine {
	switch kind {
	case "redis":
		c := redis.NewClient(&redis.Options{Addr: redisAddr(t)})
		t.Cleanup(func() { c.Close() })
		return NewRedis(c, &RedisOptions{Prefix: uniqueName("bc:") + ":"})
	case "nats":
		nc, err := nats.Connect(natsURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewNATS(context.Background(), js, &NATSOptions{Bucket: uniqueName("bc-")})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	t.Fatalf("no engine for %q", kind)
	return nil
}

func newBroadcastNodes(t *testing.T, k brokerKind, e Engine, n int, joined chan<- subscribed) []*broadcastNode {
	t.Helper()
	name := strings.ReplaceAll(uniqueName("bc"), "-", "_")
	var nodes []*broadcastNode
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		node, err := New(Config{Engine: e, URL: "http://" + ln.Addr().String(), Secret: testSecret})
		if err != nil {
			t.Fatal(err)
		}
		h := hub.New(&hub.Options{Broker: k.make(t, name, time.Minute)})
		srv := sockjs.New("/room", func(s *sockjs.Session) {
			if _, err := h.Subscribe(s.Context(), s, "room", nil); err != nil {
				t.Errorf("node %d: subscribe %s: %v", i, s.ID(), err)
				return
			}
			joined <- subscribed{i, s.ID()}
			<-s.Context().Done()
		}, &sockjs.Options{
			// Streams end often, so that receivers are re-opened, and
			// relayed, through every node while messages flow.
			ResponseLimit: 2048,
		})
		wrapped := node.Wrap("room", srv)
		ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: wrapped}}
		ts.Start()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := node.Shutdown(ctx); err != nil {
				t.Errorf("node %d: Shutdown: %v", i, err)
			}
			h.Close()
			ts.CloseClientConnections()
			ts.Close()
		})
		nodes = append(nodes, &broadcastNode{node: node, hub: h, base: ts.URL + "/room"})
	}
	return nodes
}

// wsFrames opens a raw SockJS websocket session on base and returns its
// frames, "o" first, on a channel that closes when the connection ends
// (the test's cleanup closes it).
func wsFrames(t *testing.T, base, id string) <-chan string {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/000/" + id + "/websocket"
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("websocket %s: %v", u, err)
	}
	frames := make(chan string, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(frames)
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(p)
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return frames
}

// A publish on any of three nodes reaches every session exactly once, in
// each publisher's order, whatever its transport and node: on each node a
// session of every transport (websocket, and the HTTP transports with
// every request after the first sent to the next node, round robin, so
// that polls, sends and re-opened streams are relayed through the other
// two), on Redis and on NATS.
func TestBroadcastEveryTransport(t *testing.T) {
	transports := []string{"websocket", "xhr_streaming", "xhr", "eventsource", "htmlfile", "jsonp"}
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			const nodeCount, publishers, each = 3, 2, 40
			joined := make(chan subscribed, nodeCount*len(transports))
			nodes := newBroadcastNodes(t, k, broadcastEngine(t, k.name), nodeCount, joined)
			bases := make([]string, nodeCount)
			for i, n := range nodes {
				bases[i] = n.base
			}

			type client struct {
				name   string // transport@node
				id     string
				frames <-chan string
			}
			var clients []client
			for i := range nodes {
				for _, tr := range transports {
					name := fmt.Sprintf("%s@%d", tr, i)
					if tr == "websocket" {
						id := fmt.Sprintf("ws%d%06x", i, len(clients))
						clients = append(clients, client{name, id, wsFrames(t, bases[i], id)})
						continue
					}
					c := newRRClient(t, bases, tr)
					c.next = i // the first receiver, which claims the session, goes to node i
					c.start()
					clients = append(clients, client{name, c.id, c.frames})
				}
			}
			// The first frame of each is "o"; then every session is
			// subscribed, on the node it was opened on.
			for _, c := range clients {
				if f, err := nextFrame(c.name, c.frames); err != nil || f != "o" {
					t.Fatalf("%s: first frame %q, %v", c.name, f, err)
				}
			}
			owner := map[string]int{}
			perNode := make([]int, nodeCount)
			for range clients {
				select {
				case s := <-joined:
					owner[s.id] = s.node
					perNode[s.node]++
				case <-time.After(10 * time.Second):
					t.Fatalf("%d of %d sessions subscribed", len(owner), len(clients))
				}
			}
			for i, c := range clients {
				if want := i / len(transports); owner[c.id] != want {
					t.Fatalf("%s: session held by node %d", c.name, owner[c.id])
				}
			}

			var wg sync.WaitGroup
			for i, n := range nodes {
				for p := range publishers {
					wg.Go(func() {
						for j := range each {
							if _, err := n.hub.Publish(context.Background(), "room", fmt.Sprintf("n%dp%d %d", i, p, j)); err != nil {
								t.Errorf("publish on node %d: %v", i, err)
								return
							}
						}
					})
				}
			}
			total := nodeCount * publishers * each
			var got sync.WaitGroup
			for _, c := range clients {
				got.Go(func() {
					next := map[string]int{}
					n := 0
					for n < total {
						f, err := nextFrame(c.name, c.frames)
						if err != nil {
							t.Errorf("after %d messages: %v", n, err)
							return
						}
						msgs, err := messages(f)
						if err != nil {
							t.Errorf("%s after %d messages: %v", c.name, n, err)
							return
						}
						for _, m := range msgs {
							var pub string
							var j int
							if _, err := fmt.Sscanf(m, "%s %d", &pub, &j); err != nil {
								t.Errorf("%s: message %q", c.name, m)
								return
							}
							if j != next[pub] {
								t.Errorf("%s: from %s got %d, want %d (lost, repeated or out of order)", c.name, pub, j, next[pub])
								return
							}
							next[pub]++
							n++
						}
					}
					// Nothing more: a duplicate would show here.
					if f, ok := frameWithin(c.frames, 300*time.Millisecond); ok {
						t.Errorf("%s: a frame after every message: %q", c.name, f)
					}
				})
			}
			wg.Wait()
			got.Wait()
			if !t.Failed() {
				t.Logf("%s: %d sessions (%d transports on each of %d nodes, held %v) each got the %d messages of %d publishers exactly once, in order",
					k.name, len(clients), len(transports), nodeCount, perNode, total, nodeCount*publishers)
			}
		})
	}
}

// nextFrame returns the next frame other than a heartbeat, or an error
// if none comes within 20 s (a hang guard) or the receiver ended.
func nextFrame(name string, frames <-chan string) (string, error) {
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case f, ok := <-frames:
			switch {
			case !ok:
				return "", fmt.Errorf("%s: the receiver ended", name)
			case f == "h":
				continue
			case strings.HasPrefix(f, "error: "):
				return "", fmt.Errorf("%s: %s", name, f)
			}
			return f, nil
		case <-timeout.C:
			return "", fmt.Errorf("%s: no frame within 20 s", name)
		}
	}
}

// frameWithin returns a frame other than a heartbeat if one comes within d.
func frameWithin(frames <-chan string, d time.Duration) (string, bool) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				return "", false
			}
			if f == "h" {
				continue
			}
			return f, true
		case <-timeout.C:
			return "", false
		}
	}
}
