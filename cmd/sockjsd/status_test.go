package main

import (
	"testing"
	"time"

	sockjsprom "github.com/sockjsd/sockjsd/sockjs/prometheus"
)

// TestStatusRates drives a board by hand: ten messages a second in, twenty
// out, over websocket, sampled each second.
func TestStatusRates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newStatusBoard(t0, true, false)
	echo, other := sockjsprom.New(nil, ""), sockjsprom.New(nil, "")
	b.add("echo", echo)
	b.add("other", other)
	echo.SessionOpened("websocket")
	other.SessionOpened("xhr")
	other.Refused("origin")
	b.record(b.snapshot(t0))
	for i := 1; i <= 70; i++ {
		echo.MessagesIn("websocket", 10, 100)
		echo.MessagesOut("websocket", 20, 400)
		b.record(b.snapshot(t0.Add(time.Duration(i) * time.Second)))
	}
	now := t0.Add(70*time.Second + 500*time.Millisecond)
	st := b.status(now)

	if st.UptimeSeconds != 70.5 || st.WindowSeconds != 5.5 {
		t.Errorf("uptime %v, window %v; want 70.5 and 5.5", st.UptimeSeconds, st.WindowSeconds)
	}
	// 50 messages over the last 5.5 s (the counts did not move since the
	// last sample).
	if got, want := st.Total.Rate.MessagesIn, round(50/5.5); got != want {
		t.Errorf("rate in %v, want %v", got, want)
	}
	if got, want := st.Total.Rate.BytesOut, round(2000/5.5); got != want {
		t.Errorf("bytes out rate %v, want %v", got, want)
	}
	if st.Total.Open != 2 || st.Total.MessagesIn != 700 || st.Total.MessagesOut != 1400 {
		t.Errorf("total %+v", st.Total)
	}
	if ws := find(st.Transports, "websocket"); ws.MessagesIn != 700 || ws.Rate.MessagesIn == 0 {
		t.Errorf("websocket row %+v", ws)
	}
	if x := find(st.Transports, "xhr"); x.Open != 1 || x.Rate.MessagesIn != 0 {
		t.Errorf("xhr row %+v", x)
	}
	if got := len(st.Transports); got != 9 {
		t.Errorf("%d transport rows, want 9 (no other)", got)
	}
	if s := find(st.Services, "other"); s.Open != 1 || s.Opened != 1 {
		t.Errorf("other service row %+v", s)
	}
	if st.Refused["origin"] != 1 || st.Refused["session_limit"] != 0 {
		t.Errorf("refused %v", st.Refused)
	}
	h := st.History
	if len(h.MessagesIn) != historyLen || len(h.MessagesOut) != historyLen || len(h.Open) != historyLen {
		t.Fatalf("history of %d, %d, %d points; want %d", len(h.MessagesIn), len(h.MessagesOut), len(h.Open), historyLen)
	}
	for i := range historyLen {
		if h.MessagesIn[i] != 10 || h.MessagesOut[i] != 20 || h.Open[i] != 2 {
			t.Fatalf("history point %d: in %v, out %v, open %v; want 10, 20, 2", i, h.MessagesIn[i], h.MessagesOut[i], h.Open[i])
		}
	}
}

// TestStatusEmpty: before any sample, rates are zero and lists empty,
// not null.
func TestStatusEmpty(t *testing.T) {
	t0 := time.Now()
	b := newStatusBoard(t0, false, false)
	b.add("echo", sockjsprom.New(nil, ""))
	st := b.status(t0)
	if st.Total.Rate != (statusRates{}) || st.WindowSeconds != 0 {
		t.Errorf("rates %+v over %v s, want none", st.Total.Rate, st.WindowSeconds)
	}
	if st.History.MessagesIn == nil || st.History.Open == nil || st.Refused == nil {
		t.Error("empty lists are nil: JSON null")
	}
}
