package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// print writes the table of medians and the targets.
func (c *comparer) print(w io.Writer, plan []*scenario, servers []*server) {
	fmt.Fprintf(w, "\nsockjs comparison: median of %d round(s); servers pinned to CPU 0, load to CPU 1: %v; niceness %d\n", c.o.Rounds, c.o.Pin, c.o.Nice)
	for _, s := range servers {
		state := s.Desc
		if s.Unavailable != "" {
			state += " — UNAVAILABLE: " + s.Unavailable
		}
		fmt.Fprintf(w, "  %-8s %s\n", s.Name, state)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\tunit\t")
	for _, s := range servers {
		fmt.Fprintf(tw, "%s\t", s.Name)
	}
	fmt.Fprintln(tw)
	for _, sc := range plan {
		fmt.Fprintf(tw, "%s\t%s\t", sc.Name, sc.Metric)
		for _, s := range servers {
			fmt.Fprintf(tw, "%s\t", c.cell(sc, s))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "server CPU in the measured window (median, % of its one core; near 100 means the server set the pace),")
	fmt.Fprintln(w, "and the most CPU other processes took from either core during any round (noise):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\t")
	for _, s := range servers {
		fmt.Fprintf(tw, "%s\t", s.Name)
	}
	fmt.Fprintln(tw)
	for _, sc := range plan {
		if sc.Kind == "idle" {
			continue
		}
		fmt.Fprintf(tw, "%s\t", sc.Name)
		for _, s := range servers {
			fmt.Fprintf(tw, "%s\t", c.cpuCell(sc, s))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	worst := 0.0
	for _, byServer := range c.results {
		for _, ms := range byServer {
			for _, m := range ms {
				worst = max(worst, m.Noise.max())
			}
		}
	}
	if worst > 10 {
		fmt.Fprintf(w, "WARNING: other processes took up to %.0f%% of a core during a measurement; rerun on a quiet machine.\n", worst)
	}

	fmt.Fprintln(w, "\ntargets:")
	for _, t := range targets {
		sc := findScenario(plan, t.Scenario)
		if sc == nil {
			continue
		}
		who := t.Ours
		if who == "" {
			who = "sockjsd"
		}
		if !hasServer(servers, who) {
			continue
		}
		ours, badOurs, _ := c.median(t.Scenario, who)
		if badOurs > 0 || math.IsNaN(ours) {
			fmt.Fprintf(w, "  %-40s %s\n", t.Desc, c.why(t.Scenario, who))
			continue
		}
		if t.Against == "" {
			ok := ours <= t.Bound
			fmt.Fprintf(w, "  %-40s %.2f %s  %s\n", t.Desc, ours, sc.Metric, verdict(ok))
			continue
		}
		refScenario := t.AgainstScenario
		if refScenario == "" {
			refScenario = t.Scenario
		}
		ref, badRef, _ := c.median(refScenario, t.Against)
		if badRef > 0 || math.IsNaN(ref) || ref == 0 {
			fmt.Fprintf(w, "  %-40s no reference: %s %s\n", t.Desc, t.Against, c.why(refScenario, t.Against))
			continue
		}
		if t.Above != 0 {
			fmt.Fprintf(w, "  %-40s %s - %s %s = %+.2f %s  %s\n", t.Desc, who, t.Against, refScenario,
				ours-ref, sc.Metric, verdict(ours-ref <= t.Above))
			continue
		}
		ratio := ours / ref
		ok := ratio >= t.Ratio
		if sc.Better < 0 {
			ok = ratio <= t.Ratio
		}
		fmt.Fprintf(w, "  %-40s %s/%s = %.2f  (%s vs %s %s)  %s\n", t.Desc, who, t.Against, ratio,
			fmtValue(ours), fmtValue(ref), sc.Metric, verdict(ok))
	}
}

func hasServer(servers []*server, name string) bool {
	for _, s := range servers {
		if s.Name == name && s.Unavailable == "" {
			return true
		}
	}
	return false
}

func findScenario(plan []*scenario, name string) *scenario {
	for _, s := range plan {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func fmtValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// cell is one table entry: the median, or why there is none.
func (c *comparer) cell(sc *scenario, s *server) string {
	ms := c.results[sc.Name][s.Name]
	if len(ms) == 0 {
		if s.Unavailable != "" && slices.Contains(sc.Servers, s.Name) {
			return "pending"
		}
		return "-"
	}
	v, bad, _ := c.median(sc.Name, s.Name)
	if bad > 0 {
		return fmt.Sprintf("INVALID(%d/%d)", bad, len(ms))
	}
	return fmtValue(v)
}

func (c *comparer) cpuCell(sc *scenario, s *server) string {
	var cpu, other []float64
	for _, m := range c.results[sc.Name][s.Name] {
		if m.Result != nil && m.Result.Server != nil {
			cpu = append(cpu, m.Result.Server.CPUPercent)
			other = append(other, m.Noise.max())
		}
	}
	if len(cpu) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%% (noise %.0f%%)", medianOf(cpu), slices.Max(other))
}

// why explains a missing figure.
func (c *comparer) why(sc, srv string) string {
	for _, m := range c.results[sc][srv] {
		if m.Err != "" {
			return "INVALID: " + m.Err
		}
	}
	return "pending (not measured)"
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// hold opens n websocket sessions on one server, holds them and reports
// its RSS and CPU. Each process may hold at most RLIMIT_NOFILE descriptors:
// where that is below n, the hold is cut to what fits, and says so.
func (c *comparer) hold(ctx context.Context, s *server, n int, d time.Duration) error {
	if s.Unavailable != "" {
		return fmt.Errorf("%s unavailable: %s", s.Name, s.Unavailable)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Max < uint64(n)+256 {
		fit := int(lim.Max) - 256
		fmt.Fprintf(os.Stderr, "compare: RLIMIT_NOFILE hard limit is %d: one process cannot hold %d sockets; holding %d sessions instead\n",
			lim.Max, n, fit)
		n = fit
	}
	p, err := s.start(c.cpu(0), c.o.Nice, c.logDir)
	if err != nil {
		return err
	}
	defer p.stop()
	if s.Name != "bare" {
		if err := p.works(); err != nil {
			return fmt.Errorf("%s not working: %v", s.Name, err)
		}
	}
	args := []string{"idle", "-transport", "websocket", "-sessions", fmt.Sprint(n), "-duration", d.String(),
		"-concurrency", "256", "-timeout", "30s", "-url", p.url("echo"), "-pid", fmt.Sprint(p.PID),
		"-json", "-source", c.o.Sources}
	c.logf("holding %d websocket sessions on %s for %v", n, s.Name, d)
	res, _, err := c.bench(ctx, args)
	if err != nil {
		return err
	}
	fmt.Printf("\nhold: %d websocket sessions on %s for %v (server pinned: %v)\n", res.Opened, s.Name, d, c.o.Pin)
	if res.Server != nil && res.Server.Before != nil && res.Server.After != nil {
		fmt.Printf("  server RSS      %.1f MiB before, %.1f MiB with every session open\n",
			float64(res.Server.Before.RSSKiB)/1024, float64(res.Server.After.RSSKiB)/1024)
		fmt.Printf("  per session     %.2f KiB\n", res.Server.RSSPerSessionKiB)
		fmt.Printf("  server CPU      %.2f%% of one core while holding\n", res.Server.CPUPercent)
	}
	if !res.Valid {
		var e []string
		for _, x := range res.Errors {
			e = append(e, fmt.Sprintf("%d× %s", x.Count, x.Kind))
		}
		fmt.Printf("  INVALID: %d errors: %s\n", res.ErrorCount, strings.Join(e, "; "))
		return fmt.Errorf("hold had errors")
	}
	fmt.Printf("  all %d sessions answered an echo at the end\n", res.Opened)
	return nil
}
