package main

import (
	"fmt"
	"math/bits"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Histogram records durations in log-linear buckets (32 per power of two,
// so quantiles are within about 3%), safe for concurrent use without
// locks. The exact maximum is kept too.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits // sub-buckets per power of two
	histBuckets = 2*histSub + (64-histSubBits-1)*histSub
)

func bucketOf(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1 // v >> e is in [histSub, 2*histSub)
	return 2*histSub + (e-1)*histSub + int(v>>e) - histSub
}

// bucketValue returns the midpoint of bucket i.
func bucketValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := (i-2*histSub)/histSub + 1
	m := uint64((i-2*histSub)%histSub + histSub)
	return m<<e + (uint64(1)<<e)/2
}

// Record adds one sample.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	v := uint64(d)
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Quantile returns the q-quantile (0 < q ≤ 1).
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			v := bucketValue(i)
			if m := h.max.Load(); v > m {
				v = m
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max.Load())
}

// Summary is the latency part of a report, in microseconds.
type Summary struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_us"`
	P50   float64 `json:"p50_us"`
	P90   float64 `json:"p90_us"`
	P99   float64 `json:"p99_us"`
	P999  float64 `json:"p999_us"`
	Max   float64 `json:"max_us"`
}

func (h *Histogram) Summary() Summary {
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	s := Summary{Count: h.Count()}
	if s.Count == 0 {
		return s
	}
	s.Mean = float64(h.sum.Load()) / float64(s.Count) / 1e3
	s.P50 = us(h.Quantile(0.50))
	s.P90 = us(h.Quantile(0.90))
	s.P99 = us(h.Quantile(0.99))
	s.P999 = us(h.Quantile(0.999))
	s.Max = us(time.Duration(h.max.Load()))
	return s
}

// Errors counts every protocol error of a run by kind (and close code),
// keeping the first few messages of each for the report.
type Errors struct {
	mu      sync.Mutex
	counts  map[string]int64
	samples map[string][]string
	total   atomic.Int64
}

const samplesPerKind = 3

// Add records err, classified.
func (e *Errors) Add(err error) {
	pe := classify(err)
	key := string(pe.Kind)
	if pe.Kind == KindClose {
		key = fmt.Sprintf("%s %d", pe.Kind, pe.Code)
	}
	e.total.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts = map[string]int64{}
		e.samples = map[string][]string{}
	}
	e.counts[key]++
	if len(e.samples[key]) < samplesPerKind {
		e.samples[key] = append(e.samples[key], pe.Error())
	}
}

// AddN records n errors of one kind with one sample message.
func (e *Errors) AddN(kind ErrKind, n int64, detail string) {
	if n <= 0 {
		return
	}
	e.Add(protoErr(kind, "%s", detail))
	if n > 1 {
		e.total.Add(n - 1)
		e.mu.Lock()
		e.counts[string(kind)] += n - 1
		e.mu.Unlock()
	}
}

// Total returns how many errors were recorded.
func (e *Errors) Total() int64 { return e.total.Load() }

// ErrorReport is one line of the error section.
type ErrorReport struct {
	Kind    string   `json:"kind"`
	Count   int64    `json:"count"`
	Samples []string `json:"samples"`
}

// Report lists the errors, most frequent first.
func (e *Errors) Report() []ErrorReport {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []ErrorReport{}
	for k, n := range e.counts {
		out = append(out, ErrorReport{Kind: k, Count: n, Samples: e.samples[k]})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}
