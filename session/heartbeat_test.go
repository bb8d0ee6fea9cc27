package session

import (
	"context"
	"sync/atomic"
	"testing"
)

// With the heartbeat off, a receiver that asks for a heartbeat gets
// nothing, in every mode, while messages and the close still come; turned
// back on, the heartbeat comes again, and the waiting receiver is woken
// for it.
func TestSetHeartbeat(t *testing.T) {
	modes := []struct {
		name string
		mode Mode
	}{
		{"polling", Polling()},
		{"streaming", Streaming(1<<20, 0, 0)},
		{"connection", Connection()},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := New("id", "", testLimits(), nil)
			var wakes atomic.Int32
			var l Lease
			attachWake := func() {
				t.Helper()
				l = Lease{}
				if err := s.Attach(context.Background(), &l, m.mode, 0, func() { wakes.Add(1) }); err != nil {
					t.Fatalf("Attach: %v", err)
				}
			}
			// take takes one frame, attaching again after a final one as
			// the client's next request would.
			take := func(heartbeat bool) string {
				t.Helper()
				b := next(t, &l, heartbeat)
				if b.Final {
					l.Done(false)
					attachWake()
				}
				return frameString(&b)
			}
			attachWake()
			if got := take(false); got != "o" {
				t.Fatalf("first frame %s, want o", got)
			}

			s.SetHeartbeat(false)
			s.SetHeartbeat(false) // twice is once
			if got := take(true); got != "<none>" {
				t.Fatalf("heartbeat off: got %s, want no frame", got)
			}
			_ = s.Send("m")
			if got := take(true); got != `a["m"]` {
				t.Fatalf("heartbeat off: got %s, want the message", got)
			}
			if got := take(true); got != "<none>" {
				t.Fatalf("heartbeat off, after a message: got %s, want no frame", got)
			}

			before := wakes.Load()
			s.SetHeartbeat(true)
			if wakes.Load() != before+1 {
				t.Fatalf("turning the heartbeat on woke the receiver %d times, want once", wakes.Load()-before)
			}
			s.SetHeartbeat(true) // already on: no wake-up
			if wakes.Load() != before+1 {
				t.Fatal("turning on a heartbeat already on woke the receiver")
			}
			if got := take(true); got != "h" {
				t.Fatalf("heartbeat on again: got %s, want h", got)
			}

			s.SetHeartbeat(false)
			_ = s.Close(3000, "Go away!")
			if got := take(true); got != `c[3000,"Go away!"]` {
				t.Fatalf("heartbeat off, closed: got %s, want the close frame", got)
			}
		})
	}
}

// SetHeartbeat without a receiver, and on a closed session, only records
// the setting.
func TestSetHeartbeatNoReceiver(t *testing.T) {
	s := New("id", "", testLimits(), nil)
	s.SetHeartbeat(false)
	s.SetHeartbeat(true)
	_ = s.Close(3000, "x")
	s.SetHeartbeat(false)
	l := attach(t, s, Connection())
	if b := next(t, &l, true); frameString(&b) != "o" {
		t.Fatalf("got %s, want o", frameString(&b))
	}
	if b := next(t, &l, true); frameString(&b) != `c[3000,"x"]` {
		t.Fatalf("got %s, want the close frame", frameString(&b))
	}
	l.Done(false)
}
