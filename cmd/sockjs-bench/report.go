package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is the outcome of one run, printed as text or JSON.
type Result struct {
	Scenario  string  `json:"scenario"`
	Transport string  `json:"transport"`
	URL       string  `json:"url"`
	Spread    string  `json:"spread,omitempty"` // with several URLs: "session" or "request"
	Sessions  int     `json:"sessions,omitempty"`
	InFlight  int     `json:"inflight,omitempty"`
	Size      int     `json:"size,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	// Stomp describes the STOMP mode (-stomp); nil without it.
	Stomp *StompReport `json:"stomp,omitempty"`

	Seconds     float64 `json:"seconds"`            // length of the measured window
	Messages    int64   `json:"messages,omitempty"` // echoed or delivered in the window
	MsgsPerSec  float64 `json:"msgs_per_sec,omitempty"`
	Publishes   int64   `json:"publishes,omitempty"` // broadcast: messages sent
	Connects    int64   `json:"connects,omitempty"`  // connect, soak: sessions opened and closed
	ConnsPerSec float64 `json:"connects_per_sec,omitempty"`
	Opened      int     `json:"opened,omitempty"`   // idle: sessions held
	Verified    int64   `json:"verified,omitempty"` // idle: sessions that echoed at the end

	// Latency is per message (echo round trip, broadcast send to delivery),
	// or the time to "o" for connect.
	Latency *Summary `json:"latency,omitempty"`

	Burst *BurstReport `json:"burst,omitempty"`
	Spike *SpikeReport `json:"spike,omitempty"`

	Server *ServerReport `json:"server,omitempty"`

	ErrorCount int64         `json:"error_count"`
	Errors     []ErrorReport `json:"errors"`
	Valid      bool          `json:"valid"`
}

// ServerReport is what /proc said about the server during the run.
type ServerReport struct {
	PID    int           `json:"pid"`
	Before *ProcSnapshot `json:"before,omitempty"`
	After  *ProcSnapshot `json:"after,omitempty"`
	Peak   *ProcSnapshot `json:"peak,omitempty"` // soak: highest values seen
	// CPUPercent is the server's CPU use over the measured window, in
	// percent of one core. Near 100 on a pinned server means the server,
	// not the load tool, set the pace.
	CPUPercent float64 `json:"cpu_percent"`
	// RSSPerSessionKiB is idle's result: (RSS with every session open -
	// RSS before) / sessions.
	RSSPerSessionKiB float64 `json:"rss_per_session_kib,omitempty"`
}

func newResult(r *runner, transport string) *Result {
	c := r.cfg
	return &Result{
		Scenario:  c.Scenario,
		Transport: transport,
		URL:       c.URL,
		Spread:    spreadOf(c),
		Sessions:  c.Sessions,
		InFlight:  c.InFlight,
		Size:      c.Size,
		Rate:      c.Rate,
		Stomp:     newStompReport(c),
	}
}

// serverWindow fills CPU use between two snapshots.
func (res *Result) serverWindow(r *runner, before, after *ProcSnapshot) {
	if r.probe == nil {
		return
	}
	if res.Server == nil {
		res.Server = &ServerReport{PID: r.probe.PID}
	}
	res.Server.Before, res.Server.After = before, after
	if before != nil && after != nil {
		res.Server.CPUPercent = cpuPercent(*before, *after)
	}
}

// finish adds the errors and decides whether the run is valid.
func (res *Result) finish(r *runner) {
	res.ErrorCount = r.errs.Total()
	res.Errors = r.errs.Report()
	res.Valid = res.ErrorCount == 0
	if v := r.stompVersion.Load(); v != nil && res.Stomp != nil {
		res.Stomp.Version = *v
	}
	if res.Seconds > 0 {
		res.MsgsPerSec = float64(res.Messages) / res.Seconds
		res.ConnsPerSec = float64(res.Connects) / res.Seconds
	}
}

// WriteText prints the result for a person.
func (res *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "sockjs-bench %s  %s  %s\n", res.Scenario, res.Transport, res.URL)
	var setup []string
	if res.Sessions > 0 {
		setup = append(setup, fmt.Sprintf("sessions %d", res.Sessions))
	}
	if res.InFlight > 0 {
		setup = append(setup, fmt.Sprintf("in flight %d", res.InFlight))
	}
	if res.Size > 0 {
		setup = append(setup, fmt.Sprintf("payload %d B", res.Size))
	}
	if res.Rate > 0 {
		setup = append(setup, fmt.Sprintf("rate %.0f/s", res.Rate))
	}
	if res.Spread != "" {
		setup = append(setup, "nodes by "+res.Spread)
	}
	setup = append(setup, fmt.Sprintf("measured %.2f s", res.Seconds))
	fmt.Fprintf(w, "  %s\n", strings.Join(setup, "  "))
	if st := res.Stomp; st != nil {
		fmt.Fprintf(w, "  stomp      %s  SEND %s  SUBSCRIBE %s\n", cmp.Or(st.Version, "(none negotiated)"), st.Send, st.Subscribe)
	}
	if res.Messages > 0 || res.Scenario == "echo" || res.Scenario == "broadcast" {
		fmt.Fprintf(w, "  messages   %d  (%.0f msg/s)\n", res.Messages, res.MsgsPerSec)
	}
	if res.Publishes > 0 {
		fmt.Fprintf(w, "  publishes  %d\n", res.Publishes)
	}
	if res.Connects > 0 || res.Scenario == "connect" {
		fmt.Fprintf(w, "  sessions   %d opened and closed  (%.0f/s)\n", res.Connects, res.ConnsPerSec)
	}
	if res.Scenario == "idle" {
		fmt.Fprintf(w, "  held       %d sessions, %d answered an echo at the end\n", res.Opened, res.Verified)
	}
	if b := res.Burst; b != nil {
		b.writeText(w)
	}
	if sp := res.Spike; sp != nil {
		sp.writeText(w)
	}
	if l := res.Latency; l != nil && l.Count > 0 {
		fmt.Fprintf(w, "  latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)\n",
			us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max), l.Count)
	}
	if s := res.Server; s != nil {
		fmt.Fprintf(w, "  server     pid %d  cpu %.1f%% of a core\n", s.PID, s.CPUPercent)
		if s.Before != nil && s.After != nil {
			fmt.Fprintf(w, "             rss %s -> %s  fds %d -> %d  threads %d -> %d",
				mib(s.Before.RSSKiB), mib(s.After.RSSKiB), s.Before.FDs, s.After.FDs, s.Before.Threads, s.After.Threads)
			if s.Before.Goroutines >= 0 && s.After.Goroutines >= 0 {
				fmt.Fprintf(w, "  goroutines %d -> %d", s.Before.Goroutines, s.After.Goroutines)
			}
			fmt.Fprintln(w)
		}
		if p := s.Peak; p != nil {
			fmt.Fprintf(w, "             peak rss %s  fds %d  threads %d", mib(p.RSSKiB), p.FDs, p.Threads)
			if p.Goroutines >= 0 {
				fmt.Fprintf(w, "  goroutines %d", p.Goroutines)
			}
			fmt.Fprintln(w)
		}
		if s.RSSPerSessionKiB > 0 {
			fmt.Fprintf(w, "             rss per session %.2f KiB\n", s.RSSPerSessionKiB)
		}
	}
	if res.ErrorCount == 0 {
		fmt.Fprintf(w, "  errors     none\n  result     VALID\n")
		return
	}
	fmt.Fprintf(w, "  errors     %d\n", res.ErrorCount)
	for _, e := range res.Errors {
		fmt.Fprintf(w, "    %-20s %d\n", e.Kind, e.Count)
		for _, s := range e.Samples {
			fmt.Fprintf(w, "      e.g. %s\n", s)
		}
	}
	fmt.Fprintf(w, "  result     INVALID (a run with errors measures nothing)\n")
}

func us(v float64) string {
	return time.Duration(v * 1e3).Round(time.Microsecond).String()
}

// mib formats a KiB count in MiB.
func mib(v int64) string {
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}

func (b *BurstReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "  burst      %d of %d messages sent in %.2f s; last delivery at %.2f s; longest gap %.1f ms\n",
		b.Sent, b.Messages, b.SendSecs, b.TotalSecs, b.MaxGapMs)
	line := func(who string, s BurstSession) {
		fmt.Fprintf(w, "    %-9s received %d  missed %d  reordered %d  longest gap %.1f ms", who, s.Received, s.Missed, s.Reordered, s.MaxGapMs)
		if s.Closed != "" {
			fmt.Fprintf(w, "  ENDED: %s", s.Closed)
		}
		fmt.Fprintln(w)
	}
	line("sender", b.Sender)
	for i, s := range b.Readers {
		line(fmt.Sprintf("reader %d", i+1), s)
	}
	st := b.Stalled
	if st.DroppedMs >= 0 {
		fmt.Fprintf(w, "    stalled   dropped by the server at %.0f ms (%d messages sent by then)\n", st.DroppedMs, st.SentBeforeDrop)
	} else {
		fmt.Fprintf(w, "    stalled   still connected when the burst ended\n")
	}
	if st.CloseCode != 0 {
		fmt.Fprintf(w, "              close frame %d %q read at %.0f ms, after %d messages\n", st.CloseCode, st.CloseReason, st.CloseMs, st.Received)
	} else {
		fmt.Fprintf(w, "              no close frame: %d messages, then %s\n", st.Received, st.End)
	}
	if b.RSSGrowthKiB != 0 {
		fmt.Fprintf(w, "    server rss grew %s at its peak\n", mib(b.RSSGrowthKiB))
	}
}

// spreadOf is how sessions meet the nodes, when there are several.
func spreadOf(c *Config) string {
	if len(c.Targets) < 2 {
		return ""
	}
	return c.Spread
}

func (sp *SpikeReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "  spike      %d sessions (%d per transport) opened and abandoned\n", sp.Opened, sp.PerTransport)
	fmt.Fprintf(w, "             rss before %s, peak %s", mib(sp.BeforeKiB), mib(sp.PeakKiB))
	if sp.PeakGoroutines >= 0 {
		fmt.Fprintf(w, " (%d goroutines)", sp.PeakGoroutines)
	}
	fmt.Fprintln(w)
	var marks []string
	for _, s := range []int{0, 5, 10, 15, 20, 30, 45, 60, 90, 120} {
		if s < len(sp.TimelineKiB) {
			marks = append(marks, fmt.Sprintf("%ds %s", s, mib(sp.TimelineKiB[s])))
		}
	}
	fmt.Fprintf(w, "             after: %s\n", strings.Join(marks, ", "))
	if sp.BackSecs >= 0 {
		fmt.Fprintf(w, "             within 25 %% of before after %.1f s\n", sp.BackSecs)
	} else {
		fmt.Fprintf(w, "             never within 25 %% of before\n")
	}
	if l := sp.Live; l != nil && l.Count > 0 {
		fmt.Fprintf(w, "             live echoes meanwhile: p50 %s  p99 %s  max %s  (n=%d)\n", us(l.P50), us(l.P99), us(l.Max), l.Count)
	}
}
