package stomp

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestNegotiate(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		sx, sy, cx, cy time.Duration
		send, expect   time.Duration
	}{
		{10000 * ms, 10000 * ms, 10000 * ms, 10000 * ms, 10000 * ms, 10000 * ms},
		{10000 * ms, 10000 * ms, 0, 0, 0, 0},
		{10000 * ms, 10000 * ms, 4000 * ms, 20000 * ms, 20000 * ms, 10000 * ms},
		{0, 10000 * ms, 1000 * ms, 1000 * ms, 0, 10000 * ms},
		{10000 * ms, 0, 1000 * ms, 1000 * ms, 10000 * ms, 0},
	}
	for _, tt := range tests {
		send, expect := negotiate(tt.sx, tt.sy, tt.cx, tt.cy)
		if send != tt.send || expect != tt.expect {
			t.Errorf("negotiate(%v,%v,%v,%v) = %v, %v; want %v, %v", tt.sx, tt.sy, tt.cx, tt.cy, send, expect, tt.send, tt.expect)
		}
	}
}

func TestParseHeartBeat(t *testing.T) {
	tests := []struct {
		in     string
		cx, cy time.Duration
		ok     bool
	}{
		{"", 0, 0, true},
		{"0,0", 0, 0, true},
		{"10000,5000", 10 * time.Second, 5 * time.Second, true},
		{" 1 , 2 ", time.Millisecond, 2 * time.Millisecond, true},
		{"10000", 0, 0, false},
		{"-1,0", 0, 0, false},
		{"a,b", 0, 0, false},
		{"99999999999,0", 0, 0, false},
	}
	for _, tt := range tests {
		cx, cy, ok := parseHeartBeat(tt.in)
		if cx != tt.cx || cy != tt.cy || ok != tt.ok {
			t.Errorf("parseHeartBeat(%q) = %v, %v, %v", tt.in, cx, cy, ok)
		}
	}
}

func TestHeartbeatSends(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var beats atomic.Int32
		var h *heartbeat
		h = newHeartbeat(time.Second, 0, func() { beats.Add(1); h.sent() }, func() { t.Error("dead") })
		h.start()
		defer h.stop()
		time.Sleep(3500 * time.Millisecond)
		if n := beats.Load(); n != 3 {
			t.Errorf("%d beats in 3.5 s of silence, want 3", n)
		}
		// Frames sent meanwhile make beats unnecessary.
		h.sent()
		for range 10 {
			time.Sleep(500 * time.Millisecond)
			h.sent()
		}
		if n := beats.Load(); n != 3 {
			t.Errorf("%d beats while frames went out every 0.5 s, want still 3", n)
		}
	})
}

func TestHeartbeatDetectsSilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var dead atomic.Bool
		h := newHeartbeat(0, time.Second, func() {}, func() { dead.Store(true) })
		h.start()
		defer h.stop()
		// A client that keeps talking lives.
		for range 10 {
			time.Sleep(900 * time.Millisecond)
			h.received()
		}
		if dead.Load() {
			t.Fatal("declared dead while the client talked")
		}
		// One busy with a frame of the client's is not silent.
		h.busy.Store(true)
		time.Sleep(5 * time.Second)
		if dead.Load() {
			t.Fatal("declared dead while handling a frame")
		}
		h.busy.Store(false)
		h.received()
		time.Sleep(1999 * time.Millisecond)
		if dead.Load() {
			t.Fatal("declared dead before two intervals of silence")
		}
		time.Sleep(2 * time.Millisecond)
		if !dead.Load() {
			t.Fatal("alive after two intervals of silence")
		}
	})
}

func TestHeartbeatStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHeartbeat(time.Second, time.Second, func() { t.Error("beat after stop") }, func() { t.Error("dead after stop") })
		h.start()
		h.stop()
		time.Sleep(10 * time.Second)
	})
}
