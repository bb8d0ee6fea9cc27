package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

const testDelay = 5 * time.Second

func testLimits() Limits {
	return Limits{
		SendQueueBytes:    1 << 20,
		SendQueueMessages: 1000,
		RecvQueue:         4,
		RecvTimeout:       10 * time.Second,
		DisconnectDelay:   testDelay,
	}
}

// idleCounter is an onIdle that counts its calls.
type idleCounter struct{ n atomic.Int32 }

func (c *idleCounter) onIdle(*Session) { c.n.Add(1) }

func wantStatus(t *testing.T, s *Session, code int, reason string) {
	t.Helper()
	gotCode, gotReason, closed := s.CloseStatus()
	if !closed || gotCode != code || reason != "" && gotReason != reason {
		t.Fatalf("CloseStatus() = %d %q closed=%v, want %d %q closed", gotCode, gotReason, closed, code, reason)
	}
}

func wantOpen(t *testing.T, s *Session) {
	t.Helper()
	if code, reason, closed := s.CloseStatus(); closed {
		t.Fatalf("session closed with %d %q, want open", code, reason)
	}
}

// poll attaches as a polling receiver and takes one frame (which is
// final), as xhr does.
func poll(t *testing.T, s *Session) Batch {
	t.Helper()
	l := attach(t, s, Polling())
	defer l.Done(false)
	var b Batch
	if err := l.Next(&b, false); err != nil {
		t.Fatalf("Next: %v", err)
	}
	if b.Kind != FrameNone && !b.Final {
		t.Fatalf("polling Next: frame %v not final", b.Kind)
	}
	return b
}

// attach takes the lease with no grace and no wake function.
func attach(t *testing.T, s *Session, mode Mode) Lease {
	t.Helper()
	var l Lease
	err := s.Attach(context.Background(), &l, mode, 0, nil)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	return l
}

// next takes one frame from l.
func next(t *testing.T, l *Lease, heartbeat bool) Batch {
	t.Helper()
	var b Batch
	if err := l.Next(&b, heartbeat); err != nil {
		t.Fatalf("Next: %v", err)
	}
	return b
}

func frameString(b *Batch) string {
	if b.Kind == FrameNone {
		return "<none>"
	}
	return string(AppendBatch(nil, b))
}

func TestDisconnectDelayExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "owner", testLimits(), idle.onIdle)
		if b := poll(t, s); b.Kind != FrameOpen {
			t.Fatalf("first frame %s, want o", frameString(&b))
		}
		// The poll released the lease: the disconnect delay runs.
		time.Sleep(testDelay - time.Millisecond)
		synctest.Wait()
		wantOpen(t, s)
		if idle.n.Load() != 0 {
			t.Fatal("onIdle called before the delay")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		wantStatus(t, s, closecode.TimedOut, "Session timed out")
		if n := idle.n.Load(); n != 1 {
			t.Fatalf("onIdle called %d times, want 1", n)
		}
		select {
		case <-s.Context().Done():
		default:
			t.Fatal("context not done after expiry")
		}
		if _, err := s.Recv(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after expiry: %v, want ErrClosed", err)
		}
		time.Sleep(10 * testDelay)
		synctest.Wait()
		if n := idle.n.Load(); n != 1 {
			t.Fatalf("onIdle called %d times, want 1", n)
		}
	})
}

// A session closed by the application with no receiver attached is
// forgotten after the disconnect delay (the client may still come for
// the close frame in between).
func TestClosedSessionForgottenAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s)
		time.Sleep(testDelay / 2)
		if err := s.Close(3000, "Go away!"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(3000, "again"); !errors.Is(err, ErrClosed) {
			t.Fatalf("second Close: %v, want ErrClosed", err)
		}
		time.Sleep(testDelay - time.Millisecond)
		synctest.Wait()
		if idle.n.Load() != 0 {
			t.Fatal("onIdle ran before the delay counted from the close")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if idle.n.Load() != 1 {
			t.Fatalf("onIdle called %d times, want 1", idle.n.Load())
		}
		wantStatus(t, s, 3000, "Go away!") // not overwritten by the timeout
	})
}

// onIdle runs once over a session's life, even when a request that found
// the session before it was forgotten still fetches its close frame.
func TestOnIdleOnceAfterLateReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s)
		time.Sleep(testDelay + time.Millisecond)
		synctest.Wait()
		if idle.n.Load() != 1 {
			t.Fatalf("onIdle called %d times, want 1", idle.n.Load())
		}
		// A late receiver gets the close frame.
		if b := poll(t, s); b.Kind != FrameClose || b.Code != closecode.TimedOut {
			t.Fatalf("late receiver got %s, want the close frame", frameString(&b))
		}
		time.Sleep(2 * testDelay)
		synctest.Wait()
		if n := idle.n.Load(); n != 1 {
			t.Errorf("onIdle called %d times over the session's life, want 1", n)
		}
	})
}

func TestAttachCancelsExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s) // open; timer armed
		time.Sleep(testDelay / 2)
		l := attach(t, s, Polling())
		// Attached long past the first timer's deadline: nothing happens.
		time.Sleep(3 * testDelay)
		synctest.Wait()
		wantOpen(t, s)
		if idle.n.Load() != 0 {
			t.Fatal("onIdle ran while a receiver was attached")
		}
		// Letting go restarts the full delay.
		l.Done(false)
		time.Sleep(testDelay - time.Millisecond)
		synctest.Wait()
		wantOpen(t, s)
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		wantStatus(t, s, closecode.TimedOut, "")
		if idle.n.Load() != 1 {
			t.Fatalf("onIdle called %d times, want 1", idle.n.Load())
		}
	})
}

// A timer whose callback already started when a receiver attached carries
// a stale generation and does nothing, even once the lease is released.
func TestStaleTimerDoesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s)
		s.mu.Lock()
		staleGen := s.timerGen
		s.mu.Unlock()
		l := attach(t, s, Polling())
		s.expire(staleGen) // attached: nothing
		wantOpen(t, s)
		l.Done(false) // new generation
		s.expire(staleGen)
		wantOpen(t, s)
		if idle.n.Load() != 0 {
			t.Fatal("stale timer called onIdle")
		}
		time.Sleep(testDelay + time.Millisecond)
		synctest.Wait()
		wantStatus(t, s, closecode.TimedOut, "")
	})
}

// Stop (server shutdown) cancels the disconnect timer for good.
func TestStopCancelsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s)
		_ = s.Close(closecode.GoingAway, "Server shutting down")
		s.Stop()
		time.Sleep(3 * testDelay)
		synctest.Wait()
		if idle.n.Load() != 0 {
			t.Fatalf("onIdle called %d times after Stop", idle.n.Load())
		}
	})
}

// Stop is documented as cancelling the disconnect timer for good: a
// receiver that fetches the close frame after a shutdown must not re-arm
// it (onIdle would run for a session the registry already forgot).
func TestStopIsForGood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s)
		l := attach(t, s, Polling()) // a poll pending at shutdown
		_ = s.Close(closecode.GoingAway, "Server shutting down")
		s.Stop()
		b := next(t, &l, false) // the close frame, final: the lease is released
		if b.Kind != FrameClose || !b.Final {
			t.Fatalf("got %s", frameString(&b))
		}
		l.Done(false) // the response is over: would restart the delay, but for Stop
		time.Sleep(3 * testDelay)
		synctest.Wait()
		if n := idle.n.Load(); n != 0 {
			t.Errorf("onIdle called %d times after Stop", n)
		}
	})
}

// A session no receiver ever attaches to (its first request failed before
// attaching) must still end after the disconnect delay: otherwise it and
// its application goroutine live forever.
func TestNeverAttachedSessionExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		time.Sleep(testDelay + time.Millisecond)
		synctest.Wait()
		if _, _, closed := s.CloseStatus(); !closed || idle.n.Load() != 1 {
			t.Errorf("session never attached: closed=%v, onIdle calls %d after the disconnect delay; want closed (1006) and forgotten",
				closed, idle.n.Load())
		}
		s.Stop()
	})
}

func TestAttachGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New("id", "", testLimits(), nil)
		ctx := context.Background()
		l := attach(t, s, Polling())
		if err := s.Attach(ctx, new(Lease), Polling(), 0, nil); !errors.Is(err, ErrReceiverBusy) {
			t.Fatalf("second Attach: %v, want ErrReceiverBusy", err)
		}
		// Not released within the grace: busy, after exactly the grace.
		start := time.Now()
		if err := s.Attach(ctx, new(Lease), Polling(), time.Second, nil); !errors.Is(err, ErrReceiverBusy) {
			t.Fatalf("Attach with grace: %v, want ErrReceiverBusy", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Attach with grace gave up after %v, want 1s", d)
		}
		// Released within the grace: the waiter gets the lease.
		type attached struct {
			l   Lease
			err error
		}
		done := make(chan attached, 1)
		wait := func(ctx context.Context, grace time.Duration) {
			go func() {
				var l Lease
				err := s.Attach(ctx, &l, Polling(), grace, nil)
				done <- attached{l, err}
			}()
		}
		start = time.Now()
		wait(ctx, time.Second)
		time.Sleep(300 * time.Millisecond)
		l.Done(false)
		a := <-done
		if a.err != nil {
			t.Fatalf("Attach released within grace: %v", a.err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Fatalf("Attach waited %v, want 300ms", d)
		}
		// Released by a final frame.
		wait(ctx, time.Second)
		synctest.Wait()
		if b := next(t, &a.l, false); b.Kind != FrameOpen || !b.Final {
			t.Fatalf("Next: %s final=%v", frameString(&b), b.Final)
		}
		a.l.Done(false)
		a = <-done
		if a.err != nil {
			t.Fatalf("Attach after a final frame: %v", a.err)
		}
		// Context ends the wait.
		cctx, cancel := context.WithCancel(ctx)
		wait(cctx, time.Hour)
		synctest.Wait()
		cancel()
		if c := <-done; !errors.Is(c.err, context.Canceled) {
			t.Fatalf("Attach with canceled ctx: %v", c.err)
		}
		// Two waiters, one release: exactly one gets the lease.
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				err := s.Attach(ctx, new(Lease), Polling(), time.Second, nil)
				errs <- err
			}()
		}
		synctest.Wait()
		a.l.Done(false)
		e1, e2 := <-errs, <-errs
		if (e1 == nil) == (e2 == nil) {
			t.Fatalf("two waiters after one release: %v, %v; want exactly one success", e1, e2)
		}
	})
}

// A stale release notification (from an earlier release nobody waited
// for) must not let a waiter take a lease that is held.
func TestLeaseStaleReleaseSignal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New("id", "", testLimits(), nil)
		ctx := context.Background()
		l := attach(t, s, Polling())
		// A waiter that gives up makes the released channel, so that the
		// Done below leaves a token in it.
		if err := s.Attach(ctx, new(Lease), Polling(), time.Millisecond, nil); !errors.Is(err, ErrReceiverBusy) {
			t.Fatalf("Attach while held: %v, want ErrReceiverBusy", err)
		}
		l.Done(false) // leaves a token in released
		attach(t, s, Polling())
		if err := s.Attach(ctx, new(Lease), Polling(), 100*time.Millisecond, nil); !errors.Is(err, ErrReceiverBusy) {
			t.Fatalf("Attach while held: %v, want ErrReceiverBusy", err)
		}
	})
}

func TestDoneInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var idle idleCounter
		s := New("id", "", testLimits(), idle.onIdle)
		poll(t, s)
		l := attach(t, s, Streaming(1000, 0, 0))
		l.Done(true)
		wantStatus(t, s, closecode.Interrupted, "Connection interrupted")
		// The client may fetch the close frame during the delay.
		if b := poll(t, s); b.Kind != FrameClose || b.Code != closecode.Interrupted {
			t.Fatalf("got %s, want c[1002,...]", frameString(&b))
		}
		time.Sleep(testDelay + time.Millisecond)
		synctest.Wait()
		if idle.n.Load() == 0 {
			t.Fatal("interrupted session never forgotten")
		}
	})
}

// Every later receiver of a closed session gets the close frame again.
func TestCloseFrameRepeated(t *testing.T) {
	s := New("id", "", testLimits(), nil)
	poll(t, s)
	_ = s.Close(3000, "Go away!")
	for i, mode := range []Mode{Polling(), Streaming(1000, 0, 0), Connection(), Polling()} {
		l := attach(t, s, mode)
		if b := next(t, &l, false); frameString(&b) != `c[3000,"Go away!"]` || !b.Final {
			t.Fatalf("receiver %d: %s final=%v", i, frameString(&b), b.Final)
		}
		l.Done(false)
	}
}

// Batches swap arrays with the session: a batch kept by the receiver is
// never written to by later Sends.
func TestNextBatchOwnership(t *testing.T) {
	s := New("id", "", testLimits(), nil)
	l := attach(t, s, Connection())
	var b1, b2 Batch
	_ = l.Next(&b1, false)
	_ = s.Send("a")
	_ = s.Send("b")
	_ = l.Next(&b1, false)
	kept := slices.Clone(b1.Messages)
	_ = s.Send("c")
	_ = s.Send("d")
	_ = s.Send("e")
	if !slices.Equal(b1.Messages, kept) {
		t.Fatalf("batch changed by Send: %q, was %q", b1.Messages, kept)
	}
	_ = l.Next(&b2, false)
	if !slices.Equal(b2.Messages, []string{"c", "d", "e"}) {
		t.Fatalf("second batch %q", b2.Messages)
	}
	_ = l.Next(&b1, false) // reuses b1's array
	_ = s.Send("f")
	if !slices.Equal(b2.Messages, []string{"c", "d", "e"}) {
		t.Fatalf("batch changed: %q", b2.Messages)
	}
}

func TestSendQueueBounds(t *testing.T) {
	t.Run("messages", func(t *testing.T) {
		lim := testLimits()
		lim.SendQueueMessages = 3
		s := New("id", "", lim, nil)
		for i := range 3 {
			if err := s.Send(fmt.Sprint(i)); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
		}
		if err := s.Send("3"); !errors.Is(err, ErrSlowClient) {
			t.Fatalf("Send past the bound: %v, want ErrSlowClient", err)
		}
		wantStatus(t, s, closecode.SlowClient, "")
		if err := s.Send("4"); !errors.Is(err, ErrClosed) {
			t.Fatalf("Send after close: %v, want ErrClosed", err)
		}
		select {
		case <-s.Context().Done():
		default:
			t.Fatal("context not done")
		}
		// The queued messages still go out, then the close frame.
		l := attach(t, s, Connection())
		next(t, &l, false)
		if b := next(t, &l, false); frameString(&b) != `a["0","1","2"]` {
			t.Fatalf("got %s", frameString(&b))
		}
		if b := next(t, &l, false); b.Kind != FrameClose || b.Code != closecode.SlowClient {
			t.Fatalf("got %s, want c[1008,...]", frameString(&b))
		}
	})
	t.Run("bytes", func(t *testing.T) {
		lim := testLimits()
		lim.SendQueueBytes = 10
		s := New("id", "", lim, nil)
		if err := s.Send("12345"); err != nil {
			t.Fatal(err)
		}
		if err := s.Send("12345"); err != nil {
			t.Fatalf("Send up to exactly the bound: %v", err)
		}
		if err := s.Send("1"); !errors.Is(err, ErrSlowClient) {
			t.Fatalf("Send past the bound: %v, want ErrSlowClient", err)
		}
		wantStatus(t, s, closecode.SlowClient, "")
	})
	t.Run("drained queue has room again", func(t *testing.T) {
		lim := testLimits()
		lim.SendQueueMessages = 2
		lim.SendQueueBytes = 4
		s := New("id", "", lim, nil)
		l := attach(t, s, Connection())
		next(t, &l, false)
		for i := range 10 {
			if err := s.Send("ab"); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if err := s.Send("cd"); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			next(t, &l, false)
		}
		wantOpen(t, s)
	})
}

func TestDeliver(t *testing.T) {
	t.Run("blocks when full until Recv makes room", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim := testLimits()
			lim.RecvQueue = 2
			s := New("id", "", lim, nil)
			ctx := context.Background()
			if err := s.Deliver(ctx, []string{"a", "b"}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Deliver(ctx, []string{"c", "d", "e"}) }()
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("Deliver into a full queue returned %v", err)
			default:
			}
			var got []string
			for len(got) < 5 {
				m, err := s.Recv(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, m)
				time.Sleep(time.Second) // the app is slow, but within RecvTimeout per message
			}
			if err := <-done; err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
				t.Fatalf("order: %q", got)
			}
			wantOpen(t, s)
		})
	})
	t.Run("times out", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim := testLimits()
			lim.RecvQueue = 1
			s := New("id", "", lim, nil)
			start := time.Now()
			err := s.Deliver(context.Background(), []string{"a", "b"})
			if !errors.Is(err, ErrRecvTimeout) {
				t.Fatalf("Deliver: %v, want ErrRecvTimeout", err)
			}
			if d := time.Since(start); d != lim.RecvTimeout {
				t.Fatalf("timed out after %v, want %v", d, lim.RecvTimeout)
			}
			wantStatus(t, s, closecode.SlowClient, "")
			// What was queued before the close is still read, then ErrClosed.
			if m, err := s.Recv(context.Background()); m != "a" || err != nil {
				t.Fatalf("Recv = %q, %v; want the queued message", m, err)
			}
			if _, err := s.Recv(context.Background()); !errors.Is(err, ErrClosed) {
				t.Fatalf("Recv: %v, want ErrClosed", err)
			}
		})
	})
	t.Run("returns on ctx", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim := testLimits()
			lim.RecvQueue = 1
			s := New("id", "", lim, nil)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := s.Deliver(ctx, []string{"a", "b"})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Deliver: %v, want ctx error", err)
			}
			wantOpen(t, s)
		})
	})
	t.Run("returns on close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim := testLimits()
			lim.RecvQueue = 1
			s := New("id", "", lim, nil)
			done := make(chan error, 1)
			go func() { done <- s.Deliver(context.Background(), []string{"a", "b"}) }()
			synctest.Wait()
			_ = s.Close(3000, "bye")
			if err := <-done; !errors.Is(err, ErrClosed) {
				t.Fatalf("Deliver: %v, want ErrClosed", err)
			}
			if err := s.Deliver(context.Background(), []string{"x"}); !errors.Is(err, ErrClosed) {
				t.Fatalf("Deliver to closed: %v, want ErrClosed", err)
			}
			wantStatus(t, s, 3000, "bye")
		})
	})
	t.Run("many waiting senders all proceed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			lim := testLimits()
			lim.RecvQueue = 1
			s := New("id", "", lim, nil)
			ctx := context.Background()
			const senders = 8
			var wg sync.WaitGroup
			for i := range senders {
				wg.Go(func() {
					if err := s.Deliver(ctx, []string{fmt.Sprint(i), fmt.Sprint(i)}); err != nil {
						t.Errorf("Deliver %d: %v", i, err)
					}
				})
			}
			synctest.Wait()
			for range 2 * senders {
				if _, err := s.Recv(ctx); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
		})
	})
}

func TestRecv(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New("id", "", testLimits(), nil)
		ctx := context.Background()
		got := make(chan string, 1)
		go func() {
			m, err := s.Recv(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- m
		}()
		synctest.Wait()
		_ = s.Deliver(ctx, []string{"hello"})
		if m := <-got; m != "hello" {
			t.Fatalf("Recv = %q", m)
		}
		// ctx
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := s.Recv(cctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Recv: %v, want ctx error", err)
		}
		// Close wakes a waiting Recv.
		errc := make(chan error, 1)
		go func() { _, err := s.Recv(ctx); errc <- err }()
		synctest.Wait()
		_ = s.Close(1000, "done")
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after close: %v, want ErrClosed", err)
		}
		if _, err := s.Recv(ctx); !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after close: %v, want ErrClosed", err)
		}
	})
}

// Messages queued before the close are still read, in order; then Recv
// reports the close, and Deliver refuses more.
func TestRecvAfterCloseDrainsInbox(t *testing.T) {
	s := New("id", "", testLimits(), nil)
	ctx := context.Background()
	_ = s.Deliver(ctx, []string{"a", "b"})
	_ = s.Close(1000, "")
	if err := s.Deliver(ctx, []string{"c"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Deliver after close: %v, want ErrClosed", err)
	}
	for _, want := range []string{"a", "b"} {
		if m, err := s.Recv(ctx); m != want || err != nil {
			t.Fatalf("Recv = %q, %v; want %q", m, err, want)
		}
	}
	if m, err := s.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv = %q, %v; want ErrClosed", m, err)
	}
}

// Many goroutines Send, Recv, Deliver, Next and Close at once: run under
// -race. Every Send that succeeded reaches the receiver before the close
// frame, and everything ends.
func TestConcurrentStress(t *testing.T) {
	for round := range 20 {
		stressRound(t, round)
	}
}

func stressRound(t *testing.T, round int) {
	lim := Limits{SendQueueBytes: 1 << 30, SendQueueMessages: 1 << 30, RecvQueue: 3, RecvTimeout: 5 * time.Second, DisconnectDelay: time.Hour}
	var idle idleCounter
	s := New("id", "", lim, idle.onIdle)
	defer s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var sent, recvd, delivered atomic.Int64
	var wg sync.WaitGroup
	const senders, deliverers, readers = 6, 4, 3
	for i := range senders {
		wg.Go(func() {
			for j := 0; ; j++ {
				if err := s.Send(fmt.Sprintf("%d/%d", i, j)); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Send: %v", err)
					}
					return
				}
				sent.Add(1)
			}
		})
	}
	for range deliverers {
		wg.Go(func() {
			for {
				err := s.Deliver(ctx, []string{"x", "y"})
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Deliver: %v", err)
					}
					return
				}
				delivered.Add(2)
			}
		})
	}
	for range readers {
		wg.Go(func() {
			for {
				if _, err := s.Recv(ctx); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Errorf("Recv: %v", err)
					}
					return
				}
				recvd.Add(1)
			}
		})
	}
	// Receivers: polling and streaming ones take turns on the lease, and
	// a second one keeps trying to attach.
	var taken atomic.Int64
	closed := make(chan struct{})
	var closeOnce sync.Once
	for r := range 3 {
		wg.Go(func() {
			var b Batch
			mode := []Mode{Polling(), Streaming(200, 1, 0), Connection()}[r]
			wake := make(chan struct{}, 1)
			for {
				var l Lease
				err := s.Attach(ctx, &l, mode, time.Millisecond, func() { signal(wake) })
				if err != nil {
					select {
					case <-closed:
						return
					default:
						continue
					}
				}
				for {
					if err := l.Next(&b, false); err != nil {
						t.Errorf("Next: %v", err)
						return
					}
					switch b.Kind {
					case FrameNone:
						select {
						case <-wake:
							continue
						case <-time.After(time.Millisecond):
							l.Done(false)
						}
					case FrameMessages:
						taken.Add(int64(len(b.Messages)))
					case FrameClose:
						closeOnce.Do(func() { close(closed) })
						if !b.Final {
							t.Errorf("close frame not final")
						}
						l.Done(false)
						return
					}
					if b.Final {
						l.Done(false)
					}
					if b.Kind == FrameNone || b.Final {
						break
					}
				}
			}
		})
	}
	time.Sleep(time.Duration(2+round%5) * time.Millisecond)
	var closers sync.WaitGroup
	var closeOK atomic.Int32
	for range 4 {
		closers.Go(func() {
			if s.Close(3000+round, "stress") == nil {
				closeOK.Add(1)
			}
		})
	}
	closers.Wait()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("round %d: goroutines still running 5s after Close (deadlock?)", round)
	}
	if closeOK.Load() != 1 {
		t.Errorf("round %d: %d Close calls succeeded, want 1", round, closeOK.Load())
	}
	if sent.Load() != taken.Load() {
		t.Errorf("round %d: %d messages sent, %d taken before the close frame", round, sent.Load(), taken.Load())
	}
	if recvd.Load() > delivered.Load()+int64(2*deliverers) {
		t.Errorf("round %d: received %d > delivered %d", round, recvd.Load(), delivered.Load())
	}
	wantStatus(t, s, 3000+round, "stress")
}
