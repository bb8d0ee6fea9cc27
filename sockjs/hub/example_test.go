package hub_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// demo is a SockJS server whose sessions the examples take hold of, and
// raw websocket clients of it. A session's user is the "user" query
// parameter of its opening request.
type demo struct {
	ts       *httptest.Server
	srv      *sockjs.Server
	sessions chan *sockjs.Session
	conns    []*websocket.Conn
}

func newDemo() *demo {
	d := &demo{sessions: make(chan *sockjs.Session)}
	d.srv = sockjs.New("/hub", func(s *sockjs.Session) {
		d.sessions <- s
		<-s.Context().Done()
	}, &sockjs.Options{Authenticate: func(r *http.Request) (sockjs.Identity, error) {
		return sockjs.Identity{User: r.URL.Query().Get("user")}, nil
	}})
	d.ts = httptest.NewServer(d.srv)
	return d
}

func (d *demo) close() {
	for _, c := range d.conns {
		c.Close()
	}
	_ = d.srv.Shutdown(context.Background())
	d.ts.Close()
}

// peer is one session and its client.
type peer struct {
	s *sockjs.Session
	c *websocket.Conn
}

func (d *demo) open(user string) peer {
	u := "ws" + strings.TrimPrefix(d.ts.URL, "http") + "/hub/websocket?user=" + user
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		panic(err)
	}
	d.conns = append(d.conns, c)
	return peer{<-d.sessions, c}
}

// read returns the next message p's client receives.
func (p peer) read() string {
	_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := p.c.ReadMessage()
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

func (p peer) leave() {
	_ = p.s.Close(sockjs.CodeNormal, "bye")
	<-p.s.Context().Done()
	p.c.Close()
}

// Two sessions in a room, and one outside it.
func ExampleHub_Subscribe() {
	d := newDemo()
	defer d.close()
	ctx := context.Background()
	h := hub.New(nil)

	ann, bob, cid := d.open("ann"), d.open("bob"), d.open("cid")
	h.Subscribe(ctx, ann.s, "lobby", nil)
	h.Subscribe(ctx, bob.s, "lobby", nil)
	h.Subscribe(ctx, cid.s, "kitchen", nil)

	h.Publish(ctx, "lobby", "ann: hello")
	h.Publish(ctx, "kitchen", "cid: dinner is ready")
	fmt.Println("ann got", ann.read())
	fmt.Println("bob got", bob.read())
	fmt.Println("cid got", cid.read())
	// Output:
	// ann got ann: hello
	// bob got ann: hello
	// cid got cid: dinner is ready
}

// A private message reaches every session (tab) of its user.
func ExampleHub_SendToUser() {
	d := newDemo()
	defer d.close()
	ctx := context.Background()
	h := hub.New(nil)

	tab1, tab2, bob := d.open("ann"), d.open("ann"), d.open("bob")
	for _, p := range []peer{tab1, tab2, bob} {
		h.Add(ctx, p.s) // known to the hub, in no topic
	}
	h.SendToUser(ctx, "ann", "bob: psst")
	fmt.Println("ann's first tab got", tab1.read())
	fmt.Println("ann's second tab got", tab2.read())
	fmt.Println("ann has", len(h.UserSessions("ann")), "sessions")

	h.CloseUser(ctx, "ann", 4000, "logged out")
	fmt.Println("ann's first tab:", tab1.read())
	// Output:
	// ann's first tab got bob: psst
	// ann's second tab got bob: psst
	// ann has 2 sessions
	// ann's first tab: error: websocket: close 4000: logged out
}

// "X joined" and "X left" notices from OnPresence, and who is here.
func ExampleOptions_presence() {
	d := newDemo()
	defer d.close()
	ctx := context.Background()
	var h *hub.Hub
	h = hub.New(&hub.Options{OnPresence: func(e hub.Event) {
		switch {
		case e.Joined && e.Sessions == 1:
			h.Publish(context.Background(), e.Topic, e.User+" joined")
		case !e.Joined && e.Sessions == 0:
			h.Publish(context.Background(), e.Topic, e.User+" left")
		}
	}})

	ann, bob := d.open("ann"), d.open("bob")
	h.Subscribe(ctx, ann.s, "lobby", nil)
	fmt.Println(ann.read())
	h.Subscribe(ctx, bob.s, "lobby", nil)
	fmt.Println(ann.read())
	members, _ := h.Presence(ctx, "lobby")
	fmt.Println("here:", members)
	bob.leave() // its session ends: out of its topics
	fmt.Println(ann.read())
	// Output:
	// ann joined
	// bob joined
	// here: [{ann 1} {bob 1}]
	// bob left
}

// seen plays the client: it reads a message sent withPosition ("offset
// epoch data"), notes its
// position in last, and returns it without the epoch (which is random).
func (p peer) seen(last *hub.Position) string {
	var data string
	fmt.Sscanf(p.read(), "%d %s %s", &last.Offset, &last.Epoch, &data)
	return fmt.Sprintf("#%d %s", last.Offset, data)
}

// History on join, and a client that comes back asking for what it missed
// since the last message it saw.
func ExampleSubscribeOptions_since() {
	d := newDemo()
	defer d.close()
	ctx := context.Background()
	h := hub.New(&hub.Options{History: func(topic string) hub.HistoryPolicy {
		return hub.HistoryPolicy{Size: 100, TTL: time.Minute}
	}})

	var last hub.Position // what the client saw last
	ann := d.open("ann")
	h.Subscribe(ctx, ann.s, "news", &hub.SubscribeOptions{Format: withPosition})
	h.Publish(ctx, "news", "one")
	h.Publish(ctx, "news", "two")
	fmt.Println(ann.seen(&last), "/", ann.seen(&last))
	ann.leave() // ann's connection drops

	h.Publish(ctx, "news", "three") // missed
	h.Publish(ctx, "news", "four")  // missed

	// Back, with the last position seen: what was missed, then live.
	again := d.open("ann")
	h.Subscribe(ctx, again.s, "news", &hub.SubscribeOptions{Since: &last, Format: withPosition})
	h.Publish(ctx, "news", "five")
	fmt.Println(again.seen(&last), "/", again.seen(&last), "/", again.seen(&last))

	// Someone new asks for every message kept: history on join.
	bob := d.open("bob")
	h.Subscribe(ctx, bob.s, "news", &hub.SubscribeOptions{Since: &hub.Position{}})
	fmt.Println("bob got", bob.read(), bob.read(), bob.read(), bob.read(), bob.read())

	// A position of a stream that no longer exists cannot be recovered.
	_, err := h.Subscribe(ctx, bob.s, "news", &hub.SubscribeOptions{Since: &hub.Position{Offset: 2, Epoch: "gone"}})
	fmt.Println(errors.Is(err, hub.ErrUnrecoverable))
	// Output:
	// #1 one / #2 two
	// #3 three / #4 four / #5 five
	// bob got one two three four five
	// true
}
