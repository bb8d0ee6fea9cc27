package main

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// SpikeReport is spike's result: the server's RSS before, at the peak and
// each second after the spike's sessions were abandoned, and how a few
// live sessions fared meanwhile.
type SpikeReport struct {
	PerTransport   int   `json:"per_transport"` // sessions opened on each transport
	Opened         int   `json:"opened"`
	BeforeKiB      int64 `json:"before_rss_kib"`
	PeakKiB        int64 `json:"peak_rss_kib"`
	PeakGoroutines int   `json:"peak_goroutines"`
	// TimelineKiB is the RSS each second after the abandon, [0] at once.
	TimelineKiB []int64 `json:"timeline_kib"`
	// BackSecs is when RSS first came within 25 % of the level before the
	// spike, in seconds after the abandon; -1 if it did not.
	BackSecs float64 `json:"back_within_25pct_secs"`
	// Live is the echo round trip of the live sessions while the spike's
	// sessions ended (from the abandon to the end of the run).
	Live *Summary `json:"live_latency,omitempty"`
}

// spikeLiveEvery is how often each live session echoes a message.
const spikeLiveEvery = 50 * time.Millisecond

// runSpike opens Sessions sessions on each transport in turn (read as an
// idle client reads them, unless -read=false), then abandons them all at once by dropping
// their connections, and samples the server's RSS every second for
// Duration. Meanwhile Live websocket sessions echo a message every 50 ms,
// so that a pause of the server while it returns memory shows up as
// their latency.
func runSpike(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	res := newResult(r, strings.Join(cfg.Transports, ","))
	rep := &SpikeReport{PerTransport: cfg.Sessions, BackSecs: -1}
	res.Spike = rep
	before := r.snapshot()
	if before == nil {
		return res
	}
	rep.BeforeKiB = before.RSSKiB

	// The live sessions, echoing from now to the end.
	live := r.openSessions(ctx, cfg.Live, "websocket")
	var lat Histogram
	var measuring atomic.Bool
	stopLive := make(chan struct{})
	var lwg sync.WaitGroup
	pl := newPayload(cfg.Size)
	for i, c := range live {
		lwg.Add(1)
		go func() {
			defer lwg.Done()
			t := time.NewTicker(spikeLiveEvery)
			defer t.Stop()
			for n := uint32(0); ; n++ {
				select {
				case <-stopLive:
					return
				case <-t.C:
				}
				t0 := time.Now()
				if err := echoOnce(c, pl.make(uint32(i)<<20|n&0xFFFFF), cfg.Timeout); err != nil {
					r.fail(err)
					return
				}
				if measuring.Load() {
					lat.Record(time.Since(t0))
				}
			}
		}()
	}

	// The spike: held sessions, read as idle reads them.
	var hwg sync.WaitGroup
	var spike []sockjsclient.Conn
	var dropping atomic.Bool
	hold := func(c sockjsclient.Conn) {
		defer hwg.Done()
		for {
			f, err := c.Recv(time.Time{})
			if err != nil {
				if !dropping.Load() {
					r.fail(err)
				}
				return
			}
			if f.Type == sockjsclient.FrameClose {
				r.fail(closeErr(f))
				return
			}
		}
	}
	for _, tr := range cfg.Transports {
		r.logf("opening %d %s sessions to %s", cfg.Sessions, tr, cfg.URL)
		var onOpen func(sockjsclient.Conn)
		if cfg.Verify {
			onOpen = func(c sockjsclient.Conn) {
				hwg.Add(1)
				go hold(c)
			}
		}
		spike = append(spike, r.openSessionsThen(ctx, cfg.Sessions, tr, onOpen)...)
	}
	rep.Opened = len(spike)
	sleepCtx(ctx, cfg.Settle)
	peak := r.snapshot()
	if peak != nil {
		rep.PeakKiB, rep.PeakGoroutines = peak.RSSKiB, peak.Goroutines
	}

	r.logf("abandoning %d sessions; sampling the server's RSS for %v", len(spike), cfg.Duration)
	dropping.Store(true)
	measuring.Store(true)
	closeAll(spike, sockjsclient.CloseDrop)
	hwg.Wait()
	abandoned := time.Now()
	target := before.RSSKiB + before.RSSKiB/4
	t := time.NewTicker(time.Second)
	for i := 0; ; i++ {
		s := r.snapshot()
		if s == nil {
			break
		}
		rep.TimelineKiB = append(rep.TimelineKiB, s.RSSKiB)
		if rep.BackSecs < 0 && s.RSSKiB <= target {
			rep.BackSecs = s.At.Sub(abandoned).Seconds()
		}
		if i%10 == 0 {
			r.logf("%3d s: rss %s", i, mib(s.RSSKiB))
		}
		if time.Since(abandoned) >= cfg.Duration || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	t.Stop()
	if ctx.Err() != nil {
		r.fail(protoErr(KindTimeout, "interrupted"))
	}
	close(stopLive)
	lwg.Wait()
	r.stopping.Store(true)
	closeAll(live, sockjsclient.CloseGraceful)

	sum := lat.Summary()
	rep.Live = &sum
	res.Seconds = time.Since(abandoned).Seconds()
	res.serverWindow(r, before, r.snapshot())
	return res
}
