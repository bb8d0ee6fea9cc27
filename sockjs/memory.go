package sockjs

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// After a spike of sessions ends, their memory is garbage, but the Go
// runtime gives it back to the operating system slowly: the collector's
// goal was set by the peak, so the next collection may not come before
// the runtime's forced one two minutes later, and the scavenger returns
// pages at a gentle pace after that. A Server therefore returns memory
// itself when its count of open sessions falls sharply: when it has
// fallen by at least releaseMinDrop sessions and to half or less of its
// peak since the last release. The release (two collections, then every
// free page back to the system with debug.FreeOSMemory) runs on a
// goroutine of its own once no session has ended for releaseSettle (so
// that the rest of a mass disconnect is garbage too), at most once per
// releaseEvery in the
// process, and ends early when the Server shuts down. Live sessions keep
// running meanwhile: the collection stops the world only for its short
// phases, as any collection does.
const (
	releaseMinDrop   = 1000
	releaseSettle    = time.Second
	releaseSettleMax = 10 * time.Second
	releaseEvery     = 15 * time.Second
)

// osRelease is the process's last release: memory is the process's, so
// every Server shares the rate limit.
var osRelease struct {
	mu   sync.Mutex // guards last; held while releasing, so releases never overlap
	last time.Time
}

// memoryRelease watches one Server's count of open sessions. Its
// thresholds are fields so that tests can lower them.
type memoryRelease struct {
	minDrop int64
	settle  time.Duration
	every   time.Duration
	free    func() // debug.FreeOSMemory

	open    atomic.Int64 // sessions whose handler runs
	peak    atomic.Int64 // most open since the last release was scheduled
	lastEnd atomic.Int64 // when a session last ended, in Unix nanoseconds
	pending atomic.Bool  // a release goroutine is scheduled or running
}

func newMemoryRelease() *memoryRelease {
	return &memoryRelease{minDrop: releaseMinDrop, settle: releaseSettle, every: releaseEvery, free: freeOSMemory}
}

// freeOSMemory collects twice and returns what is free to the system.
// One collection is not enough: what sync.Pools hold (net/http's
// connection buffers, 8 KiB per connection, the websocket read buffers)
// survives one collection as the pools' victims, and what a finalizer (a
// connection's descriptor) still reaches survives until the finalizer has
// run. After 10,000 sessions the second collection halved what one left
// (a third one changed nothing that the system sees); each costs a few
// milliseconds of one core with the small heap left after a spike.
func freeOSMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

// opened counts a session whose handler starts.
func (m *memoryRelease) opened() {
	n := m.open.Add(1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
}

// ended counts a session whose handler returned and reports whether a
// release is due now that it ended; the caller then runs release.
func (m *memoryRelease) ended() bool {
	n := m.open.Add(-1)
	m.lastEnd.Store(time.Now().UnixNano())
	p := m.peak.Load()
	if p-n < m.minDrop || n > p/2 || !m.pending.CompareAndSwap(false, true) {
		return false
	}
	m.peak.Store(n) // the next fall is measured from here
	return true
}

// release waits until no session has ended for the settle time (at most
// releaseSettleMax: sessions of a mass disconnect end over a few seconds)
// and for the process's rate limit, then returns free memory to the
// operating system, unless stop is closed first.
func (m *memoryRelease) release(stop <-chan struct{}) {
	defer m.pending.Store(false)
	start := time.Now()
	wait := m.settle
	for {
		t := time.NewTimer(wait)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Now()
		if quiet := now.Sub(time.Unix(0, m.lastEnd.Load())); quiet < m.settle && now.Sub(start) < releaseSettleMax {
			wait = m.settle - quiet
			continue
		}
		osRelease.mu.Lock()
		wait = time.Until(osRelease.last.Add(m.every))
		if wait <= 0 {
			m.free()
			osRelease.last = time.Now()
		}
		osRelease.mu.Unlock()
		if wait <= 0 {
			// Sessions that ended while this waited are released too:
			// measure the next fall from what is open now.
			m.peak.Store(m.open.Load())
			return
		}
	}
}
