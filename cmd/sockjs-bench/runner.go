package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// runner holds what every scenario shares: the configuration, how to
// reach the server, the error tally and the server probe.
type runner struct {
	cfg   *Config
	env   *Env
	errs  Errors
	probe *Probe // nil without -pid
	log   io.Writer

	// stompVersion is the STOMP version the first session negotiated
	// (-stomp).
	stompVersion atomic.Pointer[string]

	// stopping is set once the run is over and the tool closes its own
	// sessions: errors after that are the tool's doing, not the server's.
	stopping atomic.Bool
}

func newRunner(cfg *Config, stderr io.Writer) (*runner, error) {
	r := &runner{
		cfg: cfg,
		env: newEnv(cfg.Targets, cfg.Spread == "request", &Dialer{Sources: cfg.Sources, Timeout: cfg.Timeout}, cfg.BufSize),
		log: stderr,
	}
	if cfg.Quiet {
		r.log = io.Discard
	}
	if cfg.PID != 0 {
		p, err := NewProbe(cfg.PID, cfg.GoroutinesURL)
		if err != nil {
			return nil, err
		}
		r.probe = p
	}
	return r, nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.log, "sockjs-bench: "+format+"\n", args...)
}

// fail records a protocol error unless the run is already being torn down.
func (r *runner) fail(err error) {
	if r.stopping.Load() {
		return
	}
	r.errs.Add(err)
}

// snapshot reads the server's statistics, or returns nil without -pid.
func (r *runner) snapshot() *ProcSnapshot {
	if r.probe == nil {
		return nil
	}
	s, err := r.probe.Snapshot()
	if err != nil {
		r.errs.Add(protoErr(KindConnection, "reading server stats: %v", err))
		return nil
	}
	return &s
}

// dial opens one session with the run's deadline for opening; with
// -stomp, opening includes STOMP's CONNECT and SUBSCRIBE.
func (r *runner) dial(ctx context.Context, transport string) (sockjsclient.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	c, err := dial(ctx, r.env, transport)
	if err != nil || r.cfg.Stomp == nil {
		return c, err
	}
	sc, err := dialStomp(ctx, c, r.cfg.Stomp)
	if err != nil {
		_ = c.Close(sockjsclient.CloseDrop)
		return nil, err
	}
	r.stompVersion.CompareAndSwap(nil, &sc.version)
	return sc, nil
}

// openSessions opens n sessions, cfg.Concurrency at a time, and returns
// those that opened; failures are recorded.
func (r *runner) openSessions(ctx context.Context, n int, transport string) []sockjsclient.Conn {
	return r.openSessionsThen(ctx, n, transport, nil)
}

// openSessionsThen is openSessions calling onOpen (if not nil) with each
// session as soon as it is open.
func (r *runner) openSessionsThen(ctx context.Context, n int, transport string, onOpen func(sockjsclient.Conn)) []sockjsclient.Conn {
	conns := make([]sockjsclient.Conn, n)
	var next, opened atomic.Int64
	var wg sync.WaitGroup
	workers := min(r.cfg.Concurrency, n)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r.logf("opened %d/%d sessions", opened.Load(), n)
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := r.dial(ctx, transport)
				if err != nil {
					r.fail(err)
					continue
				}
				conns[i] = c
				opened.Add(1)
				if onOpen != nil {
					onOpen(c)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// closeAll closes every session concurrently.
func closeAll(conns []sockjsclient.Conn, mode sockjsclient.CloseMode) {
	var wg sync.WaitGroup
	ch := make(chan sockjsclient.Conn)
	for range min(64, len(conns)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				_ = c.Close(mode)
			}
		}()
	}
	for _, c := range conns {
		ch <- c
	}
	close(ch)
	wg.Wait()
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// payload builds a message of size bytes carrying seq: 8 hex digits of
// seq followed by padding.
type payload struct {
	size int
	pad  string
}

func newPayload(size int) payload {
	return payload{size: size, pad: strings.Repeat("x", size-8)}
}

const hexDigits = "0123456789abcdef"

func (p payload) make(seq uint32) string {
	var b strings.Builder
	b.Grow(p.size)
	for shift := 28; shift >= 0; shift -= 4 {
		b.WriteByte(hexDigits[(seq>>shift)&0xF])
	}
	b.WriteString(p.pad)
	return b.String()
}

// parse returns the seq of a message made by make, or false if the
// message is not one.
func (p payload) parse(m string) (uint32, bool) {
	if len(m) != p.size || m[8:] != p.pad {
		return 0, false
	}
	var seq uint32
	for i := 0; i < 8; i++ {
		c := m[i]
		switch {
		case c >= '0' && c <= '9':
			seq = seq<<4 | uint32(c-'0')
		case c >= 'a' && c <= 'f':
			seq = seq<<4 | uint32(c-'a'+10)
		default:
			return 0, false
		}
	}
	return seq, true
}

// counter counts measured events up to an optional limit (-count).
type counter struct {
	limit int64 // 0: none
	n     atomic.Int64
}

// add counts one event unless the limit was reached. full reports that
// this event reached the limit.
func (c *counter) add() (counted, full bool) {
	if c.limit <= 0 {
		c.n.Add(1)
		return true, false
	}
	for {
		n := c.n.Load()
		if n >= c.limit {
			return false, false
		}
		if c.n.CompareAndSwap(n, n+1) {
			return true, n+1 == c.limit
		}
	}
}

func (c *counter) load() int64 { return c.n.Load() }

// window is the measured part of a run: events between start and end
// count. Its stop channel closes when the run stops sending, at the end
// of the window or earlier.
type window struct {
	start    time.Time
	end      atomic.Int64 // unix nanoseconds; ends the window early (count reached)
	stop     chan struct{}
	stopOnce sync.Once
}

func newWindow(start time.Time, d time.Duration) *window {
	w := &window{start: start, stop: make(chan struct{})}
	w.end.Store(start.Add(d).UnixNano())
	return w
}

// stopAt ends the window at t if that is earlier, and stops sending.
func (w *window) stopAt(t time.Time) {
	w.stopOnce.Do(func() {
		w.closeAt(t)
		close(w.stop)
	})
}

// measure waits out the warm-up and the window, reading the server's
// process before and after the window, then stops sending.
func (r *runner) measure(ctx context.Context, w *window) (before, after *ProcSnapshot) {
	if sleepUntil(ctx, w.start, w.stop) {
		before = r.snapshot()
		sleepUntil(ctx, w.endTime(), w.stop)
	}
	w.stopAt(time.Now())
	after = r.snapshot()
	if ctx.Err() != nil {
		r.fail(protoErr(KindTimeout, "interrupted"))
	}
	return before, after
}

func (w *window) contains(t time.Time) bool {
	return !t.Before(w.start) && t.UnixNano() <= w.end.Load()
}

// closeAt ends the window at t if that is earlier.
func (w *window) closeAt(t time.Time) {
	for {
		e := w.end.Load()
		if t.UnixNano() >= e || w.end.CompareAndSwap(e, t.UnixNano()) {
			return
		}
	}
}

func (w *window) endTime() time.Time { return time.Unix(0, w.end.Load()) }

func (w *window) seconds() float64 {
	return w.endTime().Sub(w.start).Seconds()
}
