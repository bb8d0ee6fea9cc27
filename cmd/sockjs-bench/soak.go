package main

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// runSoak opens, uses and drops sessions for Duration — transports and
// ways of leaving (close frame, dropped connection, TCP reset, or for HTTP
// transports simply going away) taken in turn — then waits Settle for the
// server to expire what was left and compares its memory, descriptors,
// threads and goroutines with the start.
func runSoak(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	res := newResult(r, strings.Join(cfg.Transports, ","))
	res.Sessions = 0
	before := r.snapshot()
	if before == nil {
		return res // the error is recorded
	}
	peak := *before
	var peakMu sync.Mutex
	sample := func() {
		s := r.snapshot()
		if s == nil {
			return
		}
		peakMu.Lock()
		defer peakMu.Unlock()
		peak.RSSKiB = max(peak.RSSKiB, s.RSSKiB)
		peak.FDs = max(peak.FDs, s.FDs)
		peak.Threads = max(peak.Threads, s.Threads)
		peak.Goroutines = max(peak.Goroutines, s.Goroutines)
	}

	start := time.Now()
	win := newWindow(start, cfg.Duration)
	var started atomic.Int64
	var lat Histogram
	var sessions, messages atomic.Int64
	var next atomic.Uint64
	pl := newPayload(cfg.Size)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-win.stop:
					return
				default:
				}
				if time.Now().UnixNano() > win.end.Load() || (cfg.Count > 0 && started.Add(1) > cfg.Count) {
					win.stopAt(time.Now())
					return
				}
				n := next.Add(1) - 1
				tr := cfg.Transports[n%uint64(len(cfg.Transports))]
				mode := sockjsclient.CloseMode((n / uint64(len(cfg.Transports))) % 3)
				c, err := r.dial(ctx, tr)
				if err != nil {
					r.fail(err)
					sleepUntil(ctx, time.Now().Add(10*time.Millisecond), win.stop)
					continue
				}
				for i := range cfg.Messages {
					t0 := time.Now()
					if err = echoOnce(c, pl.make(uint32(n)<<8|uint32(i&0xFF)), cfg.Timeout); err != nil {
						r.fail(err)
						break
					}
					lat.Record(time.Since(t0))
					messages.Add(1)
				}
				_ = c.Close(mode)
				sessions.Add(1)
			}
		}()
	}
	r.logf("soaking for %v with %d workers over %s", cfg.Duration, cfg.Concurrency, strings.Join(cfg.Transports, ","))
	tick := time.NewTicker(time.Second)
loop:
	for {
		select {
		case <-ctx.Done():
			r.fail(protoErr(KindTimeout, "interrupted"))
			win.stopAt(time.Now())
			break loop
		case <-win.stop:
			break loop
		case <-tick.C:
			sample()
			r.logf("%d sessions, %d messages", sessions.Load(), messages.Load())
		}
	}
	tick.Stop()
	wg.Wait()
	sample()
	during := r.snapshot()
	r.logf("soak done; settling for %v", cfg.Settle)
	sleepCtx(ctx, cfg.Settle)
	after := r.snapshot()

	res.Seconds = win.seconds()
	res.Connects = sessions.Load()
	res.Messages = messages.Load()
	sum := lat.Summary()
	res.Latency = &sum
	res.serverWindow(r, before, during)
	if res.Server != nil {
		res.Server.After = after
		res.Server.Peak = &peak
	}
	return res
}
