package transports

import (
	"sync"
	"time"
)

// pump runs the writing side of a long-lived connection (a websocket, or
// a hijacked HTTP stream) on demand. It has no goroutine while there is
// nothing to write: a wake-up from the session, or the heartbeat timer,
// starts one, which calls flush until nothing new has come in and then
// ends. An idle connection, the common case by far, thus costs no
// goroutine stack, and a busy one keeps a single writer.
//
// At most one writer runs at a time, so flush needs no lock of its own.
type pump struct {
	flush func() bool // writes what there is; false once the connection is done for
	tick  func()      // the heartbeat, run on the timer's goroutine

	mu      sync.Mutex // guards the fields below; leaf lock, never held while flushing
	running bool       // a writer goroutine exists
	again   bool       // woken since the writer last looked: it must look again
	stopped bool       // the connection is over: no writer starts, the timer stays off
	timer   *time.Timer
	runFunc func()         // p.run as a func value
	work    sync.WaitGroup // the writer goroutine and a running tick, waited for by stop
}

// start arms the heartbeat: tick runs every period until stop. Only the
// first call counts.
func (p *pump) start(period time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.timer != nil {
		return
	}
	p.timer = time.AfterFunc(period, func() {
		// A tick is work like a writer's: none starts after stop, and
		// stop waits for one under way.
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return
		}
		p.work.Add(1)
		p.mu.Unlock()
		defer p.work.Done()
		p.tick()
		// Re-armed under mu, so that a tick racing with stop cannot
		// bring the timer back after stop turned it off.
		p.mu.Lock()
		if !p.stopped {
			p.timer.Reset(period)
		}
		p.mu.Unlock()
	})
}

// kick makes sure a writer looks at the connection soon. It never blocks,
// and after stop it does nothing, so a session may call it at any time.
func (p *pump) kick() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.again = true
	if p.running {
		p.mu.Unlock()
		return
	}
	p.running = true
	p.work.Add(1)
	if p.runFunc == nil {
		p.runFunc = p.run // made once: "go p.run()" would allocate at every start
	}
	run := p.runFunc
	p.mu.Unlock()
	go run()
}

func (p *pump) run() {
	defer p.work.Done()
	for {
		p.mu.Lock()
		if !p.again { // wake-ups from before stop are still served
			p.running = false
			p.mu.Unlock()
			return
		}
		p.again = false
		p.mu.Unlock()
		if !p.flush() {
			p.mu.Lock()
			p.stopped = true
			p.running = false
			p.stopTimerLocked()
			p.mu.Unlock()
			return
		}
	}
}

// stop ends the pump: the heartbeat stops, no writer starts any more, and
// stop returns once a tick under way has ended and a writer that was
// running has served the wake-ups that came before.
func (p *pump) stop() {
	p.mu.Lock()
	p.stopped = true
	p.stopTimerLocked()
	p.mu.Unlock()
	p.work.Wait()
}

func (p *pump) stopTimerLocked() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

// writeDeadline keeps a connection's write deadline at least a timeout
// away, moving it only once it has come nearer: setting a deadline costs a
// timer update, too much to pay for every message. A write that makes no
// progress thus fails after between 1 and 1.5 timeouts. Owned by the
// writer.
type writeDeadline struct{ at time.Time }

func (d *writeDeadline) arm(conn interface{ SetWriteDeadline(time.Time) error }, timeout time.Duration) {
	now := time.Now()
	if d.at.Sub(now) >= timeout {
		return
	}
	d.at = now.Add(timeout + timeout/2)
	_ = conn.SetWriteDeadline(d.at)
}
