package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"runtime"
	"sync"
	"time"

	sockjsprom "github.com/sockjsd/sockjsd/sockjs/prometheus"
)

// Status page timing: a sample of every count each second; rates over the
// last few seconds; a minute of history for the charts.
const (
	sampleEvery = time.Second
	rateWindow  = 5 * time.Second
	historyLen  = 60
)

// statusBoard computes /status.json from the services' Metrics: the
// counts as they are now, and rates from the samples it takes each
// second.
type statusBoard struct {
	started time.Time
	metrics bool // whether /metrics is served, for the page's links
	pprof   bool // whether /debug/pprof/ is served

	services []boardService // set up before serving, read-only after

	mu      sync.Mutex // guards samples; leaf lock, held for slice work only
	samples []sample   // oldest first; at most historyLen+1
}

type boardService struct {
	name string
	m    *sockjsprom.Metrics
}

// sample is every service's counts at one moment.
type sample struct {
	at    time.Time
	snaps []sockjsprom.Snapshot // by service, in board order
}

func newStatusBoard(now time.Time, metrics, pprof bool) *statusBoard {
	return &statusBoard{started: now, metrics: metrics, pprof: pprof}
}

// add shows a service's metrics on the board. Call it before sampling
// or serving starts.
func (b *statusBoard) add(name string, m *sockjsprom.Metrics) {
	b.services = append(b.services, boardService{name, m})
}

func (b *statusBoard) snapshot(at time.Time) sample {
	s := sample{at: at, snaps: make([]sockjsprom.Snapshot, len(b.services))}
	for i, svc := range b.services {
		s.snaps[i] = svc.m.Snapshot()
	}
	return s
}

// record keeps s as the newest sample.
func (b *statusBoard) record(s sample) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.samples) > historyLen {
		b.samples = append(b.samples[:0], b.samples[1:]...)
	}
	b.samples = append(b.samples, s)
}

// sampleUntil samples every second until ctx is done.
func (b *statusBoard) sampleUntil(ctx context.Context) {
	b.record(b.snapshot(time.Now()))
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			b.record(b.snapshot(now))
		}
	}
}

// statusJSON is /status.json. Counts are since the server started;
// rates are per second, averaged over WindowSeconds.
type statusJSON struct {
	Now           time.Time         `json:"now"`
	Started       time.Time         `json:"started"`
	UptimeSeconds float64           `json:"uptime_seconds"`
	GoVersion     string            `json:"go_version"`
	Goroutines    int               `json:"goroutines"`
	WindowSeconds float64           `json:"window_seconds"`
	Endpoints     statusEndpoints   `json:"endpoints"`
	Total         statusRow         `json:"total"`
	Transports    []statusRow       `json:"transports"` // every transport, in a fixed order
	Services      []statusRow       `json:"services"`
	Refused       map[string]uint64 `json:"refused"` // by reason
	History       statusHistory     `json:"history"`
}

type statusEndpoints struct {
	Metrics bool `json:"metrics"`
	Pprof   bool `json:"pprof"`
}

type statusRow struct {
	Name              string      `json:"name,omitempty"`
	Open              int64       `json:"open"`
	Opened            uint64      `json:"opened"`
	Closed            uint64      `json:"closed"`
	MessagesIn        uint64      `json:"messages_in"`
	MessagesOut       uint64      `json:"messages_out"`
	BytesIn           uint64      `json:"bytes_in"`
	BytesOut          uint64      `json:"bytes_out"`
	SlowClients       uint64      `json:"slow_clients"`
	ReceiverConflicts uint64      `json:"receiver_conflicts"`
	Heartbeats        uint64      `json:"heartbeats"`
	Rate              statusRates `json:"rate"`
}

type statusRates struct {
	MessagesIn     float64 `json:"messages_in"`
	MessagesOut    float64 `json:"messages_out"`
	BytesIn        float64 `json:"bytes_in"`
	BytesOut       float64 `json:"bytes_out"`
	SessionsOpened float64 `json:"sessions_opened"`
}

// statusHistory is the last minute, one point a second (per second rates,
// sessions open at the end of each second), oldest first.
type statusHistory struct {
	IntervalSeconds float64   `json:"interval_seconds"`
	MessagesIn      []float64 `json:"messages_in"`
	MessagesOut     []float64 `json:"messages_out"`
	Open            []int64   `json:"open"`
}

func (b *statusBoard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(b.status(time.Now()))
}

func (b *statusBoard) status(now time.Time) statusJSON {
	cur := b.snapshot(now)
	b.mu.Lock()
	samples := append([]sample(nil), b.samples...)
	b.mu.Unlock()

	// The rates' base: the newest sample at least rateWindow old, or the
	// oldest there is.
	var base *sample
	for i := len(samples) - 1; i >= 0; i-- {
		base = &samples[i]
		if now.Sub(base.at) >= rateWindow {
			break
		}
	}
	var window time.Duration
	if base != nil {
		window = now.Sub(base.at)
	}

	st := statusJSON{
		Now:           now.UTC(),
		Started:       b.started.UTC(),
		UptimeSeconds: round(now.Sub(b.started).Seconds()),
		GoVersion:     runtime.Version(),
		Goroutines:    runtime.NumGoroutine(),
		WindowSeconds: round(window.Seconds()),
		Endpoints:     statusEndpoints{Metrics: b.metrics, Pprof: b.pprof},
		Refused:       map[string]uint64{},
	}
	row := func(name string, now, then sockjsprom.TransportStats) statusRow {
		return statusRow{
			Name:              name,
			Open:              now.Open,
			Opened:            now.Opened,
			Closed:            now.Closed,
			MessagesIn:        now.MessagesIn,
			MessagesOut:       now.MessagesOut,
			BytesIn:           now.BytesIn,
			BytesOut:          now.BytesOut,
			SlowClients:       now.SlowClients,
			ReceiverConflicts: now.ReceiverConflicts,
			Heartbeats:        now.Heartbeats,
			Rate: statusRates{
				MessagesIn:     rate(now.MessagesIn, then.MessagesIn, window),
				MessagesOut:    rate(now.MessagesOut, then.MessagesOut, window),
				BytesIn:        rate(now.BytesIn, then.BytesIn, window),
				BytesOut:       rate(now.BytesOut, then.BytesOut, window),
				SessionsOpened: rate(now.Opened, then.Opened, window),
			},
		}
	}

	var total, totalThen sockjsprom.TransportStats
	for i, svc := range b.services {
		now := cur.snaps[i].Total()
		var then sockjsprom.TransportStats
		if base != nil {
			then = base.snaps[i].Total()
		}
		st.Services = append(st.Services, row(svc.name, now, then))
		total, totalThen = total.Add(now), totalThen.Add(then)
		for reason, n := range cur.snaps[i].Refused {
			st.Refused[reason] += n
		}
	}
	st.Total = row("", total, totalThen)
	for _, name := range sockjsprom.TransportNames() {
		now := transportTotal(cur, name)
		if name == "other" && now == (sockjsprom.TransportStats{}) {
			continue
		}
		var then sockjsprom.TransportStats
		if base != nil {
			then = transportTotal(*base, name)
		}
		st.Transports = append(st.Transports, row(name, now, then))
	}

	st.History.IntervalSeconds = sampleEvery.Seconds()
	st.History.MessagesIn = []float64{}
	st.History.MessagesOut = []float64{}
	st.History.Open = []int64{}
	for i := 1; i < len(samples); i++ {
		prev, next := totalOf(samples[i-1]), totalOf(samples[i])
		dt := samples[i].at.Sub(samples[i-1].at)
		st.History.MessagesIn = append(st.History.MessagesIn, rate(next.MessagesIn, prev.MessagesIn, dt))
		st.History.MessagesOut = append(st.History.MessagesOut, rate(next.MessagesOut, prev.MessagesOut, dt))
		st.History.Open = append(st.History.Open, next.Open)
	}
	return st
}

// transportTotal sums one transport's counts over every service.
func transportTotal(s sample, transport string) sockjsprom.TransportStats {
	var t sockjsprom.TransportStats
	for _, snap := range s.snaps {
		t = t.Add(snap.Transports[transport])
	}
	return t
}

func totalOf(s sample) sockjsprom.TransportStats {
	var t sockjsprom.TransportStats
	for _, snap := range s.snaps {
		t = t.Add(snap.Total())
	}
	return t
}

// rate is the per second rate of a count that went from then to now over
// d, rounded to two decimals; zero without a window.
func rate(now, then uint64, d time.Duration) float64 {
	if d <= 0 || now < then {
		return 0
	}
	return round(float64(now-then) / d.Seconds())
}

func round(v float64) float64 { return math.Round(v*100) / 100 }
