package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ProcSnapshot is what /proc says about the server process at one moment.
// Goroutines is -1 when no goroutine URL was given or it could not be read.
type ProcSnapshot struct {
	At         time.Time `json:"-"`
	RSSKiB     int64     `json:"rss_kib"`
	FDs        int       `json:"fds"`
	Threads    int       `json:"threads"`
	CPUSeconds float64   `json:"cpu_seconds"` // user+system since start
	Goroutines int       `json:"goroutines"`
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; it is 100 on
// every Linux architecture this tool runs on.
const clockTicks = 100

// Probe reads a server's process statistics.
type Probe struct {
	PID           int
	GoroutinesURL string // optional: a loopback URL answering a goroutine count
	client        *http.Client
}

// NewProbe checks that pid exists and the goroutine URL is loopback.
func NewProbe(pid int, goroutinesURL string) (*Probe, error) {
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", pid)); err != nil {
		return nil, fmt.Errorf("server pid %d: %v", pid, err)
	}
	p := &Probe{PID: pid, GoroutinesURL: goroutinesURL}
	if goroutinesURL != "" {
		u, err := url.Parse(goroutinesURL)
		if err != nil || u.Scheme != "http" {
			return nil, fmt.Errorf("goroutines URL %q: want an http URL", goroutinesURL)
		}
		ip, err := loopbackHost(u.Hostname())
		if err != nil {
			return nil, fmt.Errorf("goroutines URL: %w", err)
		}
		port := u.Port()
		if port == "" {
			port = "80"
		}
		addr := net.JoinHostPort(ip.String(), port)
		p.client = &http.Client{
			Timeout: 5 * time.Second,
			Transport: &http.Transport{
				Proxy: nil,
				// Always the checked loopback address.
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, "tcp", addr)
				},
			},
		}
	}
	return p, nil
}

// Snapshot reads the process's memory, descriptors, threads, CPU time and,
// if configured, goroutines.
func (p *Probe) Snapshot() (ProcSnapshot, error) {
	s := ProcSnapshot{At: time.Now(), Goroutines: -1}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
	if err != nil {
		return s, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		switch k {
		case "VmRSS":
			s.RSSKiB, _ = strconv.ParseInt(f[0], 10, 64)
		case "Threads":
			s.Threads, _ = strconv.Atoi(f[0])
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return s, err
	}
	s.CPUSeconds, err = parseStatCPU(stat)
	if err != nil {
		return s, err
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.PID))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	if p.client != nil {
		n, err := p.goroutines()
		if err != nil {
			return s, fmt.Errorf("goroutines URL: %v", err)
		}
		s.Goroutines = n
	}
	return s, nil
}

// parseStatCPU returns utime+stime in seconds from /proc/<pid>/stat. The
// command name (field 2) may contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc stat line")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc stat times")
	}
	return float64(ut+st) / clockTicks, nil
}

var pprofTotal = regexp.MustCompile(`goroutine profile: total (\d+)`)

// goroutines reads the goroutine URL, which may answer a bare number, a
// JSON object with a "goroutines" field, or a pprof goroutine?debug=1 page.
func (p *Probe) goroutines() (int, error) {
	resp, err := p.client.Get(p.GoroutinesURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	return parseGoroutines(body)
}

func parseGoroutines(body []byte) (int, error) {
	if m := pprofTotal.FindSubmatch(body); m != nil {
		return strconv.Atoi(string(m[1]))
	}
	t := bytes.TrimSpace(body)
	if n, err := strconv.Atoi(string(t)); err == nil {
		return n, nil
	}
	var obj struct {
		Goroutines *int `json:"goroutines"`
	}
	if json.Unmarshal(t, &obj) == nil && obj.Goroutines != nil {
		return *obj.Goroutines, nil
	}
	return 0, fmt.Errorf("no goroutine count in %s", quoteShort(t))
}

// cpuPercent is the CPU the process used between two snapshots, in percent
// of one core.
func cpuPercent(a, b ProcSnapshot) float64 {
	wall := b.At.Sub(a.At).Seconds()
	if wall <= 0 {
		return 0
	}
	return 100 * (b.CPUSeconds - a.CPUSeconds) / wall
}
