package stomp

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// parseHeartBeat reads a heart-beat header, "cx,cy" in milliseconds. An
// absent header is "0,0".
func parseHeartBeat(s string) (cx, cy time.Duration, ok bool) {
	if s == "" {
		return 0, 0, true
	}
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 31)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 31)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return time.Duration(x) * time.Millisecond, time.Duration(y) * time.Millisecond, true
}

// negotiate returns how often the server sends heart-beats and how often
// it expects them, from what the server offers (sx: it can send, sy: it
// wants) and what the client's CONNECT said (cx: it can send, cy: it
// wants). Zero means none in that direction.
func negotiate(sx, sy, cx, cy time.Duration) (send, expect time.Duration) {
	if sx > 0 && cy > 0 {
		send = max(sx, cy)
	}
	if cx > 0 && sy > 0 {
		expect = max(cx, sy)
	}
	return send, expect
}

// heartbeat keeps one STOMP session's heart-beats: it sends an EOL when
// the server has sent nothing for the send interval, and declares the
// client dead when nothing came from it for twice the expected interval.
// It runs as a timer callback, no goroutine: the callback only queues a
// message or closes the session, both of which return at once.
type heartbeat struct {
	send, expect time.Duration // zero: off
	base         time.Time     // monotonic origin of the times below
	lastSend     atomic.Int64  // nanoseconds since base of the last frame sent
	lastRecv     atomic.Int64  // of the last message received
	busy         atomic.Bool   // the session's goroutine is handling a frame: the client is not silent, we are
	beat         func()        // sends an EOL
	dead         func()        // closes the session

	mu      sync.Mutex // guards timer and stopped; leaf lock
	timer   *time.Timer
	stopped bool
}

// deadAfter is how many expected intervals of silence end a session, as
// the spec suggests and stomp.js does on its side.
const deadAfter = 2

func (h *heartbeat) now() int64 { return int64(time.Since(h.base)) }

func (h *heartbeat) sent()     { h.lastSend.Store(h.now()) }
func (h *heartbeat) received() { h.lastRecv.Store(h.now()) }

// newHeartbeat returns a heartbeat, not started, that counts both
// directions as active now.
func newHeartbeat(send, expect time.Duration, beat, dead func()) *heartbeat {
	return &heartbeat{send: send, expect: expect, base: time.Now(), beat: beat, dead: dead}
}

// start arms the timer; a heartbeat with nothing to do does nothing.
func (h *heartbeat) start() {
	if h.send <= 0 && h.expect <= 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return
	}
	h.timer = time.AfterFunc(h.wait(h.now()), h.tick)
}

// stop ends the heartbeat; no tick runs after it returns except one
// already under way, which does nothing more.
func (h *heartbeat) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	if h.timer != nil {
		h.timer.Stop()
	}
}

func (h *heartbeat) tick() {
	now := h.now()
	if h.expect > 0 && time.Duration(now-h.lastRecv.Load()) >= deadAfter*h.expect {
		if !h.busy.Load() {
			h.stop()
			h.dead()
			return
		}
		h.lastRecv.Store(now) // a frame of the client's is being handled
	}
	if h.send > 0 && time.Duration(now-h.lastSend.Load()) >= h.send {
		h.beat()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.stopped {
		h.timer.Reset(h.wait(h.now()))
	}
}

// wait is how long from now until the next thing to check.
func (h *heartbeat) wait(now int64) time.Duration {
	next := time.Duration(1<<62 - 1)
	if h.send > 0 {
		next = min(next, time.Duration(h.lastSend.Load()-now)+h.send)
	}
	if h.expect > 0 {
		next = min(next, time.Duration(h.lastRecv.Load()-now)+deadAfter*h.expect)
	}
	return max(next, time.Millisecond)
}
