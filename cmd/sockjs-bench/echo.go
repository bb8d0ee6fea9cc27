package main

import (
	"context"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// echoRun is the state shared by the sessions of an echo run.
type echoRun struct {
	r        *runner
	pl       payload
	win      *window
	lat      Histogram
	msgs     counter       // echoes received inside the window
	interval time.Duration // between sends of one session; 0: no pacing
}

// echoSession keeps InFlight messages in flight on one session: a sender
// goroutine turns credits into messages and a reader goroutine turns
// echoes back into credits. With -rate, messages are due at fixed
// intervals and latency counts from when a message was due, not from when
// a busy session got round to sending it (no coordinated omission).
type echoSession struct {
	run     *echoRun
	conn    sockjsclient.Conn
	wake    chan struct{} // 1-buffered: credits were returned
	credits atomic.Int64
	sent    atomic.Uint64
	recvd   atomic.Uint64
	times   []atomic.Int64 // send time of seq, at seq & mask
	mask    uint64
	failed  atomic.Bool
}

func newEchoSession(run *echoRun, c sockjsclient.Conn, inflight int) *echoSession {
	n := 1 << bits.Len(uint(inflight)) // a power of two above inflight
	s := &echoSession{
		run:   run,
		conn:  c,
		wake:  make(chan struct{}, 1),
		times: make([]atomic.Int64, n),
		mask:  uint64(n - 1),
	}
	s.credits.Store(int64(inflight))
	s.wake <- struct{}{}
	return s
}

// fail records the session's first error and abandons it.
func (s *echoSession) fail(err error) {
	if s.failed.CompareAndSwap(false, true) {
		s.run.r.fail(err)
		_ = s.conn.Close(sockjsclient.CloseDrop)
	}
}

func (s *echoSession) outstanding() uint64 { return s.sent.Load() - s.recvd.Load() }

func (s *echoSession) sender(start time.Time) {
	run := s.run
	timeout := run.r.cfg.Timeout
	msgs := make([]string, 0, len(s.times))
	next := start
	for {
		select {
		case <-run.win.stop:
			return
		case <-s.wake:
		}
		for s.credits.Load() > 0 {
			k := s.credits.Load()
			var stamp time.Time // when the message was due
			if run.interval > 0 {
				k = 1
				stamp = next
				if d := time.Until(next); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-run.win.stop:
						t.Stop()
						return
					case <-t.C:
					}
				}
				next = next.Add(run.interval)
			}
			now := time.Now()
			select {
			case <-run.win.stop:
				return
			default:
			}
			if now.UnixNano() > run.win.end.Load() {
				run.win.stopAt(now)
				return
			}
			if stamp.IsZero() {
				stamp = now
			}
			s.credits.Add(-k)
			seq := s.sent.Load()
			msgs = msgs[:0]
			for i := uint64(0); i < uint64(k); i++ {
				msgs = append(msgs, run.pl.make(uint32(seq+i)))
				s.times[(seq+i)&s.mask].Store(stamp.UnixNano())
			}
			s.sent.Add(uint64(k))
			if err := s.conn.Send(msgs, now.Add(timeout)); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

func (s *echoSession) reader() {
	run := s.run
	timeout := run.r.cfg.Timeout + run.interval
	for {
		msgs, err := sockjsclient.ReadMessages(s.conn, time.Now().Add(timeout))
		if err != nil {
			s.fail(err)
			return
		}
		now := time.Now()
		in := run.win.contains(now)
		for _, m := range msgs {
			want := s.recvd.Load()
			seq, ok := run.pl.parse(m)
			if !ok || seq != uint32(want) {
				s.fail(protoErr(KindMismatch, "echo %s, want message #%d", quoteShort([]byte(m)), want))
				return
			}
			if want >= s.sent.Load() {
				s.fail(protoErr(KindMismatch, "echo of message #%d before it was sent", want))
				return
			}
			if in {
				if counted, full := run.msgs.add(); counted {
					run.lat.Record(time.Duration(now.UnixNano() - s.times[want&s.mask].Load()))
					if full {
						run.win.stopAt(now)
					}
				}
			}
			s.recvd.Add(1)
		}
		s.credits.Add(int64(len(msgs)))
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func runEcho(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	tr := cfg.Transports[0]
	res := newResult(r, tr)
	r.logf("opening %d %s sessions to %s", cfg.Sessions, tr, cfg.URL)
	conns := r.openSessions(ctx, cfg.Sessions, tr)
	if len(conns) == 0 {
		return res
	}
	start := time.Now()
	run := &echoRun{
		r:    r,
		pl:   newPayload(cfg.Size),
		win:  newWindow(start.Add(cfg.Warmup), cfg.Duration),
		msgs: counter{limit: cfg.Count},
	}
	if cfg.Rate > 0 {
		run.interval = time.Duration(float64(len(conns)) / cfg.Rate * float64(time.Second))
	}
	sessions := make([]*echoSession, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		s := newEchoSession(run, c, cfg.InFlight)
		sessions[i] = s
		// Paced sessions start spread over one interval.
		first := start
		if run.interval > 0 {
			first = start.Add(run.interval * time.Duration(i) / time.Duration(len(conns)))
		}
		wg.Add(2)
		go func() { defer wg.Done(); s.sender(first) }()
		go func() { defer wg.Done(); s.reader() }()
	}
	r.logf("%d sessions: warming up for %v, measuring for %v", len(conns), cfg.Warmup, cfg.Duration)
	before, after := r.measure(ctx, run.win)

	// Wait for the messages still in flight.
	drainUntil := time.Now().Add(cfg.Timeout)
	for time.Now().Before(drainUntil) {
		busy := false
		for _, s := range sessions {
			if !s.failed.Load() && s.outstanding() > 0 {
				busy = true
				break
			}
		}
		if !busy {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var lost int64
	for _, s := range sessions {
		if !s.failed.Load() {
			lost += int64(s.outstanding())
		}
	}
	r.errs.AddN(KindTimeout, lost, "messages not echoed before the run ended")
	r.stopping.Store(true)
	closeAll(conns, sockjsclient.CloseGraceful)
	wg.Wait()

	res.Seconds = run.win.seconds()
	res.Messages = run.msgs.load()
	sum := run.lat.Summary()
	res.Latency = &sum
	res.serverWindow(r, before, after)
	return res
}

// sleepUntil sleeps until t, returning false early if ctx is done or stop
// is closed.
func sleepUntil(ctx context.Context, t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-stop:
		return false
	case <-tm.C:
		return true
	}
}
