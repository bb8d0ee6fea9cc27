package hub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

var bg = context.Background()

func TestPublishReachesSubscribersOnly(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(nil)
	a, ac := e.dial("ann")
	b, bc := e.dial("bob")
	c, cc := e.dial("cid")
	for _, s := range []*sockjs.Session{a, b} {
		if _, err := h.Subscribe(bg, s, "room", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Publish(bg, "room", "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Publish(bg, "other", "nobody listens"); err != nil {
		t.Fatal(err)
	}
	ac.expect("hi")
	bc.expect("hi")
	// cid is in no topic: the first message it gets is the one sent to it.
	if err := h.Add(bg, c); err != nil {
		t.Fatal(err)
	}
	if err := h.SendToUser(bg, "cid", "direct"); err != nil {
		t.Fatal(err)
	}
	cc.expect("direct")
}

// Two publishers at once: every subscriber gets every message, each
// publisher's in order, all in one and the same order.
func TestPublishOrder(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(nil)
	const subscribers, publishers, each = 3, 2, 300
	var clients []*client
	for range subscribers {
		s, c := e.dial("")
		if _, err := h.Subscribe(bg, s, "t", nil); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if _, err := h.Publish(bg, "t", fmt.Sprintf("%d:%d", p, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var first []string
	for n, c := range clients {
		got := make([]string, publishers*each)
		next := make([]int, publishers)
		for i := range got {
			got[i] = c.read()
			var p, k int
			if _, err := fmt.Sscanf(got[i], "%d:%d", &p, &k); err != nil || k != next[p] {
				t.Fatalf("subscriber %d, message %d: %q, want %d:%d", n, i, got[i], p, next[p])
			}
			next[p]++
		}
		if first == nil {
			first = got
		} else if !slices.Equal(first, got) {
			t.Fatalf("subscriber %d got another order than subscriber 0", n)
		}
	}
}

func TestSessionLeavesItsTopicsWhenItCloses(t *testing.T) {
	e := newEnv(t, nil)
	var mu sync.Mutex
	var events []string
	h := hub.New(&hub.Options{OnPresence: func(ev hub.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprintf("%s %s %v %d", ev.Topic, ev.User, ev.Joined, ev.Sessions))
	}})
	a, _ := e.dial("ann")
	for _, topic := range []string{"x", "y"} {
		if _, err := h.Subscribe(bg, a, topic, nil); err != nil {
			t.Fatal(err)
		}
	}
	_ = a.Close(sockjs.CodeNormal, "bye")
	eventually(t, "ann to leave", func() bool {
		p, _ := h.Presence(bg, "y")
		u, _ := h.Users(bg)
		return len(p) == 0 && len(u) == 0 && len(h.UserSessions("ann")) == 0
	})
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(events)
	want := []string{"x ann false 0", "x ann true 1", "y ann false 0", "y ann true 1"}
	if !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
}

func TestPresence(t *testing.T) {
	e := newEnv(t, nil)
	var mu sync.Mutex
	var notices []string
	var h *hub.Hub
	h = hub.New(&hub.Options{OnPresence: func(ev hub.Event) {
		// The "X joined" notice: a user's first session in, last out.
		switch {
		case ev.Joined && ev.Sessions == 1:
			_, _ = h.Publish(bg, ev.Topic, ev.User+" joined")
		case !ev.Joined && ev.Sessions == 0:
			_, _ = h.Publish(bg, ev.Topic, ev.User+" left")
		}
		mu.Lock()
		notices = append(notices, fmt.Sprint(ev.User, ev.Joined, ev.Sessions))
		mu.Unlock()
	}})
	watch, wc := e.dial("")
	if _, err := h.Subscribe(bg, watch, "room", nil); err != nil {
		t.Fatal(err)
	}
	wc.expect(" joined") // the anonymous watcher itself
	a1, _ := e.dial("ann")
	a2, _ := e.dial("ann")
	b, _ := e.dial("bob")
	steps := []struct {
		name string
		do   func() error
		want []hub.Member
		msgs []string
	}{
		{"ann's first session", func() error { _, err := h.Subscribe(bg, a1, "room", nil); return err },
			[]hub.Member{{"", 1}, {"ann", 1}}, []string{"ann joined"}},
		{"ann's second session", func() error { _, err := h.Subscribe(bg, a2, "room", nil); return err },
			[]hub.Member{{"", 1}, {"ann", 2}}, nil},
		{"a second subscription of one session counts once", func() error { _, err := h.Subscribe(bg, a2, "room", nil); return err },
			[]hub.Member{{"", 1}, {"ann", 2}}, nil},
		{"bob", func() error { _, err := h.Subscribe(bg, b, "room", nil); return err },
			[]hub.Member{{"", 1}, {"ann", 2}, {"bob", 1}}, []string{"bob joined"}},
		{"ann's first leaves", func() error { return h.Unsubscribe(bg, a1, "room") },
			[]hub.Member{{"", 1}, {"ann", 1}, {"bob", 1}}, nil},
		{"ann's second leaves", func() error { return h.Unsubscribe(bg, a2, "room") },
			[]hub.Member{{"", 1}, {"bob", 1}}, []string{"ann left"}},
		{"leaving twice does nothing", func() error { return h.Unsubscribe(bg, a2, "room") },
			[]hub.Member{{"", 1}, {"bob", 1}}, nil},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		p, err := h.Presence(bg, "room")
		if err != nil || !slices.Equal(p, st.want) {
			t.Fatalf("%s: presence %v, %v; want %v", st.name, p, err, st.want)
		}
		wc.expect(st.msgs...)
	}
	users, _ := h.Users(bg)
	if want := []hub.Member{{"", 1}, {"ann", 2}, {"bob", 1}}; !slices.Equal(users, want) {
		t.Errorf("users %v, want %v", users, want)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(nil)
	a1, ac1 := e.dial("ann")
	a2, ac2 := e.dial("ann")
	b, bc := e.dial("bob")
	for _, s := range []*sockjs.Session{a1, a2, b} {
		if err := h.Add(bg, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Add(bg, a1); err != nil { // twice is once
		t.Fatal(err)
	}
	if n := len(h.UserSessions("ann")); n != 2 {
		t.Fatalf("ann has %d sessions, want 2", n)
	}
	if err := h.SendToUser(bg, "ann", "for ann"); err != nil {
		t.Fatal(err)
	}
	if err := h.SendToUser(bg, "bob", "for bob"); err != nil {
		t.Fatal(err)
	}
	ac1.expect("for ann")
	ac2.expect("for ann")
	bc.expect("for bob")
	if err := h.CloseUser(bg, "ann", 4000, "Logged out"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{ac1, ac2} {
		if code := c.closed(); code != 4000 {
			t.Errorf("ann's session closed with %d, want 4000", code)
		}
	}
	eventually(t, "ann's sessions to go", func() bool { return len(h.UserSessions("ann")) == 0 })
	if _, _, closed := b.CloseStatus(); closed {
		t.Error("bob was closed with ann")
	}
	users, _ := h.Users(bg)
	if want := []hub.Member{{"bob", 1}}; !slices.Equal(users, want) {
		t.Errorf("users %v, want %v", users, want)
	}
}

// A subscription's Format wraps each message for its session; others get
// the data as it is.
func TestFormat(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(nil)
	a, ac := e.dial("")
	b, bc := e.dial("")
	if _, err := h.Subscribe(bg, a, "news", &hub.SubscribeOptions{Format: func(m hub.Message) string {
		return fmt.Sprintf("MESSAGE sub=7 dest=%s offset=%d\n%s", m.Topic, m.Offset, m.Data)
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(bg, b, "news", nil); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"one", "two"} {
		if _, err := h.Publish(bg, "news", m); err != nil {
			t.Fatal(err)
		}
	}
	ac.expect("MESSAGE sub=7 dest=news offset=1\none", "MESSAGE sub=7 dest=news offset=2\ntwo")
	bc.expect("one", "two")
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(nil)
	s, sc := e.dial("ann")
	gone, _ := e.dial("bob")
	_ = gone.Close(sockjs.CodeNormal, "gone")
	long := strings.Repeat("x", hub.MaxTopicLen+1)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"empty topic", pubErr(h, ""), hub.ErrBadTopic},
		{"oversized topic", pubErr(h, long), hub.ErrBadTopic},
		{"control character", pubErr(h, "a\nb"), hub.ErrBadTopic},
		{"not UTF-8", pubErr(h, "a\xffb"), hub.ErrBadTopic},
		{"subscribe to an empty topic", subErr(h, s, ""), hub.ErrBadTopic},
		{"subscribe to an oversized topic", subErr(h, s, long), hub.ErrBadTopic},
		{"unsubscribe from an oversized topic", h.Unsubscribe(bg, s, long), hub.ErrBadTopic},
		{"unsubscribe from an empty topic", h.Unsubscribe(bg, s, ""), hub.ErrBadTopic},
		{"presence of an empty topic", presErr(h, ""), hub.ErrBadTopic},
		{"a closed session", subErr(h, gone, "room"), hub.ErrSessionClosed},
		{"add a closed session", h.Add(bg, gone), hub.ErrSessionClosed},
		{"send to no user", h.SendToUser(bg, "", "x"), hub.ErrNoUser},
		{"close no user", h.CloseUser(bg, "", 4000, "x"), hub.ErrNoUser},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if _, err := h.Publish(bg, strings.Repeat("x", hub.MaxTopicLen), "fits"); err != nil {
		t.Errorf("a topic of MaxTopicLen bytes: %v", err)
	}

	// None of that harmed the hub or the session: a subscription works,
	// and the closed session is in no topic's presence.
	if _, err := h.Subscribe(bg, s, "room", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Publish(bg, "room", "still fine"); err != nil {
		t.Fatal(err)
	}
	sc.expect("still fine")
	if p, _ := h.Presence(bg, "room"); len(p) != 1 || p[0] != (hub.Member{User: "ann", Sessions: 1}) {
		t.Errorf("presence of room: %v, want ann alone", p)
	}

	// After Close, everything fails, and sessions are out of their topics.
	h.Close()
	after := []struct {
		name string
		err  error
	}{
		{"publish", pubErr(h, "room")},
		{"subscribe", subErr(h, s, "room")},
		{"add", h.Add(bg, s)},
		{"send to user", h.SendToUser(bg, "ann", "x")},
		{"close user", h.CloseUser(bg, "ann", 4000, "x")},
	}
	for _, tc := range after {
		if !errors.Is(tc.err, hub.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", tc.name, tc.err)
		}
	}
	if p, _ := h.Presence(bg, "room"); len(p) != 0 {
		t.Errorf("presence after Close: %v", p)
	}
	if _, _, closed := s.CloseStatus(); closed {
		t.Error("Close closed a session")
	}
}

func pubErr(h *hub.Hub, topic string) error { _, err := h.Publish(bg, topic, "x"); return err }

func subErr(h *hub.Hub, s *sockjs.Session, topic string) error {
	_, err := h.Subscribe(bg, s, topic, nil)
	return err
}

func presErr(h *hub.Hub, topic string) error { _, err := h.Presence(bg, topic); return err }

// A subscriber that never reads is closed as a slow client; the publisher
// waits for it only up to SendTimeout, and the others get everything.
func TestStalledSubscriberIsClosed(t *testing.T) {
	e := newEnv(t, &sockjs.Options{SendQueueMessages: 8, SendTimeout: 20e6})
	h := hub.New(nil)
	stalled := e.poller("")
	fast, fc := e.dial("")
	for _, s := range []*sockjs.Session{stalled, fast} {
		if _, err := h.Subscribe(bg, s, "t", nil); err != nil {
			t.Fatal(err)
		}
	}
	const n = 100
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			if _, err := h.Publish(bg, "t", fmt.Sprint(i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range n {
		fc.expect(fmt.Sprint(i))
	}
	<-done
	if code, reason, closed := stalled.CloseStatus(); !closed || code != sockjs.CodeSlowClient {
		t.Errorf("stalled session: %d %q closed=%v, want closed with %d", code, reason, closed, sockjs.CodeSlowClient)
	}
	if _, _, closed := fast.CloseStatus(); closed {
		t.Error("the reading session was closed")
	}
}

// A publisher whose context is done does not wait: a subscriber with no
// room is closed at once.
func TestPublishWithDoneContextDoesNotWait(t *testing.T) {
	e := newEnv(t, &sockjs.Options{SendQueueMessages: 2, SendTimeout: 3600e9})
	h := hub.New(nil)
	stalled := e.poller("")
	if _, err := h.Subscribe(bg, stalled, "t", nil); err != nil {
		t.Fatal(err)
	}
	done, cancel := context.WithCancel(bg)
	cancel()
	for i := range 2 { // fills the queue
		if _, err := h.Publish(bg, "t", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	// A publish with a live context would now wait an hour.
	if _, err := h.Publish(done, "t", "x"); err != nil {
		t.Fatal(err)
	}
	if code, _, closed := stalled.CloseStatus(); !closed || code != sockjs.CodeSlowClient {
		t.Errorf("stalled session: %d closed=%v, want closed as slow", code, closed)
	}
}
