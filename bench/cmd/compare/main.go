// Command compare runs sockjs-bench against our server and its peers in
// alternating rounds and prints how ours compares with the targets.
//
// On a machine with two cores or more, every server runs pinned to CPU 0
// (taskset -c 0) and the load tool to CPU 1, so each gets exactly one core.
// Every measurement starts a fresh server process. Servers: sockjsd (our
// sockjs package), bare (gorilla/websocket doing only what the websocket
// transport needs: the physical limit), igm (igm/sockjs-go v3) and node
// (sockjs-node 0.3.24).
//
// Usage (from the repository root or bench/):
//
//	go run ./cmd/compare                   # the default comparison, a few minutes
//	go run ./cmd/compare -rounds 1 -only ws-echo,ws-idle
//	go run ./cmd/compare -hold 100000      # hold many websocket sessions on sockjsd
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var o options
	var only, serverList, outPath, holdServer string
	var hold int
	var holdFor time.Duration
	flag.IntVar(&o.Rounds, "rounds", 3, "rounds; each round measures every server once per scenario, in rotating order")
	flag.DurationVar(&o.Duration, "duration", 2*time.Second, "measured time per throughput measurement")
	flag.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up before each measurement")
	flag.IntVar(&o.LatencyRate, "latency-rate", 10000, "messages per second offered in ws-latency (below every server's capacity)")
	flag.IntVar(&o.IdleSessions, "idle-sessions", 3000, "sessions held in the idle memory scenarios (at least 3000 for the targets)")
	flag.StringVar(&o.Sources, "source", "127.0.0.1-127.0.0.16", "loopback source addresses for the load tool")
	flag.BoolVar(&o.Pin, "pin", true, "pin servers to CPU 0 and the load tool to CPU 1 with taskset")
	flag.StringVar(&o.ShippedFlags, "shipped-flags", "", "flags for the server 'shipped' (cmd/sockjsd), space separated, after -addr and -admin-addr 127.0.0.1:0, e.g. \"-metrics=false\"")
	flag.StringVar(&o.Base, "base", "", "a git revision: adds the server 'base', bench/servers/sockjsd as of that revision, to compare the engine with an earlier one side by side")
	flag.IntVar(&o.Nice, "nice", 0, "run servers and load tool at this niceness (e.g. -20, as root) so other processes on a shared machine disturb less")
	flag.StringVar(&only, "only", "", "comma separated scenarios to run (default all): "+scenarioNames())
	flag.StringVar(&serverList, "servers", strings.Join(knownServers, ","), "comma separated servers to compare")
	flag.StringVar(&outPath, "out", "", "also write every measurement as JSON to this file")
	flag.IntVar(&hold, "hold", 0, "instead of the comparison: hold this many websocket sessions and report the server's RSS and CPU")
	flag.DurationVar(&holdFor, "hold-duration", 60*time.Second, "how long -hold holds the sessions")
	flag.StringVar(&holdServer, "hold-server", "sockjsd", "server for -hold")
	flag.Parse()
	if o.Rounds < 1 || o.Duration <= 0 || o.Duration > 10*time.Minute || o.Warmup < 0 {
		return errors.New("bad -rounds, -duration or -warmup")
	}

	benchDir, err := findBenchDir()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sockjs-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...) }

	if o.Pin {
		if runtime.NumCPU() < 2 {
			logf("fewer than 2 CPUs: not pinning")
			o.Pin = false
		} else if _, err := exec.LookPath("taskset"); err != nil {
			logf("taskset not found (util-linux): not pinning")
			o.Pin = false
		}
	}
	names := splitList(serverList)
	if hold > 0 {
		names = []string{holdServer}
	}
	if o.Base != "" && !slices.Contains(names, "base") {
		names = append(names, "base")
	}
	tool, servers, err := buildServers(ctx, benchDir, tmp, names, o.Base, strings.Fields(o.ShippedFlags), logf)
	if err != nil {
		return err
	}
	c := &comparer{o: o, tool: tool, logDir: tmp, logf: logf, results: map[string]map[string][]*measurement{}}
	if hold > 0 {
		return c.hold(ctx, servers[0], hold, holdFor)
	}

	var plan []*scenario
	for _, s := range scenarios() {
		if (only == "" && !s.Extra) || slices.Contains(splitList(only), s.Name) {
			plan = append(plan, s)
		}
	}
	if len(plan) == 0 {
		return fmt.Errorf("-only %q matches no scenario (have %s)", only, scenarioNames())
	}
	for _, s := range servers {
		if s.Unavailable != "" {
			logf("%s unavailable: %s", s.Name, s.Unavailable)
		}
	}
	c.checkWorking(servers)
	start := time.Now()
	for round := 0; round < o.Rounds; round++ {
		for _, sc := range plan {
			if sc.Once && round > 0 {
				continue
			}
			order := rotate(servers, round)
			for _, s := range order {
				if !slices.Contains(sc.Servers, s.Name) || s.Unavailable != "" {
					continue
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				c.measure(ctx, round, sc, s)
			}
		}
	}
	logf("done in %v", time.Since(start).Round(time.Second))
	c.print(os.Stdout, plan, servers)
	if outPath != "" {
		b, _ := json.MarshalIndent(c.results, "", "  ")
		if err := os.WriteFile(outPath, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func scenarioNames() string {
	var n []string
	for _, s := range scenarios() {
		n = append(n, s.Name)
	}
	return strings.Join(n, ",")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func rotate(s []*server, n int) []*server {
	if len(s) == 0 {
		return s
	}
	n %= len(s)
	return append(append([]*server{}, s[n:]...), s[:n]...)
}

// measurement is one run of the load tool against one server.
type measurement struct {
	Round  int          `json:"round"`
	Value  float64      `json:"value"`
	Result *benchResult `json:"result"`
	Noise  noise        `json:"noise"`
	Err    string       `json:"error,omitempty"`
}

type comparer struct {
	o       options
	tool    string
	logDir  string
	logf    func(string, ...any)
	results map[string]map[string][]*measurement // scenario -> server -> rounds
}

// checkWorking starts each server once and marks those whose echo service
// does not answer /info (our engine before it exists) unavailable.
func (c *comparer) checkWorking(servers []*server) {
	for _, s := range servers {
		if s.Unavailable != "" {
			continue
		}
		p, err := s.start(c.cpu(0), c.o.Nice, c.logDir)
		if err != nil {
			s.Unavailable = err.Error()
			continue
		}
		if s.Name != "bare" {
			if err := p.works(); err != nil {
				s.Unavailable = "not working yet: " + err.Error()
			}
		}
		p.stop()
		if s.Unavailable != "" {
			c.logf("%s unavailable: %s", s.Name, s.Unavailable)
		}
	}
}

// cpu returns the taskset CPU list for the server (0) or load (1).
func (c *comparer) cpu(n int) string {
	if !c.o.Pin {
		return ""
	}
	return fmt.Sprint(n)
}

func (c *comparer) measure(ctx context.Context, round int, sc *scenario, s *server) {
	m := &measurement{Round: round + 1, Value: math.NaN()}
	if c.results[sc.Name] == nil {
		c.results[sc.Name] = map[string][]*measurement{}
	}
	c.results[sc.Name][s.Name] = append(c.results[sc.Name][s.Name], m)
	p, err := s.start(c.cpu(0), c.o.Nice, c.logDir)
	if err != nil {
		m.Err = err.Error()
		c.logf("round %d %-18s %-8s %s", round+1, sc.Name, s.Name, m.Err)
		return
	}
	defer p.stop()
	args := append([]string{sc.Kind}, sc.Args(&c.o)...)
	args = append(args, "-url", p.url(sc.Service), "-pid", fmt.Sprint(p.PID), "-json", "-q", "-source", c.o.Sources)
	cpu0, srv0 := readCPUTimes(), procCPU(p.PID)
	res, toolSec, err := c.bench(ctx, args)
	m.Noise = measureNoise(cpu0, readCPUTimes(), c.o.Pin, procCPU(p.PID)-srv0, toolSec)
	if res != nil {
		m.Result = res
		m.Value = sc.Value(res)
	}
	switch {
	case err != nil:
		m.Err = err.Error()
	case !res.Valid:
		var kinds []string
		for _, e := range res.Errors {
			s := fmt.Sprintf("%d× %s", e.Count, e.Kind)
			if len(e.Samples) > 0 {
				s += " (" + e.Samples[0] + ")"
			}
			kinds = append(kinds, s)
		}
		m.Err = fmt.Sprintf("%d errors: %s", res.ErrorCount, strings.Join(kinds, "; "))
	}
	cpu := math.NaN()
	if res != nil && res.Server != nil {
		cpu = res.Server.CPUPercent
	}
	if m.Err != "" {
		c.logf("round %d %-18s %-8s INVALID: %s", round+1, sc.Name, s.Name, m.Err)
		return
	}
	c.logf("round %d %-18s %-8s %12.1f %-12s server cpu %5.1f%%  %s", round+1, sc.Name, s.Name, m.Value, sc.Metric, cpu, m.Noise)
}

// bench runs the load tool pinned to the load CPU and decodes its result.
// It also returns the CPU seconds the tool used.
func (c *comparer) bench(ctx context.Context, args []string) (*benchResult, float64, error) {
	cmdline := wrap(append([]string{c.tool}, args...), c.cpu(1), c.o.Nice)
	cmd := exec.CommandContext(ctx, cmdline[0], cmdline[1:]...)
	cmd.Env = append(os.Environ(), "GOGC=400") // the load tool's GC is not what we measure
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	ownSession(cmd, c.o.Nice)
	err := cmd.Start()
	if err == nil {
		setAutogroupNice(cmd.Process.Pid, c.o.Nice)
		err = cmd.Wait()
	}
	var toolSec float64
	if ps := cmd.ProcessState; ps != nil {
		toolSec = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	var res benchResult
	if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
		if err == nil {
			err = jerr
		}
		return nil, toolSec, fmt.Errorf("sockjs-bench %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return &res, toolSec, err
	}
	return &res, toolSec, nil
}

// median of the valid values, and how many rounds were invalid.
func (c *comparer) median(sc, srv string) (float64, int, int) {
	var vals []float64
	bad := 0
	for _, m := range c.results[sc][srv] {
		if m.Err != "" || math.IsNaN(m.Value) {
			bad++
			continue
		}
		vals = append(vals, m.Value)
	}
	if len(vals) == 0 {
		return math.NaN(), bad, 0
	}
	sort.Float64s(vals)
	n := len(vals)
	if n%2 == 1 {
		return vals[n/2], bad, n
	}
	return (vals[n/2-1] + vals[n/2]) / 2, bad, n
}
