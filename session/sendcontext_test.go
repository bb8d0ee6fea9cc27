package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

const testSendTimeout = 3 * time.Second

// sendLimits hold two messages of at most 8 bytes in all.
func sendLimits() Limits {
	l := testLimits()
	l.SendQueueMessages = 2
	l.SendQueueBytes = 8
	l.SendTimeout = testSendTimeout
	return l
}

// drain takes what the session has queued, as a connection's receiver
// does, and returns the messages.
func drain(t *testing.T, s *Session) []string {
	t.Helper()
	l := attach(t, s, Connection())
	defer l.Done(false)
	var got []string
	for {
		b := next(t, &l, false)
		switch b.Kind {
		case FrameNone, FrameClose:
			return got
		case FrameMessages:
			got = append(got, b.Messages...)
		}
	}
}

// takeOnce takes one frame as a connection's receiver, and returns its
// messages.
func takeOnce(t *testing.T, s *Session) []string {
	t.Helper()
	l := attach(t, s, Connection())
	defer l.Done(false)
	b := next(t, &l, false)
	return b.Messages
}

func TestSendContext(t *testing.T) {
	type result struct {
		err     error
		elapsed time.Duration
	}
	tests := []struct {
		name   string
		limits func(*Limits)
		fill   []string // queued with Send first
		msg    string
		// act runs while SendContext waits (after synctest.Wait); cancel
		// cancels SendContext's ctx.
		act       func(t *testing.T, s *Session, cancel context.CancelFunc)
		wantErr   error
		wantAfter time.Duration // how long SendContext took
		wantCode  int           // the session's close code, 0 for open
		wantOut   []string      // what a receiver then takes
	}{
		{
			name:    "room: queued at once",
			fill:    []string{"a"},
			msg:     "b",
			wantOut: []string{"a", "b"},
		},
		{
			name: "full by messages: waits for a receiver to take the queue",
			fill: []string{"a", "b"},
			msg:  "c",
			act: func(t *testing.T, s *Session, _ context.CancelFunc) {
				time.Sleep(time.Second)
				if got := takeOnce(t, s); !slices.Equal(got, []string{"a", "b"}) {
					t.Errorf("receiver took %q", got)
				}
			},
			wantAfter: time.Second,
			wantOut:   []string{"c"},
		},
		{
			name: "full by bytes: waits for a receiver to take the queue",
			fill: []string{"12345678"},
			msg:  "9",
			act: func(t *testing.T, s *Session, _ context.CancelFunc) {
				time.Sleep(2 * time.Second)
				takeOnce(t, s)
			},
			wantAfter: 2 * time.Second,
			wantOut:   []string{"9"},
		},
		{
			name:      "full for SendTimeout: the session is closed",
			fill:      []string{"a", "b"},
			msg:       "c",
			wantErr:   ErrSlowClient,
			wantAfter: testSendTimeout,
			wantCode:  closecode.SlowClient,
			wantOut:   []string{"a", "b"},
		},
		{
			name: "ctx ends first: not queued, the session stays open",
			fill: []string{"a", "b"},
			msg:  "c",
			act: func(t *testing.T, s *Session, cancel context.CancelFunc) {
				time.Sleep(time.Second)
				cancel()
			},
			wantErr:   context.Canceled,
			wantAfter: time.Second,
			wantOut:   []string{"a", "b"},
		},
		{
			name: "the session closes first",
			fill: []string{"a", "b"},
			msg:  "c",
			act: func(t *testing.T, s *Session, _ context.CancelFunc) {
				time.Sleep(time.Second)
				_ = s.Close(3000, "bye")
			},
			wantErr:   ErrClosed,
			wantAfter: time.Second,
			wantCode:  3000,
			wantOut:   []string{"a", "b"},
		},
		{
			name:     "larger than the whole queue: closed at once",
			msg:      "123456789",
			wantErr:  ErrSlowClient,
			wantCode: closecode.SlowClient,
		},
		{
			name:     "no SendTimeout: full means closed, as with Send",
			limits:   func(l *Limits) { l.SendTimeout = 0 },
			fill:     []string{"a", "b"},
			msg:      "c",
			wantErr:  ErrSlowClient,
			wantCode: closecode.SlowClient,
			wantOut:  []string{"a", "b"},
		},
		{
			name: "room taken by a Send before the waiter gets to it: the waiter waits on",
			fill: []string{"a", "b"},
			msg:  "c",
			act: func(t *testing.T, s *Session, _ context.CancelFunc) {
				time.Sleep(time.Second)
				// Take and refill in one go, before the waiter runs.
				l := attach(t, s, Connection())
				next(t, &l, false)
				_ = s.Send("x")
				_ = s.Send("y")
				l.Done(false)
				time.Sleep(time.Second)
				takeOnce(t, s)
			},
			wantAfter: 2 * time.Second,
			wantOut:   []string{"c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lim := sendLimits()
				if tt.limits != nil {
					tt.limits(&lim)
				}
				s := New("id", "", lim, nil)
				poll(t, s) // the open frame
				for _, m := range tt.fill {
					if err := s.Send(m); err != nil {
						t.Fatalf("Send(%q): %v", m, err)
					}
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan result, 1)
				start := time.Now()
				go func() {
					err := s.SendContext(ctx, tt.msg)
					done <- result{err, time.Since(start)}
				}()
				synctest.Wait()
				if tt.act != nil {
					tt.act(t, s, cancel)
				}
				r := <-done
				if !errors.Is(r.err, tt.wantErr) || r.elapsed != tt.wantAfter {
					t.Fatalf("SendContext = %v after %v, want %v after %v", r.err, r.elapsed, tt.wantErr, tt.wantAfter)
				}
				if tt.wantCode == 0 {
					wantOpen(t, s)
				} else {
					wantStatus(t, s, tt.wantCode, "")
				}
				if got := drain(t, s); !slices.Equal(got, tt.wantOut) {
					t.Fatalf("a receiver then takes %q, want %q", got, tt.wantOut)
				}
			})
		})
	}
}

// A session closed for a full queue says so in its close frame.
func TestSendContextTimeoutReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New("id", "", sendLimits(), nil)
		_ = s.Send("a")
		_ = s.Send("b")
		if err := s.SendContext(context.Background(), "c"); !errors.Is(err, ErrSlowClient) {
			t.Fatalf("SendContext: %v", err)
		}
		wantStatus(t, s, closecode.SlowClient, "Send queue full")
		if err := s.SendContext(context.Background(), "d"); !errors.Is(err, ErrClosed) {
			t.Fatalf("SendContext after the close: %v, want ErrClosed", err)
		}
	})
}

// Many publishers wait on one full queue at once; every receiver's take
// lets some of them in, each passing the news of room on to the next, so
// that none is left waiting while there is room.
func TestSendContextManyWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const publishers = 10
		lim := sendLimits()
		lim.SendQueueMessages = 3
		lim.SendQueueBytes = 100
		s := New("id", "", lim, nil)
		poll(t, s)
		for range 3 {
			_ = s.Send("fill")
		}
		var wg sync.WaitGroup
		errs := make(chan error, publishers)
		for i := range publishers {
			wg.Go(func() { errs <- s.SendContext(context.Background(), fmt.Sprint(i)) })
		}
		synctest.Wait() // every publisher waits
		var got []string
		for len(got) < 3+publishers {
			// Each take makes room for three more publishers; the rest
			// wait for the next take.
			out := drain(t, s)
			synctest.Wait()
			got = append(got, out...)
			if len(out) == 0 {
				t.Fatalf("room left, but no publisher took it (%d messages of %d)", len(got), 3+publishers)
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("SendContext: %v", err)
			}
		}
		slices.Sort(got[3:])
		want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
		if !slices.Equal(got[3:], want) {
			t.Fatalf("taken %q, want every publisher's message once", got[3:])
		}
		wantOpen(t, s)
	})
}

// Publishers and a draining receiver at full speed, under -race: every
// message arrives once and in each publisher's order, no publisher fails,
// and nothing is left waiting.
func TestSendContextRace(t *testing.T) {
	const publishers, each = 8, 500
	lim := Limits{SendQueueBytes: 64, SendQueueMessages: 4, SendTimeout: time.Minute,
		RecvQueue: 1, RecvTimeout: time.Second, DisconnectDelay: time.Hour}
	s := New("id", "", lim, nil)
	wake := make(chan struct{}, 1)
	var l Lease
	err := s.Attach(context.Background(), &l, Connection(), 0, func() { signal(wake) })
	if err != nil {
		t.Fatal(err)
	}
	next := make([]int, publishers) // the next message expected from each publisher
	receiverDone := make(chan error, 1)
	go func() {
		var b Batch
		for {
			_ = l.Next(&b, false)
			switch b.Kind {
			case FrameNone:
				<-wake
			case FrameMessages:
				for _, m := range b.Messages {
					var p, j int
					if _, err := fmt.Sscanf(m, "%d/%d", &p, &j); err != nil || j != next[p] {
						receiverDone <- fmt.Errorf("got %q, want message %d of publisher %d", m, next[p], p)
						return
					}
					next[p]++
				}
			case FrameClose:
				receiverDone <- nil
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for j := range each {
				if err := s.SendContext(context.Background(), fmt.Sprintf("%d/%d", p, j)); err != nil {
					t.Errorf("publisher %d, message %d: %v", p, j, err)
					return
				}
			}
		})
	}
	wg.Wait()
	_ = s.Close(closecode.Normal, "done") // the close frame follows every queued message
	if err := <-receiverDone; err != nil {
		t.Fatal(err)
	}
	for p, n := range next {
		if n != each {
			t.Errorf("publisher %d: %d messages arrived, want %d", p, n, each)
		}
	}
}

func TestRefuse(t *testing.T) {
	tests := []struct {
		name      string
		before    func(t *testing.T, s *Session)
		wantErr   error
		wantFirst string // the first frame a receiver then gets
	}{
		{"fresh session: the close frame is the first", nil, nil, `c[4001,"Unauthorized"]`},
		{"queued messages are dropped", func(t *testing.T, s *Session) {
			_ = s.Send("secret")
		}, nil, `c[4001,"Unauthorized"]`},
		{"after the open frame: refused", func(t *testing.T, s *Session) {
			if b := poll(t, s); b.Kind != FrameOpen {
				t.Fatalf("first frame %s", frameString(&b))
			}
		}, ErrOpened, "<none>"},
		{"closed already", func(t *testing.T, s *Session) {
			_ = s.Close(3000, "Go away!")
		}, ErrClosed, "o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var idle idleCounter
				s := New("id", "", testLimits(), idle.onIdle)
				if tt.before != nil {
					tt.before(t, s)
				}
				if err := s.Refuse(4001, "Unauthorized"); !errors.Is(err, tt.wantErr) {
					t.Fatalf("Refuse: %v, want %v", err, tt.wantErr)
				}
				b := poll(t, s)
				if got := frameString(&b); got != tt.wantFirst {
					t.Fatalf("first frame then %s, want %s", got, tt.wantFirst)
				}
				if tt.wantErr != nil {
					return
				}
				if !b.Final {
					t.Fatal("the refusal's close frame is not final")
				}
				wantStatus(t, s, 4001, "Unauthorized")
				select {
				case <-s.Context().Done():
				default:
					t.Fatal("context not done after Refuse")
				}
				// Every later receiver gets the same close frame, and the
				// session is forgotten after the disconnect delay.
				if b := poll(t, s); frameString(&b) != tt.wantFirst {
					t.Fatalf("second receiver got %s", frameString(&b))
				}
				time.Sleep(testDelay + time.Millisecond)
				synctest.Wait()
				if idle.n.Load() != 1 {
					t.Fatalf("onIdle called %d times, want 1", idle.n.Load())
				}
			})
		})
	}
}

// A receiver already attached (a websocket attaches before its session's
// first frame) is woken by the refusal and writes the close frame only.
func TestRefuseWakesReceiver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New("id", "", testLimits(), nil)
		w := &wakeProbe{s: s}
		var l Lease
		err := s.Attach(context.Background(), &l, Connection(), 0, w.wake)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Refuse(4001, strings.Repeat("r", 10)); err != nil {
			t.Fatal(err)
		}
		if w.calls.Load() != 1 || w.underLock.Load() != 0 {
			t.Fatalf("woken %d times (%d under the lock), want once", w.calls.Load(), w.underLock.Load())
		}
		if b := next(t, &l, false); frameString(&b) != `c[4001,"rrrrrrrrrr"]` || !b.Final {
			t.Fatalf("first frame %s final=%v", frameString(&b), b.Final)
		}
	})
}
