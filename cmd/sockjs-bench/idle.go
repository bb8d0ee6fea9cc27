package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// verifyMessage is what idle sends on every session at the end.
const verifyMessage = "sockjs-bench idle check"

// runIdle opens Sessions sessions, holds them for Duration and reports the
// server's RSS growth per session and its CPU use while they idle. At the
// end it echoes one message on every session to prove they were alive.
func runIdle(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	tr := cfg.Transports[0]
	res := newResult(r, tr)
	base := r.snapshot()

	var verifying atomic.Bool
	var verified atomic.Int64
	var wg sync.WaitGroup
	// hold reads what the server sends to an idle session: heartbeats,
	// then the verification echo.
	hold := func(c sockjsclient.Conn) {
		defer wg.Done()
		for {
			f, err := c.Recv(time.Time{})
			if err != nil {
				r.fail(err)
				return
			}
			switch {
			case f.Type == sockjsclient.FrameHeartbeat:
			case (f.Type == sockjsclient.FrameArray || f.Type == sockjsclient.FrameMessage) && verifying.Load() &&
				len(f.Messages) == 1 && f.Messages[0] == verifyMessage:
				verified.Add(1)
			case f.Type == sockjsclient.FrameArray && len(f.Messages) == 0:
			case f.Type == sockjsclient.FrameClose:
				r.fail(closeErr(f))
				return
			default:
				r.fail(protoErr(KindFrame, "unexpected %s frame %q on an idle session", f.Type, f.Messages))
				return
			}
		}
	}

	r.logf("opening %d %s sessions to %s", cfg.Sessions, tr, cfg.URL)
	conns := r.openSessionsThen(ctx, cfg.Sessions, tr, func(c sockjsclient.Conn) {
		wg.Add(1)
		go hold(c)
	})
	res.Opened = len(conns)
	r.logf("holding %d sessions; settling for %v, then %v", len(conns), cfg.Settle, cfg.Duration)
	sleepCtx(ctx, cfg.Settle)
	held := r.snapshot()
	sleepCtx(ctx, cfg.Duration)
	end := r.snapshot()
	if ctx.Err() != nil {
		r.fail(protoErr(KindTimeout, "interrupted"))
	}
	res.Seconds = cfg.Duration.Seconds()
	if held != nil && end != nil {
		res.Seconds = end.At.Sub(held.At).Seconds()
	}

	if cfg.Verify && ctx.Err() == nil {
		r.logf("checking every session with one echo")
		verifying.Store(true)
		ch := make(chan sockjsclient.Conn)
		var sw sync.WaitGroup
		for range min(cfg.Concurrency, max(len(conns), 1)) {
			sw.Add(1)
			go func() {
				defer sw.Done()
				for c := range ch {
					if err := c.Send([]string{verifyMessage}, time.Now().Add(cfg.Timeout)); err != nil {
						r.fail(err)
					}
				}
			}()
		}
		for _, c := range conns {
			ch <- c
		}
		close(ch)
		sw.Wait()
		deadline := time.Now().Add(cfg.Timeout)
		for verified.Load() < int64(len(conns)) && time.Now().Before(deadline) && r.errs.Total() == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		res.Verified = verified.Load()
		if n := int64(len(conns)) - res.Verified; n > 0 && r.errs.Total() == 0 {
			r.errs.AddN(KindTimeout, n, "sessions did not echo the check message")
		}
	}
	r.stopping.Store(true)
	closeAll(conns, sockjsclient.CloseGraceful)
	wg.Wait()

	res.serverWindow(r, held, end)
	if res.Server != nil && base != nil && held != nil && len(conns) > 0 {
		res.Server.Before = base
		res.Server.After = held
		res.Server.RSSPerSessionKiB = float64(held.RSSKiB-base.RSSKiB) / float64(len(conns))
	}
	return res
}
