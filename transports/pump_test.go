package transports

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// goroutineID returns the calling goroutine's id, read from its stack
// header ("goroutine 7 [running]:"). Ids are never reused, so an id seen
// once tells later whether that very goroutine still exists.
func goroutineID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n])
	id, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		panic("unexpected stack header: " + string(buf[:n]))
	}
	return id
}

// liveGoroutines returns the ids of all goroutines that exist now.
func liveGoroutines() map[uint64]bool {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	ids := make(map[uint64]bool)
	for line := range bytes.Lines(buf) {
		rest, ok := bytes.CutPrefix(line, []byte("goroutine "))
		if !ok {
			continue
		}
		if id, _, ok := bytes.Cut(rest, []byte(" ")); ok {
			if n, err := strconv.ParseUint(string(id), 10, 64); err == nil {
				ids[n] = true
			}
		}
	}
	return ids
}

// pumpProbe records what a pump does with its flush and tick: how often
// they ran, when, and on which goroutines. Its flush can be held (blocked)
// on chosen calls, which lets a test act while a writer is mid-flush.
type pumpProbe struct {
	p pump

	flushes  atomic.Int32 // flushes started
	finished atomic.Int32 // flushes returned
	ticks    atomic.Int32
	// hold, if set, is consulted at the start of the nth flush (from 1);
	// a non-nil channel blocks that flush until it is closed.
	hold func(n int32) <-chan struct{}
	// fail makes the nth flush report the connection done for.
	fail func(n int32) bool
	// onTick runs inside the nth tick (from 1).
	onTick func(n int32)

	mu        sync.Mutex
	tickTimes []time.Time
	ran       map[uint64]bool // goroutines that ran flush or tick
}

func newPumpProbe() *pumpProbe {
	pr := &pumpProbe{ran: make(map[uint64]bool)}
	pr.p.flush = pr.flush
	pr.p.tick = pr.tick
	return pr
}

func (pr *pumpProbe) noteGoroutine() {
	pr.mu.Lock()
	pr.ran[goroutineID()] = true
	pr.mu.Unlock()
}

func (pr *pumpProbe) flush() bool {
	pr.noteGoroutine()
	n := pr.flushes.Add(1)
	if pr.hold != nil {
		if c := pr.hold(n); c != nil {
			<-c
		}
	}
	defer pr.finished.Add(1)
	return pr.fail == nil || !pr.fail(n)
}

func (pr *pumpProbe) tick() {
	pr.noteGoroutine()
	n := pr.ticks.Add(1)
	pr.mu.Lock()
	pr.tickTimes = append(pr.tickTimes, time.Now())
	pr.mu.Unlock()
	if pr.onTick != nil {
		pr.onTick(n)
	}
}

// wantNoGoroutines fails if a goroutine that ran flush or tick still
// exists. Call it after synctest.Wait, when the bubble has settled: a
// writer or timer goroutine that is not blocked has then exited.
func (pr *pumpProbe) wantNoGoroutines(t *testing.T) {
	t.Helper()
	live := liveGoroutines()
	pr.mu.Lock()
	defer pr.mu.Unlock()
	var left []uint64
	for id := range pr.ran {
		if live[id] {
			left = append(left, id)
		}
	}
	if len(left) > 0 {
		t.Errorf("goroutines %v, which ran the pump's flush or tick, still exist:\n%s", left, allGoroutineStacks())
	}
	pr.p.mu.Lock()
	defer pr.p.mu.Unlock()
	if pr.p.running {
		t.Error("pump still marks a writer as running")
	}
}

func (pr *pumpProbe) writerGoroutines() int {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return len(pr.ran)
}

func allGoroutineStacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// holdFirst blocks the first flush until release is closed.
func holdFirst(release chan struct{}) func(int32) <-chan struct{} {
	return func(n int32) <-chan struct{} {
		if n == 1 {
			return release
		}
		return nil
	}
}

// Every kick is followed by a flush that starts after it, kicks that
// arrive during a flush coalesce into one more, and a writer that has run
// dry ends: an idle pump holds no goroutine.
func TestPumpKickFlushes(t *testing.T) {
	tests := []struct {
		name        string
		kicks       int  // before the writer is held in its first flush
		kicksDuring int  // while the first flush is held
		selfKick    bool // the first flush kicks the pump itself
		kicksAfter  int  // each after the pump went idle again
		want        int32
		writers     int // distinct writer goroutines
	}{
		{name: "no kick, no flush", want: 0, writers: 0},
		{name: "one kick, one flush", kicks: 1, want: 1, writers: 1},
		{name: "kick during a flush flushes again", kicks: 1, kicksDuring: 1, want: 2, writers: 1},
		{name: "kicks during a flush coalesce", kicks: 1, kicksDuring: 10, want: 2, writers: 1},
		{name: "flush that kicks runs again", kicks: 1, selfKick: true, want: 2, writers: 1},
		{name: "kick after going idle starts a new writer", kicks: 1, kicksAfter: 2, want: 3, writers: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPumpProbe()
				release := make(chan struct{})
				pr.hold = func(n int32) <-chan struct{} {
					if n != 1 {
						return nil
					}
					if tc.selfKick {
						pr.p.kick()
					}
					return release
				}
				for range tc.kicks {
					pr.p.kick()
				}
				synctest.Wait() // the writer, if any, is held in its first flush
				if tc.kicks > 0 {
					if got := pr.flushes.Load(); got != 1 {
						t.Fatalf("%d flushes under way, want 1", got)
					}
				}
				for range tc.kicksDuring {
					pr.p.kick()
				}
				close(release)
				synctest.Wait()
				for range tc.kicksAfter {
					pr.p.kick()
					synctest.Wait()
				}
				if got := pr.flushes.Load(); got != tc.want {
					t.Errorf("%d flushes, want %d", got, tc.want)
				}
				if got := pr.writerGoroutines(); got != tc.writers {
					t.Errorf("flushes ran on %d goroutines, want %d", got, tc.writers)
				}
				pr.wantNoGoroutines(t)
				pr.p.stop()
			})
		})
	}
}

// kickHammer kicks a pump from many goroutines at once. Each kick first
// bumps a counter; each flush notes the counter at its start. A kick is
// served when a flush notes at least its value.
type kickHammer struct {
	pr        *pumpProbe
	kicks     atomic.Int64 // bumped before each kick
	served    atomic.Int64 // the highest count a flush saw at its start
	inFlush   atomic.Int32
	overlaps  atomic.Int32
	backwards atomic.Int32 // a flush saw less than one before it
}

func newKickHammer() *kickHammer {
	h := &kickHammer{pr: newPumpProbe()}
	h.pr.hold = func(int32) <-chan struct{} {
		if h.inFlush.Add(1) != 1 {
			h.overlaps.Add(1)
		}
		seen := h.kicks.Load()
		if seen < h.served.Load() {
			h.backwards.Add(1)
		}
		h.served.Store(seen)
		runtime.Gosched() // a longer flush lets more kicks land during it
		h.inFlush.Add(-1)
		return nil
	}
	return h
}

func (h *kickHammer) kick() int64 {
	v := h.kicks.Add(1)
	h.pr.p.kick()
	return v
}

func (h *kickHammer) check(t *testing.T) {
	t.Helper()
	if n := h.overlaps.Load(); n > 0 {
		t.Errorf("%d flushes started while another ran", n)
	}
	if n := h.backwards.Load(); n > 0 {
		t.Errorf("%d flushes saw an older kick count than the flush before them", n)
	}
}

// Kicks from many goroutines: flushes never overlap, and the last kick
// is always followed by a flush that saw it (no lost wake-up), whether the
// writer then goes idle or stop ends the pump.
func TestPumpKickHammer(t *testing.T) {
	const (
		rounds  = 50
		kickers = 8
		each    = 200
	)
	hammer := func(h *kickHammer) {
		var wg sync.WaitGroup
		for range kickers {
			wg.Go(func() {
				for range each {
					h.kick()
				}
			})
		}
		wg.Wait()
	}
	t.Run("settled by going idle", func(t *testing.T) {
		for range rounds {
			synctest.Test(t, func(t *testing.T) {
				h := newKickHammer()
				hammer(h)
				synctest.Wait() // the writer has run dry and ended
				if got, want := h.served.Load(), h.kicks.Load(); got != want {
					t.Fatalf("the last flush saw %d kicks of %d: a wake-up was lost", got, want)
				}
				h.check(t)
				h.pr.wantNoGoroutines(t)
				h.pr.p.stop()
			})
		}
	})
	t.Run("settled by stop", func(t *testing.T) {
		for range rounds {
			synctest.Test(t, func(t *testing.T) {
				h := newKickHammer()
				hammer(h)
				h.pr.p.stop() // serves the kicks that came before it
				if got, want := h.served.Load(), h.kicks.Load(); got != want {
					t.Fatalf("the last flush saw %d kicks of %d: a wake-up was lost", got, want)
				}
				h.check(t)
				synctest.Wait()
				h.pr.wantNoGoroutines(t)
			})
		}
	})
	// Kicks keep coming while stop runs: those that returned before stop
	// was called are served, and nothing flushes once stop has returned.
	t.Run("stop amid kicks", func(t *testing.T) {
		for range rounds {
			synctest.Test(t, func(t *testing.T) {
				h := newKickHammer()
				var returned atomic.Int64 // the highest count whose kick has returned
				kick := func() {
					v := h.kick()
					for {
						old := returned.Load()
						if v <= old || returned.CompareAndSwap(old, v) {
							return
						}
					}
				}
				var wg sync.WaitGroup
				warm := make(chan struct{}, kickers)
				stopReturned := make(chan struct{})
				for range kickers {
					wg.Go(func() {
						for i := range each {
							kick()
							if i == each/2 {
								warm <- struct{}{} // stop comes amid the rest
							}
						}
						<-stopReturned
						for range 10 {
							kick()
						}
					})
				}
				for range kickers {
					<-warm
				}
				mustServe := returned.Load()
				h.pr.p.stop()
				flushesAtStop := h.pr.flushes.Load()
				close(stopReturned)
				if got := h.served.Load(); got < mustServe {
					t.Fatalf("stop returned with kick %d, made before it, unserved (last flush saw %d)", mustServe, got)
				}
				wg.Wait()
				synctest.Wait()
				if got := h.pr.flushes.Load(); got != flushesAtStop {
					t.Fatalf("%d flushes after stop returned", got-flushesAtStop)
				}
				h.check(t)
				h.pr.wantNoGoroutines(t)
			})
		}
	})
}

// stop ends the pump: it waits for a running flush, which still serves
// kicks from before stop, and after it kicks do nothing.
func TestPumpStop(t *testing.T) {
	tests := []struct {
		name         string
		kick         bool // a writer is held in its first flush when stop is called
		kickBefore   bool // kicked during the held flush, before stop
		kickDuring   bool // kicked while stop waits for the writer
		kickAfter    bool // kicked after stop returned
		wantFlushes  int32
		wantWaitsFor bool // stop waits for the held flush
	}{
		{name: "idle pump", wantFlushes: 0},
		{name: "kick after stop does nothing", kickAfter: true, wantFlushes: 0},
		{name: "waits for a running flush", kick: true, wantFlushes: 1, wantWaitsFor: true},
		{name: "serves a kick from before stop", kick: true, kickBefore: true, wantFlushes: 2, wantWaitsFor: true},
		{name: "ignores a kick while it waits", kick: true, kickDuring: true, wantFlushes: 1, wantWaitsFor: true},
		{name: "ignores a kick after it", kick: true, kickAfter: true, wantFlushes: 1, wantWaitsFor: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPumpProbe()
				release := make(chan struct{})
				pr.hold = holdFirst(release)
				if tc.kick {
					pr.p.kick()
					synctest.Wait()
				}
				if tc.kickBefore {
					pr.p.kick()
				}
				stopped := make(chan struct{})
				go func() {
					pr.p.stop()
					close(stopped)
				}()
				synctest.Wait()
				select {
				case <-stopped:
					if tc.wantWaitsFor {
						t.Fatal("stop returned while a flush was running")
					}
				default:
					if !tc.wantWaitsFor {
						t.Fatal("stop blocks with no writer running")
					}
				}
				if tc.kickDuring {
					pr.p.kick()
				}
				close(release)
				<-stopped
				if started, finished := pr.flushes.Load(), pr.finished.Load(); started != finished {
					t.Errorf("stop returned with %d of %d flushes unfinished", started-finished, started)
				}
				if tc.kickAfter {
					pr.p.kick()
				}
				pr.p.stop() // a second stop is harmless
				synctest.Wait()
				if got := pr.flushes.Load(); got != tc.wantFlushes {
					t.Errorf("%d flushes, want %d", got, tc.wantFlushes)
				}
				pr.wantNoGoroutines(t)
			})
		})
	}
}

// A flush that reports the connection done for ends the pump for good:
// kicks, also those made during that flush, no longer flush, and the
// heartbeat stops.
func TestPumpFlushFalseStops(t *testing.T) {
	const period = time.Second
	tests := []struct {
		name        string
		ticksBefore int32 // heartbeats before the failing flush
		kickDuring  bool  // kicked while the failing flush runs
	}{
		{name: "before the first heartbeat"},
		{name: "after heartbeats", ticksBefore: 3},
		{name: "kick during the failing flush", kickDuring: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPumpProbe()
				release := make(chan struct{})
				pr.hold = holdFirst(release)
				pr.fail = func(n int32) bool { return n == 1 }
				pr.p.start(period)
				time.Sleep(time.Duration(tc.ticksBefore)*period + period/2)
				pr.p.kick()
				synctest.Wait() // held in the flush that will fail
				if tc.kickDuring {
					pr.p.kick()
				}
				close(release)
				synctest.Wait()
				for range 3 {
					pr.p.kick()
				}
				time.Sleep(10 * period)
				synctest.Wait()
				if got := pr.flushes.Load(); got != 1 {
					t.Errorf("%d flushes, want only the failing one", got)
				}
				if got := pr.ticks.Load(); got != tc.ticksBefore {
					t.Errorf("%d heartbeats, want %d: the timer outlived the failed flush", got, tc.ticksBefore)
				}
				pr.wantNoGoroutines(t)
				pr.p.start(period) // a dead pump does not come back
				time.Sleep(10 * period)
				if got := pr.ticks.Load(); got != tc.ticksBefore {
					t.Errorf("start after the pump ended: %d heartbeats, want %d", got, tc.ticksBefore)
				}
				pr.p.stop()
			})
		})
	}
}

// The heartbeat ticks once every period from start, and never after stop,
// also when stop comes while a tick runs (the tick re-arms the timer, and
// must not once stop has turned it off).
func TestPumpHeartbeat(t *testing.T) {
	const period = time.Second
	tests := []struct {
		name       string
		stopAfter  time.Duration // since start
		holdTick   int32         // this tick (from 1) is running when stop is called
		ticksKick  bool          // each tick kicks, as the websocket heartbeat does
		wantTicks  int32
		racy       bool // the last tick races with stop: it may not run
		stopBefore bool // stop before start
	}{
		{name: "ticks every period", stopAfter: 5*period + period/2, wantTicks: 5},
		{name: "stop before the first tick", stopAfter: period / 2, wantTicks: 0},
		{name: "stop at a tick's time", stopAfter: 3 * period, wantTicks: 3, racy: true},
		{name: "stop while the first tick runs", holdTick: 1, wantTicks: 1},
		{name: "stop while a later tick runs", holdTick: 4, wantTicks: 4},
		{name: "ticks that kick flush", stopAfter: 4*period + period/2, ticksKick: true, wantTicks: 4},
		{name: "stop while a kicking tick runs", holdTick: 2, ticksKick: true, wantTicks: 2},
		{name: "start after stop", stopBefore: true, stopAfter: period, wantTicks: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				pr := newPumpProbe()
				release := make(chan struct{})
				holding := make(chan struct{})
				pr.onTick = func(n int32) {
					if n == tc.holdTick {
						close(holding)
						<-release
					}
					if tc.ticksKick {
						pr.p.kick()
					}
				}
				if tc.stopBefore {
					pr.p.stop()
				}
				start := time.Now()
				pr.p.start(period)
				stopped := make(chan struct{})
				if tc.holdTick > 0 {
					<-holding
					synctest.Wait() // the tick is blocked, its timer not yet re-armed
					// stop may or may not wait for a running tick; either
					// way it must keep the timer off.
					go func() {
						pr.p.stop()
						close(stopped)
					}()
					synctest.Wait()
					close(release)
				} else {
					time.Sleep(tc.stopAfter)
					pr.p.stop()
					close(stopped)
				}
				<-stopped
				time.Sleep(10 * period)
				synctest.Wait()
				got := pr.ticks.Load()
				if got != tc.wantTicks && !(tc.racy && got == tc.wantTicks-1) {
					t.Errorf("%d ticks, want %d", got, tc.wantTicks)
				}
				pr.mu.Lock()
				for i, at := range pr.tickTimes {
					if want := time.Duration(i+1) * period; at.Sub(start) != want {
						t.Errorf("tick %d at %v, want %v", i+1, at.Sub(start), want)
					}
				}
				pr.mu.Unlock()
				wantFlushes := int32(0)
				if tc.ticksKick {
					// The kick of a tick that ran into stop is dropped.
					wantFlushes = got
					if tc.holdTick > 0 {
						wantFlushes--
					}
				}
				if got := pr.flushes.Load(); got != wantFlushes {
					t.Errorf("%d flushes, want %d", got, wantFlushes)
				}
				pr.wantNoGoroutines(t)
			})
		})
	}
}

// A tick that fired just as stop ran either ends before stop returns or
// never starts: stop waits for ticks as it waits for writers.
func TestPumpNoTickStartsAfterStop(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			var stopReturned, lateTick atomic.Bool
			p := &pump{flush: func() bool { return true }}
			p.tick = func() { lateTick.Store(lateTick.Load() || stopReturned.Load()) }
			p.start(time.Second)
			time.Sleep(time.Second) // wakes at the very instant the timer fires
			p.stop()
			stopReturned.Store(true)
			synctest.Wait()
			if lateTick.Load() {
				t.Fatal("a tick started after stop returned")
			}
		})
	}
}
