package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// The broadcast scenario expects a service that delivers every message it
// receives to every open session, the sender included (what the
// broadcast examples of sockjs-node and sockjs-go do). Session 0
// publishes; every session checks that it receives each publish, in order.

type bcastSlot struct {
	seq       atomic.Uint64
	sent      atomic.Int64 // unix nanoseconds
	remaining atomic.Int64 // receivers yet to get it
}

type bcastRun struct {
	r          *runner
	pl         payload
	win        *window
	lat        Histogram
	deliveries counter      // inside the window
	publishes  atomic.Int64 // inside the window
	receivers  int64
	slots      []bcastSlot
	sent       atomic.Uint64 // publishes made
	completed  atomic.Uint64 // publishes every receiver has
	credits    atomic.Int64
	wake       chan struct{}
	interval   time.Duration
	failed     atomic.Bool
}

func (b *bcastRun) fail(err error) {
	if b.failed.CompareAndSwap(false, true) {
		b.r.fail(err)
		b.win.stopAt(time.Now())
	}
}

// publisher sends on c, keeping InFlight publishes outstanding.
func (b *bcastRun) publisher(c sockjsclient.Conn) {
	timeout := b.r.cfg.Timeout
	next := time.Now()
	msgs := make([]string, 1)
	for {
		select {
		case <-b.win.stop:
			return
		case <-b.wake:
		}
		for b.credits.Load() > 0 {
			var stamp time.Time // when the publish was due
			if b.interval > 0 {
				sleepUntil(context.Background(), next, b.win.stop)
				stamp = next
				next = next.Add(b.interval)
			}
			select {
			case <-b.win.stop:
				return
			default:
			}
			now := time.Now()
			if now.UnixNano() > b.win.end.Load() {
				b.win.stopAt(now)
				return
			}
			if b.win.contains(now) {
				b.publishes.Add(1)
			}
			if stamp.IsZero() {
				stamp = now
			}
			b.credits.Add(-1)
			seq := b.sent.Load()
			slot := &b.slots[seq%uint64(len(b.slots))]
			slot.seq.Store(seq)
			slot.remaining.Store(b.receivers)
			slot.sent.Store(stamp.UnixNano())
			b.sent.Add(1)
			msgs[0] = b.pl.make(uint32(seq))
			if err := c.Send(msgs, now.Add(timeout)); err != nil {
				b.fail(err)
				return
			}
		}
	}
}

// receiver checks that c gets every publish in order.
func (b *bcastRun) receiver(c sockjsclient.Conn) {
	var want uint64
	for {
		msgs, err := sockjsclient.ReadMessages(c, time.Now().Add(b.r.cfg.Timeout+b.interval))
		if err != nil {
			b.fail(err)
			return
		}
		now := time.Now()
		in := b.win.contains(now)
		for _, m := range msgs {
			seq, ok := b.pl.parse(m)
			if !ok || seq != uint32(want) || want >= b.sent.Load() {
				b.fail(protoErr(KindMismatch, "broadcast %s, want publish #%d", quoteShort([]byte(m)), want))
				return
			}
			slot := &b.slots[want%uint64(len(b.slots))]
			if in {
				if counted, full := b.deliveries.add(); counted {
					b.lat.Record(time.Duration(now.UnixNano() - slot.sent.Load()))
					if full {
						b.win.stopAt(now)
					}
				}
			}
			if slot.remaining.Add(-1) == 0 {
				b.completed.Add(1)
				b.credits.Add(1)
				select {
				case b.wake <- struct{}{}:
				default:
				}
			}
			want++
		}
	}
}

func runBroadcast(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	tr := cfg.Transports[0]
	res := newResult(r, tr)
	r.logf("opening %d %s sessions to %s", cfg.Sessions, tr, cfg.URL)
	conns := r.openSessions(ctx, cfg.Sessions, tr)
	if len(conns) == 0 {
		return res
	}
	if len(conns) < cfg.Sessions {
		// Publishes would not reach the sessions that failed to open.
		r.stopping.Store(true)
		closeAll(conns, sockjsclient.CloseGraceful)
		return res
	}
	// Let every session settle into the server's broadcast set.
	sleepCtx(ctx, 200*time.Millisecond)
	start := time.Now()
	b := &bcastRun{
		r:          r,
		pl:         newPayload(cfg.Size),
		win:        newWindow(start.Add(cfg.Warmup), cfg.Duration),
		deliveries: counter{limit: cfg.Count},
		receivers:  int64(len(conns)),
		slots:      make([]bcastSlot, cfg.InFlight),
		wake:       make(chan struct{}, 1),
	}
	if cfg.Rate > 0 {
		b.interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	b.credits.Store(int64(cfg.InFlight))
	b.wake <- struct{}{}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() { defer wg.Done(); b.receiver(c) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); b.publisher(conns[0]) }()

	r.logf("%d sessions: warming up for %v, measuring for %v", len(conns), cfg.Warmup, cfg.Duration)
	before, after := r.measure(ctx, b.win)
	drainUntil := time.Now().Add(cfg.Timeout)
	for !b.failed.Load() && b.completed.Load() < b.sent.Load() && time.Now().Before(drainUntil) {
		time.Sleep(5 * time.Millisecond)
	}
	if !b.failed.Load() {
		if n := b.sent.Load() - b.completed.Load(); n > 0 {
			r.errs.AddN(KindTimeout, int64(n), "publishes not delivered to every session before the run ended")
		}
	}
	r.stopping.Store(true)
	closeAll(conns, sockjsclient.CloseGraceful)
	wg.Wait()

	res.Seconds = b.win.seconds()
	res.Messages = b.deliveries.load()
	res.Publishes = b.publishes.Load()
	sum := b.lat.Summary()
	res.Latency = &sum
	res.serverWindow(r, before, after)
	return res
}
