package main

import (
	"context"
	"sync"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// echoOnce sends msg on c and waits for its echo, skipping heartbeats.
func echoOnce(c sockjsclient.Conn, msg string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if err := c.Send([]string{msg}, deadline); err != nil {
		return err
	}
	got, err := sockjsclient.ReadMessages(c, deadline)
	if err != nil {
		return err
	}
	if len(got) != 1 || got[0] != msg {
		return protoErr(KindMismatch, "echo %q, want %s", got, quoteShort([]byte(msg)))
	}
	return nil
}

// runConnect opens sessions as fast as Concurrency workers can, checks
// each with one echo and closes it. Latency is the time to "o".
func runConnect(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	tr := cfg.Transports[0]
	res := newResult(r, tr)
	res.Sessions = 0
	start := time.Now()
	win := newWindow(start.Add(cfg.Warmup), cfg.Duration)
	var lat Histogram
	connects := counter{limit: cfg.Count}
	pl := newPayload(cfg.Size)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint32(0); ; i++ {
				select {
				case <-win.stop:
					return
				default:
				}
				t0 := time.Now()
				if t0.UnixNano() > win.end.Load() {
					win.stopAt(t0)
					return
				}
				in := !t0.Before(win.start)
				c, err := r.dial(ctx, tr)
				if err != nil {
					r.fail(err)
					// A failing server would otherwise be hammered in a tight loop.
					sleepUntil(ctx, time.Now().Add(10*time.Millisecond), win.stop)
					continue
				}
				opened := time.Now()
				err = echoOnce(c, pl.make(uint32(w)<<20|i&0xFFFFF), cfg.Timeout)
				_ = c.Close(sockjsclient.CloseGraceful)
				if err != nil {
					r.fail(err)
					continue
				}
				if now := time.Now(); in && win.contains(now) {
					if counted, full := connects.add(); counted {
						lat.Record(opened.Sub(t0))
						if full {
							win.stopAt(now)
						}
					}
				}
			}
		}()
	}
	r.logf("%d workers: warming up for %v, measuring for %v", cfg.Concurrency, cfg.Warmup, cfg.Duration)
	before, after := r.measure(ctx, win)
	wg.Wait()
	res.Seconds = win.seconds()
	res.Connects = connects.load()
	sum := lat.Summary()
	res.Latency = &sum
	res.serverWindow(r, before, after)
	return res
}
