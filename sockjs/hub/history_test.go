package hub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// withPosition sends each message as "offset epoch data".
func withPosition(m hub.Message) string { return fmt.Sprintf("%d %s %s", m.Offset, m.Epoch, m.Data) }

func keep(n int) func(string) hub.HistoryPolicy {
	return func(string) hub.HistoryPolicy { return hub.HistoryPolicy{Size: n} }
}

func TestHistoryOnJoin(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(&hub.Options{History: keep(3)})
	var pos hub.Position
	for i := 1; i <= 5; i++ {
		var err error
		if pos, err = h.Publish(bg, "room", fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
		if pos.Offset != uint64(i) || pos.Epoch == "" {
			t.Fatalf("publish %d: position %+v", i, pos)
		}
	}
	s, c := e.dial("")
	if _, err := h.Subscribe(bg, s, "room", &hub.SubscribeOptions{Since: &hub.Position{}, Format: withPosition}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Publish(bg, "room", "m6"); err != nil {
		t.Fatal(err)
	}
	ep := pos.Epoch
	c.expect("3 "+ep+" m3", "4 "+ep+" m4", "5 "+ep+" m5", "6 "+ep+" m6")
}

func TestRecovery(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(&hub.Options{History: keep(3)})
	// A subscriber keeps the topic's stream, and so its epoch, alive.
	holder, _ := e.dial("")
	if _, err := h.Subscribe(bg, holder, "room", nil); err != nil {
		t.Fatal(err)
	}
	var pos hub.Position
	for i := 1; i <= 5; i++ {
		pos, _ = h.Publish(bg, "room", fmt.Sprint("m", i))
	}
	ep := pos.Epoch
	cases := []struct {
		name  string
		since hub.Position
		want  []string // nil: ErrUnrecoverable
	}{
		{"up to date", hub.Position{5, ep}, []string{}},
		{"missed two", hub.Position{3, ep}, []string{"m4", "m5"}},
		{"missed all kept", hub.Position{2, ep}, []string{"m3", "m4", "m5"}},
		{"missed more than kept", hub.Position{1, ep}, nil},
		{"ahead of the stream", hub.Position{9, ep}, nil},
		{"another epoch", hub.Position{3, "elsewhere"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := e.dial("")
			_, err := h.Subscribe(bg, s, "room", &hub.SubscribeOptions{Since: &tc.since})
			if tc.want == nil {
				if !errors.Is(err, hub.ErrUnrecoverable) {
					t.Fatalf("Subscribe: %v, want ErrUnrecoverable", err)
				}
				if p, _ := h.Presence(bg, "room"); len(p) != 1 || p[0].Sessions != 1 {
					t.Fatalf("a failed recovery subscribed: presence %v", p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.expect(tc.want...)
			_ = h.Unsubscribe(bg, s, "room")
		})
	}
}

// A subscriber recovering while a publisher publishes gets every message
// after its position exactly once, in order.
func TestRecoveryUnderLoad(t *testing.T) {
	e := newEnv(t, nil)
	h := hub.New(&hub.Options{History: keep(10000)})
	first, fc := e.dial("")
	if _, err := h.Subscribe(bg, first, "t", &hub.SubscribeOptions{Format: withPosition}); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= n; i++ {
			if _, err := h.Publish(bg, "t", fmt.Sprint(i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	// Read a part from the first subscriber, then resubscribe another
	// session from where it is, as a client reconnecting would.
	var since hub.Position
	for range n / 3 {
		var off uint64
		var ep, data string
		_, _ = fmt.Sscanf(fc.read(), "%d %s %s", &off, &ep, &data)
		since = hub.Position{Offset: off, Epoch: ep}
	}
	second, sc := e.dial("")
	if _, err := h.Subscribe(bg, second, "t", &hub.SubscribeOptions{Since: &since, Format: withPosition}); err != nil {
		t.Fatal(err)
	}
	for want := since.Offset + 1; want <= n; want++ {
		if got := sc.read(); !strings.HasPrefix(got, fmt.Sprintf("%d %s %d", want, since.Epoch, want)) {
			t.Fatalf("after %d: got %q, want offset %d", since.Offset, got, want)
		}
	}
	wg.Wait()
}

// sink is a Handler that records deliveries.
type sink struct {
	mu   sync.Mutex
	msgs []hub.Message
}

func (s *sink) Deliver(_ context.Context, m hub.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
}
func (s *sink) DeliverUser(context.Context, string, string)    {}
func (s *sink) CloseUser(context.Context, string, int, string) {}

func TestMemoryBrokerTTLAndEpochs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := hub.NewMemoryBroker()
		b.Bind(&sink{})
		policy := hub.HistoryPolicy{Size: 10, TTL: time.Minute}
		p1, _ := b.Publish(bg, "t", "old", policy)
		time.Sleep(40 * time.Second)
		p2, _ := b.Publish(bg, "t", "new", policy)
		if p2.Epoch != p1.Epoch || p2.Offset != 2 {
			t.Fatalf("positions %+v then %+v", p1, p2)
		}
		time.Sleep(30 * time.Second) // "old" is 70 s old, "new" 30 s
		msgs, cur, err := b.History(bg, "t", hub.Position{})
		if err != nil || len(msgs) != 1 || msgs[0].Data != "new" || cur != p2 {
			t.Fatalf("history: %v %+v %v, want only \"new\"", msgs, cur, err)
		}
		if _, _, err := b.History(bg, "t", p1); err != nil {
			t.Errorf("since the first: %v (the second is kept)", err)
		}
		if _, _, err := b.History(bg, "t", hub.Position{0, p1.Epoch}); !errors.Is(err, hub.ErrUnrecoverable) {
			t.Errorf("since the start: %v, want ErrUnrecoverable (the first expired)", err)
		}
		time.Sleep(time.Minute) // everything expired, nobody subscribed: the stream is gone
		if msgs, _, err := b.History(bg, "t", hub.Position{}); err != nil || len(msgs) != 0 {
			t.Fatalf("history after expiry: %v %v", msgs, err)
		}
		if _, _, err := b.History(bg, "t", p2); !errors.Is(err, hub.ErrUnrecoverable) {
			t.Errorf("since the last of a lost stream: %v, want ErrUnrecoverable", err)
		}
		p3, _ := b.Publish(bg, "t", "again", policy)
		if p3.Epoch == p1.Epoch || p3.Offset != 1 {
			t.Errorf("a new stream: %+v, want offset 1 in a new epoch", p3)
		}
	})
}

func TestMemoryBrokerHistorySize(t *testing.T) {
	b := hub.NewMemoryBroker()
	b.Bind(&sink{})
	cases := []struct {
		name  string
		sizes []int // one publish per entry, with that history size
		want  string
	}{
		{"none", []int{0, 0, 0}, ""},
		{"one", []int{1, 1, 1}, "3"},
		{"not full", []int{3, 3}, "1 2"},
		{"wrapped", []int{3, 3, 3, 3, 3, 3, 3}, "5 6 7"},
		{"shrunk", []int{3, 3, 3, 3, 3, 2}, "5 6"},
		{"grown", []int{2, 2, 2, 2, 4, 4}, "3 4 5 6"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i, n := range tc.sizes {
				_, _ = b.Publish(bg, tc.name, fmt.Sprint(i+1), hub.HistoryPolicy{Size: n})
			}
			msgs, _, err := b.History(bg, tc.name, hub.Position{})
			var got []string
			for _, m := range msgs {
				got = append(got, m.Data)
			}
			if err != nil || strings.Join(got, " ") != tc.want {
				t.Errorf("kept %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
