package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// The frames a lease hands out, and which of them is final, in each mode.
// A step acts, then takes one frame; after a final frame the next step's
// frame comes from a new lease in the same mode, as from the client's
// next request.
func TestLeaseNext(t *testing.T) {
	type step struct {
		send      []string // queued before the frame is taken
		close     bool     // Close(3000, "Go away!") before the frame is taken
		heartbeat bool
		want      string // the frame, or "<none>"
		final     bool
	}
	x97 := strings.Repeat("x", 97)
	tests := []struct {
		name  string
		mode  Mode
		steps []step
	}{
		{"polling: every frame final", Polling(), []step{
			{send: []string{"a", "b"}, want: "o", final: true},
			{want: `a["a","b"]`, final: true},
			{want: "<none>"},
			{heartbeat: true, want: "h", final: true},
			{send: []string{"x"}, heartbeat: true, want: `a["x"]`, final: true},
			{close: true, want: `c[3000,"Go away!"]`, final: true},
			{want: `c[3000,"Go away!"]`, final: true},
		}},
		{"connection: only the close final", Connection(), []step{
			{send: []string{"a", "b"}, want: "o"},
			{want: `a["a","b"]`},
			{want: "<none>"},
			{heartbeat: true, want: "h"},
			{send: []string{strings.Repeat("y", 1000)}, want: `a["` + strings.Repeat("y", 1000) + `"]`},
			{send: []string{"m1", "m2"}, close: true, want: `a["m1","m2"]`},
			{want: `c[3000,"Go away!"]`, final: true},
		}},
		{"connection: close before open", Connection(), []step{
			{close: true, want: "o"},
			{want: `c[3000,"Go away!"]`, final: true},
		}},
		{"streaming: the frame that reaches the limit is final", Streaming(100, 0, 0), []step{
			{want: "o"}, // 1, 99 left
			{send: []string{"short"}, want: `a["short"]`}, // 10, 89 left
			{heartbeat: true, want: "h"},                  // 1, 88 left
			// a["xxx…"] of 102 bytes is more than is left.
			{send: []string{x97}, want: `a["` + x97 + `"]`, final: true},
			// The next response has the whole budget again.
			{send: []string{x97[:90]}, want: `a["` + x97[:90] + `"]`}, // 95, 5 left
			{heartbeat: true, want: "h"},                              // 1, 4 left
			{send: []string{""}, want: `a[""]`, final: true},          // 5 reaches the limit
		}},
		{"streaming: exactly the limit is final, one byte less is not", Streaming(12, 0, 0), []step{
			{send: []string{"abcdef"}, want: "o"},           // 1, 11 left
			{want: `a["abcdef"]`, final: true},              // 11: the limit
			{send: []string{"abcdef"}, want: `a["abcdef"]`}, // 11 of 12
			{heartbeat: true, want: "h", final: true},       // 1: the limit
		}},
		{"streaming: a frame counts each message", Streaming(12, 0, 0), []step{
			{want: "o"}, // 1, 11 left
			{send: []string{"a", "b"}, want: `a["a","b"]`}, // 10, 1 left
			{send: []string{"c"}, want: `a["c"]`, final: true},
		}},
		{"streaming: the envelope counts per frame and per message", Streaming(40, 3, 2), []step{
			{want: "o"}, // 1+3, 36 left
			{send: []string{"a", "b"}, want: `a["a","b"]`}, // 10+3+2*2, 19 left
			{heartbeat: true, want: "h"},                   // 1+3, 15 left
			{send: []string{"abc"}, want: `a["abc"]`},      // 8+3+2, 2 left
			{heartbeat: true, want: "h", final: true},
		}},
		{"streaming: close final whatever the budget", Streaming(1<<20, 0, 0), []step{
			{want: "o"},
			{send: []string{"m"}, close: true, want: `a["m"]`},
			{heartbeat: true, want: `c[3000,"Go away!"]`, final: true},
		}},
		{"streaming: no budget, every frame final", Streaming(0, 0, 0), []step{
			{want: "o", final: true},
			{heartbeat: true, want: "h", final: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New("id", "", testLimits(), nil)
			l := attach(t, s, tt.mode)
			for i, st := range tt.steps {
				for _, m := range st.send {
					if err := s.Send(m); err != nil {
						t.Fatalf("step %d: Send: %v", i, err)
					}
				}
				if st.close {
					_ = s.Close(3000, "Go away!")
				}
				var b Batch
				if err := l.Next(&b, st.heartbeat); err != nil {
					t.Fatalf("step %d: Next: %v", i, err)
				}
				if got := frameString(&b); got != st.want || b.Final != st.final {
					t.Fatalf("step %d: Next = %s final=%v, want %s final=%v", i, got, b.Final, st.want, st.final)
				}
				// A final frame released the lease in the same call; any
				// other leaves it held. The next request's lease serves the
				// next step.
				var after Lease
				err := s.Attach(context.Background(), &after, tt.mode, 0, nil)
				if st.final != (err == nil) {
					t.Fatalf("step %d: final=%v, but Attach after it: %v", i, st.final, err)
				}
				if st.final {
					if err := l.Next(&b, true); !errors.Is(err, ErrLeaseEnded) {
						t.Fatalf("step %d: Next after the final frame: %v, want ErrLeaseEnded", i, err)
					}
					l.Done(false) // does nothing to the lease held now
					l = after
				}
			}
		})
	}
}

// Done, in every state a receiver can call it in, and again.
func TestLeaseDone(t *testing.T) {
	tests := []struct {
		name        string
		final       string // "" none taken, "o" or "a" for the final frame taken first
		interrupted bool
		wantCode    int // the session's close code after Done, 0 for open
	}{
		{"held, response over", "", false, 0},
		{"held, client gone", "", true, closecode.Interrupted},
		{"after the final open frame", "o", false, 0},
		{"after the final open frame, write failed", "o", true, 0},
		{"after final messages", "a", false, 0},
		{"after final messages, write failed: they are lost", "a", true, closecode.Interrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var idle idleCounter
				s := New("id", "", testLimits(), idle.onIdle)
				if tt.final == "a" {
					poll(t, s)
					_ = s.Send("m")
				}
				l := attach(t, s, Polling())
				if tt.final != "" {
					if b := next(t, &l, false); !b.Final || frameString(&b)[:1] != tt.final {
						t.Fatalf("got %s final=%v", frameString(&b), b.Final)
					}
				}
				// The disconnect delay counts from Done.
				time.Sleep(testDelay - time.Second)
				l.Done(tt.interrupted)
				l.Done(false) // again: nothing
				l.Done(true)  // nor this
				if tt.wantCode == 0 {
					wantOpen(t, s)
				} else {
					wantStatus(t, s, tt.wantCode, "Connection interrupted")
				}
				if err := l.Next(new(Batch), false); !errors.Is(err, ErrLeaseEnded) {
					t.Fatalf("Next after Done: %v, want ErrLeaseEnded", err)
				}
				// Whoever comes next finds the lease free.
				later := attach(t, s, Polling())
				later.Done(false)
				time.Sleep(testDelay - time.Millisecond)
				synctest.Wait()
				if idle.n.Load() != 0 {
					t.Fatal("forgotten before the delay counted from Done")
				}
				time.Sleep(2 * time.Millisecond)
				synctest.Wait()
				if idle.n.Load() != 1 {
					t.Fatalf("onIdle called %d times, want 1", idle.n.Load())
				}
			})
		})
	}
}

// One receiver at a time: a second is refused, and a lease that no
// longer holds cannot take frames from, release or close for the one that
// holds now.
func TestLeaseConflict(t *testing.T) {
	s := New("id", "", testLimits(), nil)
	ctx := context.Background()
	first := attach(t, s, Streaming(1000, 0, 0))
	if err := s.Attach(ctx, new(Lease), Connection(), 0, nil); !errors.Is(err, ErrReceiverBusy) {
		t.Fatalf("second Attach: %v, want ErrReceiverBusy", err)
	}
	copied := first // a copy is the same hold
	if b := next(t, &copied, false); b.Kind != FrameOpen || b.Final {
		t.Fatalf("copy's Next: %s final=%v", frameString(&b), b.Final)
	}
	first.Done(false)
	second := attach(t, s, Connection())
	// Every handle on the first hold is spent.
	_ = s.Send("for the second")
	for _, old := range []*Lease{&first, &copied} {
		if err := old.Next(new(Batch), false); !errors.Is(err, ErrLeaseEnded) {
			t.Fatalf("stale Next: %v, want ErrLeaseEnded", err)
		}
		old.Done(true)
	}
	if err := s.Attach(ctx, new(Lease), Polling(), 0, nil); !errors.Is(err, ErrReceiverBusy) {
		t.Fatalf("Attach after stale Done: %v, want the second lease still held", err)
	}
	wantOpen(t, s)
	if b := next(t, &second, false); frameString(&b) != `a["for the second"]` {
		t.Fatalf("second lease got %s", frameString(&b))
	}
	// The zero Lease holds nothing.
	var zero Lease
	if err := zero.Next(new(Batch), false); !errors.Is(err, ErrLeaseEnded) {
		t.Fatalf("zero Lease Next: %v", err)
	}
	zero.Done(true)
	wantOpen(t, s)
}

// A refused Attach returns a Lease that holds nothing.
func TestAttachRefusedLease(t *testing.T) {
	s := New("id", "", testLimits(), nil)
	held := attach(t, s, Polling())
	var l Lease
	err := s.Attach(context.Background(), &l, Polling(), 0, nil)
	if !errors.Is(err, ErrReceiverBusy) {
		t.Fatalf("Attach: %v", err)
	}
	if err := l.Next(new(Batch), false); !errors.Is(err, ErrLeaseEnded) {
		t.Fatalf("refused lease's Next: %v", err)
	}
	l.Done(true)
	wantOpen(t, s)
	if b := next(t, &held, false); b.Kind != FrameOpen {
		t.Fatalf("holder got %s", frameString(&b))
	}
}
