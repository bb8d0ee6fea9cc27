package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Other processes on this machine (builds, other test suites) steal CPU
// from a benchmark. The comparison measures how busy each CPU was during
// a run, minus what the server and the load tool used themselves, and
// reports that as noise next to every figure.

// cpuTimes is busy time per CPU from /proc/stat, in seconds.
type cpuTimes struct {
	at   time.Time
	busy map[string]float64 // "cpu0", "cpu1", ..., "cpu" (all)
}

const userHZ = 100

func readCPUTimes() cpuTimes {
	t := cpuTimes{at: time.Now(), busy: map[string]float64{}}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return t
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		// user nice system idle iowait irq softirq steal ...: processes'
		// time and what the hypervisor took. Interrupt and softirq time
		// (much of it our own loopback traffic) is left out.
		var busy float64
		for _, i := range []int{1, 2, 3, 8} {
			n, _ := strconv.ParseFloat(f[i], 64)
			busy += n
		}
		t.busy[f[0]] = busy / userHZ
	}
	return t
}

// procCPU returns a process's user+system CPU seconds.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / userHZ
}

// noise is the CPU other processes used during a run, in percent of one
// core: on the server's CPU and on the load tool's when pinned, or on the
// whole machine when not.
type noise struct {
	ServerCPU float64 `json:"server_cpu_pct"` // others on the server's core
	LoadCPU   float64 `json:"load_cpu_pct"`   // others on the load tool's core
}

func (n noise) max() float64 { return max(n.ServerCPU, n.LoadCPU) }

func (n noise) String() string {
	return fmt.Sprintf("noise %2.0f%%/%2.0f%%", n.ServerCPU, n.LoadCPU)
}

// measureNoise computes noise from CPU times before and after a run and
// the CPU seconds the server and the load tool used in between.
func measureNoise(a, b cpuTimes, pinned bool, serverSec, toolSec float64) noise {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return noise{}
	}
	pct := func(cpu string, own float64) float64 {
		v := 100 * (b.busy[cpu] - a.busy[cpu] - own) / wall
		return max(v, 0)
	}
	if pinned {
		return noise{ServerCPU: pct("cpu0", serverSec), LoadCPU: pct("cpu1", toolSec)}
	}
	all := pct("cpu", serverSec+toolSec)
	return noise{ServerCPU: all, LoadCPU: all}
}
