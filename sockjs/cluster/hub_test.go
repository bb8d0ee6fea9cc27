package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// closingBroker is a hub broker of this package.
type closingBroker interface {
	hub.Broker
	Close() error
	abandon() // stop as a killed process would: nothing cleaned up
}

// brokerKind makes brokers of one kind sharing one name (one per node).
type brokerKind struct {
	name string
	make func(t *testing.T, name string, presenceTTL time.Duration) closingBroker
}

func brokerKinds() []brokerKind {
	return []brokerKind{
		{"redis", func(t *testing.T, name string, ttl time.Duration) closingBroker {
			c := redis.NewClient(&redis.Options{Addr: redisAddr(t)})
			b, err := NewRedisHub(context.Background(), c, &HubOptions{Name: name, PresenceTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = b.Close()
				_ = c.Close()
			})
			return b
		}},
		{"nats", func(t *testing.T, name string, ttl time.Duration) closingBroker {
			nc, err := nats.Connect(natsURL(t))
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewNATSHub(context.Background(), nc, &NATSHubOptions{HubOptions: HubOptions{Name: name, PresenceTTL: ttl}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = b.Close()
				nc.Close()
			})
			return b
		}},
	}
}

// hubNode is one node of a test cluster: a hub on a broker and a SockJS
// server whose sessions the test takes hold of (user from ?user=).
type hubNode struct {
	t        *testing.T
	hub      *hub.Hub
	broker   closingBroker
	url      string
	sessions chan *sockjs.Session
}

func newHubNodes(t *testing.T, k brokerKind, n int, ttl time.Duration, history int) []*hubNode {
	name := strings.ReplaceAll(uniqueName("h"), "-", "_")
	var nodes []*hubNode
	for range n {
		hn := &hubNode{t: t, sessions: make(chan *sockjs.Session, 16)}
		hn.broker = k.make(t, name, ttl)
		hn.hub = hub.New(&hub.Options{Broker: hn.broker, History: func(string) hub.HistoryPolicy {
			return hub.HistoryPolicy{Size: history}
		}})
		srv := sockjs.New("/hub", func(s *sockjs.Session) {
			hn.sessions <- s
			<-s.Context().Done()
		}, &sockjs.Options{Authenticate: func(r *http.Request) (sockjs.Identity, error) {
			return sockjs.Identity{User: r.URL.Query().Get("user")}, nil
		}})
		ts := httptest.NewServer(srv)
		hn.url = "ws" + strings.TrimPrefix(ts.URL, "http") + "/hub/websocket"
		t.Cleanup(func() {
			hn.hub.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			ts.Close()
		})
		nodes = append(nodes, hn)
	}
	return nodes
}

// dial opens a raw websocket session of user and returns both ends.
func (hn *hubNode) dial(user string) (*sockjs.Session, *websocket.Conn) {
	hn.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(hn.url+"?user="+user, nil)
	if err != nil {
		hn.t.Fatal(err)
	}
	hn.t.Cleanup(func() { c.Close() })
	select {
	case s := <-hn.sessions:
		return s, c
	case <-time.After(5 * time.Second):
		hn.t.Fatal("no session")
		return nil, nil
	}
}

func readMsg(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(p)
}

// A publish on any of three nodes reaches every subscriber on every node
// exactly once, each publisher's messages in the order it sent them.
func TestHubBroadcastExactlyOnce(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			nodes := newHubNodes(t, k, 3, time.Second, 0)
			const perNode, publishers = 2, 3
			const each = 200
			var conns []*websocket.Conn
			for _, hn := range nodes {
				for range perNode {
					s, c := hn.dial("u")
					if _, err := hn.hub.Subscribe(context.Background(), s, "room", nil); err != nil {
						t.Fatal(err)
					}
					conns = append(conns, c)
				}
			}
			var wg sync.WaitGroup
			for i, hn := range nodes {
				for p := range publishers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for j := range each {
							if _, err := hn.hub.Publish(context.Background(), "room", fmt.Sprintf("n%dp%d %d", i, p, j)); err != nil {
								t.Error(err)
								return
							}
						}
					}()
				}
			}
			total := len(nodes) * publishers * each
			var got sync.WaitGroup
			for ci, c := range conns {
				got.Add(1)
				go func() {
					defer got.Done()
					next := map[string]int{}
					for range total {
						_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
						_, p, err := c.ReadMessage()
						if err != nil {
							t.Errorf("subscriber %d after %d messages: %v", ci, sumMap(next), err)
							return
						}
						var pub string
						var j int
						if _, err := fmt.Sscanf(string(p), "%s %d", &pub, &j); err != nil {
							t.Errorf("subscriber %d: %q", ci, p)
							return
						}
						if j != next[pub] {
							t.Errorf("subscriber %d: from %s got %d, want %d (lost, repeated or out of order)", ci, pub, j, next[pub])
							return
						}
						next[pub]++
					}
					// Nothing more: a duplicate would show here.
					_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
					if _, p, err := c.ReadMessage(); err == nil {
						t.Errorf("subscriber %d: an extra message %q", ci, p)
					}
				}()
			}
			wg.Wait()
			got.Wait()
			if t.Failed() {
				return
			}
			t.Logf("%s: %d subscribers on 3 nodes each got %d messages from %d publishers exactly once, in order",
				k.name, len(conns), total, len(nodes)*publishers)
		})
	}
}

func sumMap(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// SendToUser and CloseUser on one node reach the user's sessions on the
// others, and no one else's.
func TestHubUserAcrossNodes(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			nodes := newHubNodes(t, k, 3, time.Second, 0)
			var alice []*websocket.Conn
			for _, i := range []int{0, 2} {
				s, c := nodes[i].dial("alice")
				if err := nodes[i].hub.Add(context.Background(), s); err != nil {
					t.Fatal(err)
				}
				alice = append(alice, c)
			}
			sb, bob := nodes[1].dial("bob")
			if err := nodes[1].hub.Add(context.Background(), sb); err != nil {
				t.Fatal(err)
			}
			if err := nodes[1].hub.SendToUser(context.Background(), "alice", "hi alice"); err != nil {
				t.Fatal(err)
			}
			for i, c := range alice {
				if got := readMsg(t, c); got != "hi alice" {
					t.Fatalf("alice's session %d: %q", i, got)
				}
			}
			if err := nodes[0].hub.CloseUser(context.Background(), "alice", 4001, "logged out"); err != nil {
				t.Fatal(err)
			}
			for i, c := range alice {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _, err := c.ReadMessage()
				if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 4001 {
					t.Fatalf("alice's session %d: %v, want close 4001", i, err)
				}
			}
			_ = bob.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, p, err := bob.ReadMessage(); err == nil {
				t.Fatalf("bob got %q", p)
			}
		})
	}
}

// Presence counts the sessions of every node; those of a node that dies
// (stops refreshing, cleans nothing up) are gone within PresenceTTL.
func TestHubPresenceExpiry(t *testing.T) {
	const ttl = 900 * time.Millisecond
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			nodes := newHubNodes(t, k, 2, ttl, 0)
			for i, user := range []string{"ann", "ann", "ben"} {
				hn := nodes[i%2]
				s, _ := hn.dial(user)
				if _, err := hn.hub.Subscribe(context.Background(), s, "room", nil); err != nil {
					t.Fatal(err)
				}
			}
			want := []hub.Member{{User: "ann", Sessions: 2}, {User: "ben", Sessions: 1}}
			got, err := nodes[1].hub.Presence(context.Background(), "room")
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("presence: %v %v, want %v", got, err, want)
			}
			// Past two refreshes, node 0's entries are still there.
			time.Sleep(ttl)
			if got, _ := nodes[1].hub.Presence(context.Background(), "room"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("presence after %v: %v, want %v", ttl, got, want)
			}
			nodes[0].broker.abandon()
			died := time.Now()
			want = []hub.Member{{User: "ann", Sessions: 1}}
			for {
				got, err := nodes[1].hub.Presence(context.Background(), "room")
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) == fmt.Sprint(want) {
					break
				}
				if time.Since(died) > ttl+time.Second {
					t.Fatalf("presence %v after the node died: %v, want %v", time.Since(died), got, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("%s: a dead node's presence gone %v after its death (PresenceTTL %v)", k.name, time.Since(died).Round(time.Millisecond), ttl)
		})
	}
}

// History lives in the broker: what a node published is there for a
// subscriber on another node after the first is gone.
func TestHubHistoryOutlivesNode(t *testing.T) {
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			nodes := newHubNodes(t, k, 2, time.Second, 3)
			var pos []hub.Position
			for i := range 5 {
				p, err := nodes[0].hub.Publish(context.Background(), "news", fmt.Sprint("m", i+1))
				if err != nil {
					t.Fatal(err)
				}
				pos = append(pos, p)
			}
			for i, p := range pos {
				if p.Offset != uint64(i+1) || p.Epoch != pos[0].Epoch || p.Epoch == "" {
					t.Fatalf("position %d: %+v", i, p)
				}
			}
			nodes[0].broker.abandon()
			nodes[0].hub.Close()

			fmtPos := &hub.SubscribeOptions{Format: func(m hub.Message) string { return fmt.Sprint(m.Offset, " ", m.Data) }}
			s, c := nodes[1].dial("x")
			o := *fmtPos
			o.Since = &hub.Position{}
			if _, err := nodes[1].hub.Subscribe(context.Background(), s, "news", &o); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"3 m3", "4 m4", "5 m5"} {
				if got := readMsg(t, c); got != w {
					t.Fatalf("history on join: %q, want %q", got, w)
				}
			}
			// Since a position: what followed it; then live messages.
			s2, c2 := nodes[1].dial("y")
			o2 := *fmtPos
			o2.Since = &pos[3]
			if _, err := nodes[1].hub.Subscribe(context.Background(), s2, "news", &o2); err != nil {
				t.Fatal(err)
			}
			if _, err := nodes[1].hub.Publish(context.Background(), "news", "m6"); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"5 m5", "6 m6"} {
				if got := readMsg(t, c2); got != w {
					t.Fatalf("since offset 4: %q, want %q", got, w)
				}
			}
			// Too old, or of another epoch: unrecoverable.
			s3, _ := nodes[1].dial("z")
			for _, since := range []hub.Position{pos[0], {Offset: 5, Epoch: "other"}} {
				o3 := *fmtPos
				o3.Since = &since
				if _, err := nodes[1].hub.Subscribe(context.Background(), s3, "news", &o3); err != hub.ErrUnrecoverable {
					t.Fatalf("since %+v: %v, want ErrUnrecoverable", since, err)
				}
			}
		})
	}
}

// Presence read while every node rewrites its entries (PresenceTTL/3)
// counts each entry once and misses none.
func TestHubPresenceDuringRefresh(t *testing.T) {
	// Long enough that a refresh late on a loaded machine lets no entry
	// expire; short enough for several refreshes during the reads.
	const ttl = 1500 * time.Millisecond
	for _, k := range brokerKinds() {
		t.Run(k.name, func(t *testing.T) {
			nodes := newHubNodes(t, k, 2, ttl, 0)
			var want []hub.Member
			for i := range 8 {
				user := fmt.Sprintf("u%d", i)
				for _, hn := range nodes {
					s, _ := hn.dial(user)
					if _, err := hn.hub.Subscribe(context.Background(), s, "room", nil); err != nil {
						t.Fatal(err)
					}
				}
				want = append(want, hub.Member{User: user, Sessions: 2})
			}
			reads := 0
			for end := time.Now().Add(2 * ttl); time.Now().Before(end); reads++ {
				got, err := nodes[reads%2].hub.Presence(context.Background(), "room")
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: read %d: presence %v, want %v", k.name, reads, got, want)
				}
			}
			t.Logf("%s: %d reads during 2 nodes × 6 refreshes, each right", k.name, reads)
		})
	}
}
