package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		err  string
	}{
		{in: "http://127.0.0.1:8081/echo", want: Target{URL: "http://127.0.0.1:8081/echo", Host: "127.0.0.1:8081", Addr: "127.0.0.1:8081", Path: "/echo"}},
		{in: "http://127.0.0.9:8081/echo/", want: Target{URL: "http://127.0.0.9:8081/echo/", Host: "127.0.0.9:8081", Addr: "127.0.0.9:8081", Path: "/echo"}},
		{in: "ws://127.0.0.1/a/b", want: Target{URL: "ws://127.0.0.1/a/b", Host: "127.0.0.1", Addr: "127.0.0.1:80", Path: "/a/b"}},
		{in: "http://[::1]:9/x", want: Target{URL: "http://[::1]:9/x", Host: "[::1]:9", Addr: "[::1]:9", Path: "/x"}},
		{in: "http://127.0.0.1:1", want: Target{URL: "http://127.0.0.1:1", Host: "127.0.0.1:1", Addr: "127.0.0.1:1", Path: ""}},
		{in: "http://10.0.0.1/echo", err: "only loopback"},
		{in: "http://192.168.1.2:80/echo", err: "only loopback"},
		{in: "http://8.8.8.8/echo", err: "only loopback"},
		{in: "http://[::ffff:10.0.0.1]/echo", err: "only loopback"},
		{in: "http://example.com/echo", err: "only loopback"},
		{in: "http://0.0.0.0:80/echo", err: "only loopback"},
		{in: "https://127.0.0.1/echo", err: "scheme"},
		{in: "http://127.0.0.1/echo?x=1", err: "query"},
		{in: "http://u:p@127.0.0.1/echo", err: "user"},
	}
	for _, tt := range tests {
		got, err := ParseTarget(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTarget(%q) = %+v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	// localhost resolves to loopback on any sane machine.
	if tg, err := ParseTarget("http://localhost:80/echo"); err != nil || !strings.HasPrefix(tg.Addr, "127.") && !strings.HasPrefix(tg.Addr, "[::1]") {
		t.Errorf("ParseTarget(localhost) = %+v, %v", tg, err)
	}
}

func TestParseSources(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"", 0, false},
		{"127.0.0.1", 1, false},
		{"127.0.0.1,127.0.0.2", 2, false},
		{"127.0.0.1-127.0.0.16", 16, false},
		{"127.0.0.250-127.0.1.4", 11, false},
		{"127.0.0.1-127.0.0.3, ::1", 4, false},
		{"127.0.0.5-127.0.0.1", 0, true},
		{"10.0.0.1", 0, true},
		{"127.255.255.255-128.0.0.1", 0, true},
		{"127.0.0.1-::1", 0, true},
		{"nonsense", 0, true},
		{"127.0.0.0-127.0.255.255", 0, true}, // too many
	}
	for _, tt := range tests {
		got, err := ParseSources(tt.in)
		if (err != nil) != tt.err || len(got) != tt.want {
			t.Errorf("ParseSources(%q) = %d addresses, %v; want %d, error %v", tt.in, len(got), err, tt.want, tt.err)
		}
		for _, ip := range got {
			if !ip.IsLoopback() {
				t.Errorf("ParseSources(%q) gave %v", tt.in, ip)
			}
		}
	}
	if got, _ := ParseSources("127.0.0.1-127.0.0.3"); got[2] != netip.MustParseAddr("127.0.0.3") {
		t.Errorf("range end = %v", got[2])
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5000 * time.Microsecond},
		{0.9, 9000 * time.Microsecond},
		{0.99, 9900 * time.Microsecond},
		{1, 10000 * time.Microsecond},
	}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		if rel := math.Abs(float64(got-tt.want)) / float64(tt.want); rel > 0.035 {
			t.Errorf("Quantile(%v) = %v, want %v ±3.5%%", tt.q, got, tt.want)
		}
	}
	s := h.Summary()
	if s.Count != 10000 || s.Max != 10000 || math.Abs(s.Mean-5000.5) > 0.01 {
		t.Errorf("Summary = %+v", s)
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Summary().Count != 0 {
		t.Error("empty histogram not zero")
	}
}

func TestBuckets(t *testing.T) {
	// Every value falls in a bucket whose midpoint is within 1/32 of it.
	for _, v := range []uint64{0, 1, 63, 64, 65, 100, 1000, 12345, 1 << 20, 1<<40 + 12345, math.MaxUint64 / 3, math.MaxUint64} {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		mid := bucketValue(i)
		if d := math.Abs(float64(mid) - float64(v)); d > float64(v)/32+1 {
			t.Errorf("bucketOf(%d) midpoint %d", v, mid)
		}
		if i > 0 && bucketOf(v) < bucketOf(v/2) {
			t.Errorf("buckets not monotonic at %d", v)
		}
	}
}

func TestPayload(t *testing.T) {
	p := newPayload(20)
	for _, seq := range []uint32{0, 1, 0xdeadbeef, math.MaxUint32} {
		m := p.make(seq)
		if len(m) != 20 {
			t.Fatalf("len(make(%d)) = %d", seq, len(m))
		}
		if got, ok := p.parse(m); !ok || got != seq {
			t.Errorf("parse(make(%d)) = %d, %v", seq, got, ok)
		}
	}
	for _, bad := range []string{"", "0000000gxxxxxxxxxxxx", "00000001xxxxxxxxxxxy", "00000001xxxxxxxxxxx", "00000001XXXXXXXXXXXX"} {
		if _, ok := p.parse(bad); ok {
			t.Errorf("parse(%q) accepted", bad)
		}
	}
}

func TestCounter(t *testing.T) {
	c := counter{limit: 3}
	var counted, full int
	for range 5 {
		ok, f := c.add()
		if ok {
			counted++
		}
		if f {
			full++
		}
	}
	if counted != 3 || full != 1 || c.load() != 3 {
		t.Errorf("counted %d, full %d, load %d", counted, full, c.load())
	}
	var u counter
	for range 5 {
		u.add()
	}
	if u.load() != 5 {
		t.Errorf("unlimited counter = %d", u.load())
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  bool
	}{
		{"1234 (sockjsd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0", 3.0, false},
		{"1234 (a (b) c) R 1 1 1 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", 0.1, false},
		{"1234 (x) S 1 2 3", 0, true},
		{"garbage", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatCPU([]byte(tt.in))
		if (err != nil) != tt.err || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseGoroutines(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"42\n", 42, false},
		{`{"goroutines": 17, "sessions": 3}`, 17, false},
		{"goroutine profile: total 1234\n5 @ 0x43\n", 1234, false},
		{"hello", 0, true},
		{`{"sessions": 3}`, 0, true},
	}
	for _, tt := range tests {
		got, err := parseGoroutines([]byte(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseGoroutines(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		kind ErrKind
	}{
		{protoErr(KindStatus, "x"), KindStatus},
		{closeErr(sockjsclient.Frame{Type: sockjsclient.FrameClose, Code: 2010}), KindClose},
		{fmt.Errorf("x: %w", sockjsclient.ErrBadFrame), KindFrame},
		{fmt.Errorf("x: %w", sockjsclient.ErrHandshake), KindHandshake},
		{fmt.Errorf("%w 127.0.0.1:1: refused", sockjsclient.ErrDial), KindDial},
		{&sockjsclient.StatusError{Request: "POST /x", StatusCode: 500}, KindStatus},
		{os.ErrDeadlineExceeded, KindTimeout},
		{io.EOF, KindConnection},
		{errors.New("boom"), KindConnection},
	}
	for _, tt := range tests {
		if got := classify(tt.err).Kind; got != tt.kind {
			t.Errorf("classify(%v) = %s, want %s", tt.err, got, tt.kind)
		}
	}
	var e Errors
	e.Add(closeErr(sockjsclient.Frame{Type: sockjsclient.FrameClose, Code: 2010, Reason: "Another connection still open"}))
	e.AddN(KindTimeout, 5, "late")
	e.AddN(KindTimeout, 0, "none")
	r := e.Report()
	if e.Total() != 6 || len(r) != 2 || r[0].Kind != "timeout" || r[0].Count != 5 || r[1].Kind != "close-frame 2010" {
		t.Errorf("report %+v, total %d", r, e.Total())
	}
}
