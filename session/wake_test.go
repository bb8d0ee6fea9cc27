package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// wakeLimits are small enough for a test to pass every bound.
func wakeLimits() Limits {
	return Limits{
		SendQueueBytes:    16,
		SendQueueMessages: 3,
		RecvQueue:         1,
		RecvTimeout:       time.Second,
		DisconnectDelay:   testDelay,
	}
}

// wakeProbe is a receiver's wake function that counts its calls. It also
// checks that the session's lock is not held: a real wake starts a writer
// that may Take at once.
type wakeProbe struct {
	s         *Session
	calls     atomic.Int32
	underLock atomic.Int32
}

func (w *wakeProbe) wake() {
	if w.s.mu.TryLock() {
		w.s.mu.Unlock()
	} else {
		w.underLock.Add(1)
	}
	w.calls.Add(1)
}

// wakeEnv is what the steps of a wake test act on.
type wakeEnv struct {
	s  *Session
	rs []*wakeProbe
	l  Lease // the lease of the receiver that attached last
}

// A wakeStep acts on the session as a receiver, the application or a
// client would. want is how often each receiver's wake has been called
// once the step is done.
type wakeStep struct {
	what string
	do   func(t *testing.T, e *wakeEnv)
	want [2]int32
}

// attachAs attaches receiver i in mode; -1 attaches one with a nil wake.
func attachAs(i int, mode Mode, want [2]int32) wakeStep {
	return wakeStep{fmt.Sprintf("Attach receiver %d", i), func(t *testing.T, e *wakeEnv) {
		var wake func()
		if i >= 0 {
			wake = e.rs[i].wake
		}
		var l Lease
		err := e.s.Attach(context.Background(), &l, mode, 0, wake)
		if err != nil {
			t.Fatalf("Attach: %v", err)
		}
		e.l = l
	}, want}
}

func sendOK(msg string, want [2]int32) wakeStep {
	return sendErr(msg, nil, want)
}

func sendErr(msg string, wantErr error, want [2]int32) wakeStep {
	return wakeStep{fmt.Sprintf("Send(%.8q)", msg), func(t *testing.T, e *wakeEnv) {
		if err := e.s.Send(msg); !errors.Is(err, wantErr) {
			t.Fatalf("Send: %v, want %v", err, wantErr)
		}
	}, want}
}

// takeAll takes as a receiver does before it waits: until there is
// nothing to take, or the frame ends the response.
func takeAll(want [2]int32) wakeStep {
	return wakeStep{"Next until nothing is left", func(t *testing.T, e *wakeEnv) {
		var b Batch
		for {
			if err := e.l.Next(&b, false); err != nil {
				t.Fatalf("Next: %v", err)
			}
			if b.Kind == FrameNone || b.Final {
				return
			}
		}
	}, want}
}

// takeFinal takes one frame that must end the lease.
func takeFinal(want [2]int32) wakeStep {
	return wakeStep{"final Next", func(t *testing.T, e *wakeEnv) {
		var b Batch
		if err := e.l.Next(&b, false); err != nil {
			t.Fatalf("Next: %v", err)
		}
		if b.Kind == FrameNone || !b.Final {
			t.Fatalf("Next gave %s final=%v, want a final frame", frameString(&b), b.Final)
		}
	}, want}
}

func closeWith(code int, wantErr error, want [2]int32) wakeStep {
	return wakeStep{fmt.Sprintf("Close(%d)", code), func(t *testing.T, e *wakeEnv) {
		if err := e.s.Close(code, "bye"); !errors.Is(err, wantErr) {
			t.Fatalf("Close: %v, want %v", err, wantErr)
		}
	}, want}
}

func done(interrupted bool, want [2]int32) wakeStep {
	return wakeStep{fmt.Sprintf("Done(%v)", interrupted), func(t *testing.T, e *wakeEnv) {
		e.l.Done(interrupted)
	}, want}
}

// deliverTimeout delivers more than the incoming queue holds, with nobody
// reading, so that Deliver's receive timeout closes the session.
func deliverTimeout(want [2]int32) wakeStep {
	return wakeStep{"Deliver past the receive queue", func(t *testing.T, e *wakeEnv) {
		msgs := make([]string, e.s.limits.RecvQueue+1)
		if err := e.s.Deliver(context.Background(), msgs); !errors.Is(err, ErrRecvTimeout) {
			t.Fatalf("Deliver: %v, want ErrRecvTimeout", err)
		}
	}, want}
}

func wantCode(code int, want [2]int32) wakeStep {
	return wakeStep{fmt.Sprintf("closed with %d", code), func(t *testing.T, e *wakeEnv) {
		wantStatus(t, e.s, code, "")
	}, want}
}

// The receiver holding the lease is woken when there may be something new
// to take, and only then: by the first message into an empty outbox and
// by the close, whatever closed the session. A receiver that let go of the
// lease is not woken any more.
func TestWake(t *testing.T) {
	full := strings.Repeat("x", wakeLimits().SendQueueBytes+1)
	tests := []struct {
		name  string
		steps []wakeStep
	}{
		{"first Send into an empty outbox wakes, the next does not", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}), // the open frame
			sendOK("a", [2]int32{1, 0}),
			sendOK("b", [2]int32{1, 0}), // the receiver takes both at once
			takeAll([2]int32{1, 0}),
			sendOK("c", [2]int32{2, 0}), // the outbox is empty again
			sendOK("d", [2]int32{2, 0}),
		}},
		{"Send before the open frame is taken wakes", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			sendOK("a", [2]int32{1, 0}),
			takeAll([2]int32{1, 0}),
			sendOK("b", [2]int32{2, 0}),
		}},
		{"messages queued before Attach: the receiver takes them unwoken", []wakeStep{
			sendOK("a", [2]int32{0, 0}),
			attachAs(0, Connection(), [2]int32{0, 0}),
			sendOK("b", [2]int32{0, 0}), // the outbox was not empty
			takeAll([2]int32{0, 0}),
			sendOK("c", [2]int32{1, 0}),
		}},
		{"Close wakes", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			closeWith(3000, nil, [2]int32{1, 0}),
			closeWith(3001, ErrClosed, [2]int32{1, 0}),
			sendErr("a", ErrClosed, [2]int32{1, 0}),
		}},
		{"Close wakes with messages already queued", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			sendOK("a", [2]int32{1, 0}),
			closeWith(3000, nil, [2]int32{2, 0}),
		}},
		{"Send past the message bound wakes", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			sendOK("a", [2]int32{1, 0}),
			sendOK("b", [2]int32{1, 0}),
			sendOK("c", [2]int32{1, 0}),
			sendErr("d", ErrSlowClient, [2]int32{2, 0}),
			wantCode(closecode.SlowClient, [2]int32{2, 0}),
		}},
		{"Send past the byte bound into an empty outbox wakes once", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			sendErr(full, ErrSlowClient, [2]int32{1, 0}),
			wantCode(closecode.SlowClient, [2]int32{1, 0}),
		}},
		{"Deliver's receive timeout wakes", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			deliverTimeout([2]int32{1, 0}),
			wantCode(closecode.SlowClient, [2]int32{1, 0}),
		}},
		{"never attached: Send and its overflow", []wakeStep{
			sendOK("a", [2]int32{0, 0}),
			sendOK("b", [2]int32{0, 0}),
			sendOK("c", [2]int32{0, 0}),
			sendErr("d", ErrSlowClient, [2]int32{0, 0}),
		}},
		{"never attached: Close", []wakeStep{
			closeWith(3000, nil, [2]int32{0, 0}),
		}},
		{"never attached: Deliver's receive timeout", []wakeStep{
			deliverTimeout([2]int32{0, 0}),
		}},
		{"nil wake", []wakeStep{
			attachAs(-1, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			sendOK("a", [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			sendOK("b", [2]int32{0, 0}),
			sendOK("c", [2]int32{0, 0}),
			sendOK("d", [2]int32{0, 0}),
			sendErr("e", ErrSlowClient, [2]int32{0, 0}),
		}},
		{"nil wake: Close", []wakeStep{
			attachAs(-1, Connection(), [2]int32{0, 0}),
			closeWith(3000, nil, [2]int32{0, 0}),
		}},
		{"nil wake: Deliver's receive timeout", []wakeStep{
			attachAs(-1, Connection(), [2]int32{0, 0}),
			deliverTimeout([2]int32{0, 0}),
		}},
		{"after Done the old wake is not called", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			done(false, [2]int32{0, 0}),
			sendOK("a", [2]int32{0, 0}),
			closeWith(3000, nil, [2]int32{0, 0}),
		}},
		{"after Done the old wake misses the overflow", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			done(false, [2]int32{0, 0}),
			sendErr(full, ErrSlowClient, [2]int32{0, 0}),
		}},
		{"after Done the old wake misses the receive timeout", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			done(false, [2]int32{0, 0}),
			deliverTimeout([2]int32{0, 0}),
		}},
		{"an interrupted receiver is not woken by its own close", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			done(true, [2]int32{0, 0}),
			wantCode(closecode.Interrupted, [2]int32{0, 0}),
		}},
		{"after a final polling frame the old wake is not called", []wakeStep{
			attachAs(0, Polling(), [2]int32{0, 0}),
			takeFinal([2]int32{0, 0}), // the open frame
			sendOK("a", [2]int32{0, 0}),
			closeWith(3000, nil, [2]int32{0, 0}),
		}},
		{"after a frame that used up a streaming budget the old wake is not called", []wakeStep{
			attachAs(0, Streaming(5, 0, 0), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}), // the open frame fits
			sendOK("abc", [2]int32{1, 0}),
			takeFinal([2]int32{1, 0}), // a["abc"] does not
			sendOK("d", [2]int32{1, 0}),
			closeWith(3000, nil, [2]int32{1, 0}),
		}},
		{"after the close frame is taken the old wake is not called", []wakeStep{
			attachAs(0, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			closeWith(3000, nil, [2]int32{1, 0}),
			takeFinal([2]int32{1, 0}),
			sendErr("a", ErrClosed, [2]int32{1, 0}),
		}},
		{"the next receiver's wake replaces the old", []wakeStep{
			attachAs(0, Polling(), [2]int32{0, 0}),
			takeFinal([2]int32{0, 0}),
			attachAs(1, Connection(), [2]int32{0, 0}),
			takeAll([2]int32{0, 0}),
			sendOK("a", [2]int32{0, 1}),
			closeWith(3000, nil, [2]int32{0, 2}),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New("id", "", wakeLimits(), nil)
				e := &wakeEnv{s: s, rs: []*wakeProbe{{s: s}, {s: s}}}
				for i, st := range tc.steps {
					st.do(t, e)
					for r, w := range e.rs {
						if got := w.calls.Load(); got != st.want[r] {
							t.Fatalf("step %d, %s: receiver %d woken %d times, want %d", i, st.what, r, got, st.want[r])
						}
						if n := w.underLock.Load(); n > 0 {
							t.Fatalf("step %d, %s: receiver %d woken with the session's lock held", i, st.what, r)
						}
					}
				}
			})
		})
	}
}

// A streaming receiver that Takes until there is nothing left and then
// waits for its wake must get every message, however Sends interleave with
// its Takes: waking only on the first message into an empty outbox loses
// nothing.
func TestWakeNotLostUnderConcurrentSends(t *testing.T) {
	const (
		rounds  = 20
		senders = 4
		each    = 300
	)
	for range rounds {
		synctest.Test(t, func(t *testing.T) {
			lim := Limits{SendQueueBytes: 1 << 30, SendQueueMessages: 1 << 30, RecvQueue: 1,
				RecvTimeout: time.Second, DisconnectDelay: time.Hour}
			s := New("id", "", lim, nil)
			wake := make(chan struct{}, 1)
			var l Lease
			err := s.Attach(context.Background(), &l, Connection(), 0, func() { signal(wake) })
			if err != nil {
				t.Fatal(err)
			}
			var taken atomic.Int64
			receiverDone := make(chan struct{})
			go func() {
				defer close(receiverDone)
				var b Batch
				for {
					_ = l.Next(&b, false)
					switch b.Kind {
					case FrameNone:
						<-wake
					case FrameMessages:
						taken.Add(int64(len(b.Messages)))
					case FrameClose:
						return
					}
				}
			}()
			var wg sync.WaitGroup
			for i := range senders {
				wg.Go(func() {
					for j := range each {
						if err := s.Send(fmt.Sprintf("%d/%d", i, j)); err != nil {
							t.Errorf("Send: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
			synctest.Wait() // the receiver has taken all it was woken for and waits
			if got, want := taken.Load(), int64(senders*each); got != want {
				t.Fatalf("receiver took %d of %d messages and waits: a wake-up was lost", got, want)
			}
			_ = s.Close(closecode.Normal, "done")
			<-receiverDone
		})
	}
}

// Every Recv waiting when the session closes returns, however the close's
// signal and a last message's signal fall among the readers (the close's
// may be dropped while the message's is still pending, so a reader that
// takes the message must pass the signal on).
func TestRecvReadersAllSeeClose(t *testing.T) {
	for range 500 {
		s := New("id", "", Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 100, RecvQueue: 10,
			RecvTimeout: time.Second, DisconnectDelay: time.Minute}, nil)
		done := make(chan struct{}, 2)
		for range 2 {
			go func() {
				for {
					if _, err := s.Recv(s.Context()); err != nil {
						done <- struct{}{}
						return
					}
				}
			}()
		}
		go func() { _ = s.Deliver(context.Background(), []string{"m"}) }()
		_ = s.Close(closecode.Normal, "bye")
		for range 2 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("a Recv never returned after the close")
			}
		}
	}
}
