package main

import (
	"strings"
	"testing"
)

// A short burst against our engine: every healthy session gets every
// message, and the stalled session is reported (a burst this small fits
// in its queue, so it is not closed).
func TestBurstAgainstEngine(t *testing.T) {
	srv := newEngineServer(t)
	code, res, stderr := runTool(t, "burst", "-url", srv.URL+"/broadcast", "-messages", "2000", "-size", "64",
		"-readers", "2", "-duration", "15s", "-timeout", "5s")
	if code != 0 || res == nil || !res.Valid {
		t.Fatalf("exit %d: %+v %s", code, res, stderr)
	}
	b := res.Burst
	if b == nil || len(b.Readers) != 2 {
		t.Fatalf("burst report %+v", b)
	}
	for _, s := range append(b.Readers, b.Sender) {
		if s.Received != 2000 || s.Missed != 0 || s.Reordered != 0 || s.Closed != "" {
			t.Errorf("session %+v, want 2000 messages in order", s)
		}
	}
	if b.Stalled.DroppedMs != -1 || b.Stalled.CloseCode != 0 {
		t.Errorf("stalled session %+v, want neither dropped nor closed", b.Stalled)
	}
}

// Over an HTTP transport too (the stalled session is always a websocket).
func TestBurstXHRStreaming(t *testing.T) {
	srv := newEngineServer(t)
	code, res, stderr := runTool(t, "burst", "-url", srv.URL+"/broadcast", "-transport", "xhr-streaming",
		"-messages", "500", "-size", "100", "-readers", "1", "-duration", "15s", "-timeout", "5s")
	if code != 0 || res == nil || !res.Valid || res.Burst.Readers[0].Received != 500 {
		t.Fatalf("exit %d: %+v %s", code, res, stderr)
	}
}

// A hub that loses messages makes the run invalid and names what was
// missed.
func TestBurstReportsMissedMessages(t *testing.T) {
	_, srv := newFakeServer("drop-message")
	defer srv.Close()
	code, res, _ := runTool(t, "burst", "-url", srv.URL+"/broadcast", "-messages", "200", "-size", "16",
		"-readers", "2", "-duration", "10s", "-timeout", "1s")
	if code != 1 || res.Valid {
		t.Fatalf("exit %d valid %v, want an invalid run", code, res.Valid)
	}
	found := false
	for _, e := range res.Errors {
		for _, s := range e.Samples {
			found = found || (e.Kind == string(KindMismatch) && strings.Contains(s, "missed"))
		}
	}
	if !found || res.Burst.Readers[0].Missed == 0 {
		t.Fatalf("errors %+v, readers %+v: want missed messages reported", res.Errors, res.Burst.Readers)
	}
}

func TestBurstUsage(t *testing.T) {
	for _, args := range [][]string{
		{"burst", "-url", "http://127.0.0.1:1/broadcast", "-messages", "0"},
		{"burst", "-url", "http://127.0.0.1:1/broadcast", "-readers", "0"},
		{"burst", "-url", "http://127.0.0.1:1/broadcast", "-batch", "0"},
		{"burst", "-url", "http://10.0.0.1:1/broadcast"},
	} {
		if code, _, _ := runTool(t, args...); code != 2 {
			t.Errorf("run %q = %d, want 2", args, code)
		}
	}
}
