package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// The burst scenario checks a broadcast hub's fan-out when one member
// stops reading: one session connects over websocket with a small receive
// buffer and never reads its socket, so the server's queue for it fills;
// one session sends Messages messages of Size bytes as fast as its
// transport takes them; Readers sessions read as fast as they can. Every
// reader and the sender (a hub delivers to it too) must get every message
// in order, and none of them may be closed, however the server deals with
// the stalled session.

// BurstReport is the burst scenario's result.
type BurstReport struct {
	Messages int     `json:"messages"` // the sender was to send (-messages)
	Sent     int64   `json:"sent"`     // the sender did send
	SendSecs float64 `json:"send_seconds"`
	// TotalSecs runs from the first send to the last delivery at the
	// slowest healthy session.
	TotalSecs float64        `json:"total_seconds"`
	Sender    BurstSession   `json:"sender"`
	Readers   []BurstSession `json:"readers"`
	// MaxGapMs is the longest wait between two deliveries at any healthy
	// session, once its first message arrived.
	MaxGapMs float64      `json:"max_gap_ms"`
	Stalled  StalledState `json:"stalled"`
	// RSSGrowthKiB is the server's peak RSS during the burst less its RSS
	// before (with -pid).
	RSSGrowthKiB int64 `json:"rss_growth_kib,omitempty"`
}

// BurstSession is what one healthy session received.
type BurstSession struct {
	Received  int64   `json:"received"`
	Missed    int64   `json:"missed"`    // skipped over
	Reordered int64   `json:"reordered"` // arrived after a later one
	MaxGapMs  float64 `json:"max_gap_ms"`
	LastMs    float64 `json:"last_ms"` // last delivery, after the first send
	Closed    string  `json:"closed,omitempty"`
}

// StalledState is what became of the session that never read.
type StalledState struct {
	// DroppedMs is when the server dropped the connection, after the first
	// send (a write to it failed); -1 if it never did during the run.
	DroppedMs float64 `json:"dropped_ms"`
	// SentBeforeDrop is how many messages the sender had sent by then.
	SentBeforeDrop int64 `json:"sent_before_drop,omitempty"`
	// Received is how many messages were read from the socket afterwards,
	// in the order they came.
	Received int64 `json:"received"`
	// CloseCode and CloseReason are those of the close frame read at the
	// end; 0 if none came.
	CloseCode   int    `json:"close_code,omitempty"`
	CloseReason string `json:"close_reason,omitempty"`
	// CloseMs is when that close frame was read, after the first send.
	CloseMs float64 `json:"close_ms,omitempty"`
	// End is how reading the socket ended, if not with a close frame.
	End string `json:"end,omitempty"`
}

// probeFrame is a masked websocket text message "[]": an empty SockJS
// batch, which a server ignores. The stalled session writes it now and
// then; once the server has closed the connection, the write fails.
var probeFrame = []byte{0x81, 0x82, 0, 0, 0, 0, '[', ']'}

const probeInterval = 20 * time.Millisecond

// burstReader reads one healthy session and checks the order.
type burstReader struct {
	c      sockjsclient.Conn
	pl     payload
	report BurstSession
	done   chan struct{} // closed when the reader ends
	ready  chan struct{} // closed when the marker arrived
	marker string
	seen   atomic.Int64 // messages received or skipped over
	stop   atomic.Bool  // the run closes the session: its error is no news
}

func (b *burstReader) run(start *atomic.Int64, total int64, timeout time.Duration) {
	defer close(b.done)
	var next uint32
	var last time.Time
	readyOnce := sync.OnceFunc(func() { close(b.ready) })
	for b.report.Received+b.report.Missed < total {
		msgs, err := sockjsclient.ReadMessages(b.c, time.Now().Add(timeout))
		if err != nil {
			if !b.stop.Load() {
				b.report.Closed = classify(err).Error()
			}
			return
		}
		now := time.Now()
		for _, m := range msgs {
			if m == b.marker {
				readyOnce()
				continue
			}
			seq, ok := b.pl.parse(m)
			if !ok {
				b.report.Closed = protoErr(KindMismatch, "message %s is none of the burst's", quoteShort([]byte(m))).Error()
				return
			}
			switch {
			case seq == next:
				next++
			case seq > next:
				b.report.Missed += int64(seq - next)
				next = seq + 1
			default:
				b.report.Reordered++
			}
			b.report.Received++
		}
		b.seen.Store(b.report.Received + b.report.Missed)
		if b.report.Received > 0 {
			if !last.IsZero() {
				b.report.MaxGapMs = max(b.report.MaxGapMs, ms(now.Sub(last)))
			}
			last = now
			b.report.LastMs = ms(now.Sub(time.Unix(0, start.Load())))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func runBurst(ctx context.Context, r *runner) *Result {
	cfg := r.cfg
	tr := cfg.Transports[0]
	res := newResult(r, tr)
	res.Sessions = cfg.Readers
	rep := &BurstReport{Messages: cfg.Messages, Stalled: StalledState{DroppedMs: -1}}
	res.Burst = rep
	deadline := time.Now().Add(cfg.Duration)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(cfg.Timeout))
	defer cancel()

	// The stalled session: a websocket with a small receive buffer.
	var stalledConn atomic.Pointer[net.Conn]
	senv := newEnv(cfg.Targets, false, &Dialer{Sources: cfg.Sources, Timeout: cfg.Timeout, RcvBuf: cfg.RcvBuf}, cfg.BufSize)
	base, opts := senv.options(func(c net.Conn) { stalledConn.Store(&c) })
	dctx, dcancel := context.WithTimeout(ctx, cfg.Timeout)
	stalled, err := sockjsclient.Dial(dctx, sockjsclient.WebSocket, base, opts)
	dcancel()
	if err != nil {
		r.fail(err)
		return res
	}
	defer stalled.Close(sockjsclient.CloseDrop)

	r.logf("opening the sender and %d %s readers on %s", cfg.Readers, tr, cfg.URL)
	conns := r.openSessions(ctx, cfg.Readers+1, tr)
	defer func() {
		r.stopping.Store(true)
		closeAll(conns, sockjsclient.CloseGraceful)
	}()
	if len(conns) < cfg.Readers+1 {
		return res
	}
	pl := newPayload(cfg.Size)
	marker := fmt.Sprintf("burst marker %d", time.Now().UnixNano())
	var start atomic.Int64
	start.Store(time.Now().UnixNano())
	readers := make([]*burstReader, len(conns))
	for i, c := range conns {
		readers[i] = &burstReader{c: c, pl: pl, done: make(chan struct{}), ready: make(chan struct{}), marker: marker}
		go readers[i].run(&start, int64(cfg.Messages), cfg.Timeout)
	}
	sender := conns[0]

	// Every session is in the hub once the marker reached all of them.
	if err := sender.Send([]string{marker}, time.Now().Add(cfg.Timeout)); err != nil {
		r.fail(err)
		return res
	}
	for _, b := range readers {
		select {
		case <-b.ready:
		case <-b.done:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		r.fail(protoErr(KindTimeout, "the sessions did not all receive the start marker"))
		return res
	}

	before := r.snapshot()
	peak := before
	var sent atomic.Int64
	t0 := time.Now()
	start.Store(t0.UnixNano())

	// The stalled session's probe: watches for the server dropping it.
	probeStop := make(chan struct{})
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		c := *stalledConn.Load()
		tick := time.NewTicker(probeInterval)
		defer tick.Stop()
		for {
			select {
			case <-probeStop:
				return
			case <-tick.C:
			}
			_ = c.SetWriteDeadline(time.Now().Add(cfg.Timeout))
			if _, err := c.Write(probeFrame); err != nil {
				rep.Stalled.DroppedMs = ms(time.Since(t0))
				rep.Stalled.SentBeforeDrop = sent.Load()
				return
			}
		}
	}()

	// The server's memory, sampled while the burst runs.
	sampleStop := make(chan struct{})
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampleStop:
				return
			case <-tick.C:
				if s := r.snapshot(); s != nil && (peak == nil || s.RSSKiB > peak.RSSKiB) {
					peak = s
				}
			}
		}
	}()

	r.logf("sending %d messages of %d bytes", cfg.Messages, cfg.Size)
	batch := make([]string, 0, cfg.Batch)
	for n := 0; n < cfg.Messages; {
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.fail(protoErr(KindTimeout, "sent %d of %d messages within -duration", n, cfg.Messages))
			break
		}
		batch = batch[:0]
		for k := 0; k < cfg.Batch && n+k < cfg.Messages; k++ {
			batch = append(batch, pl.make(uint32(n+k)))
		}
		if err := sender.Send(batch, time.Now().Add(cfg.Timeout)); err != nil {
			r.fail(err)
			break
		}
		n += len(batch)
		sent.Store(int64(n))
	}
	rep.SendSecs = time.Since(t0).Seconds()
	rep.Sent = sent.Load()

	// Wait for every session to have what was sent, or to stop making
	// progress for -timeout (it then ends with a timeout of its own).
	n := sent.Load()
	for _, b := range readers {
		waitReader(ctx, b, n)
	}
	close(sampleStop)
	<-sampleDone
	close(probeStop)
	<-probeDone
	after := r.snapshot()

	for i, b := range readers {
		select {
		case <-b.done:
		default:
			// It has every message sent and waits for more (the sender
			// failed), or the run is out of time: stop it.
			b.stop.Store(b.seen.Load() >= n)
			_ = b.c.Close(sockjsclient.CloseDrop)
			<-b.done
		}
		s := b.report
		if i == 0 {
			rep.Sender = s
		} else {
			rep.Readers = append(rep.Readers, s)
		}
		rep.MaxGapMs = max(rep.MaxGapMs, s.MaxGapMs)
		rep.TotalSecs = max(rep.TotalSecs, s.LastMs/1e3)
		who := fmt.Sprintf("reader %d", i)
		if i == 0 {
			who = "sender"
		}
		switch {
		case s.Closed != "":
			r.fail(protoErr(KindConnection, "%s ended after %d messages: %s", who, s.Received, s.Closed))
		case s.Missed > 0 || s.Reordered > 0 || s.Received < n:
			r.fail(protoErr(KindMismatch, "%s received %d of %d sent, missed %d, reordered %d", who, s.Received, n, s.Missed, s.Reordered))
		}
	}

	drainStalled(stalled, &rep.Stalled, t0, cfg.Timeout)

	if before != nil && peak != nil {
		rep.RSSGrowthKiB = peak.RSSKiB - before.RSSKiB
	}
	res.Seconds = rep.TotalSecs
	res.Messages = rep.Sender.Received
	for _, s := range rep.Readers {
		res.Messages += s.Received
	}
	res.serverWindow(r, before, after)
	if res.Server != nil {
		res.Server.Peak = peak
	}
	return res
}

// waitReader waits until b has seen n messages or ended.
func waitReader(ctx context.Context, b *burstReader, n int64) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for b.seen.Load() < n {
		select {
		case <-b.done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// drainStalled reads what the stalled session's socket still holds, up
// to the close frame, the end of the connection or a pause: once read,
// whatever the server had queued flows at once.
func drainStalled(c sockjsclient.Conn, st *StalledState, t0 time.Time, timeout time.Duration) {
	quiet := min(timeout, time.Second)
	for {
		f, err := c.Recv(time.Now().Add(quiet))
		if err != nil {
			if classify(err).Kind == KindTimeout {
				st.End = fmt.Sprintf("nothing more within %v (the session is still open)", quiet)
				return
			}
			st.End = err.Error()
			if errors.Is(err, sockjsclient.ErrBadFrame) {
				st.End = "bad frame: " + err.Error()
			}
			return
		}
		switch f.Type {
		case sockjsclient.FrameClose:
			st.CloseCode, st.CloseReason = f.Code, f.Reason
			st.CloseMs = ms(time.Since(t0))
			return
		case sockjsclient.FrameArray, sockjsclient.FrameMessage:
			st.Received += int64(len(f.Messages))
		}
	}
}
