package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is one of the compared implementations.
type server struct {
	Name string
	Desc string
	// cmd returns the command line that starts it listening on addr.
	cmd func(addr string) []string
	dir string // working directory
	// logReady, if set, finds the listening address in a line the server
	// logs to stderr (cmd/sockjsd), instead of its first stdout line.
	logReady func(line string) (addr string, ok bool)
	// Unavailable says why the server cannot be run, or is empty.
	Unavailable string
}

// proc is a running server.
type proc struct {
	srv  *server
	cmd  *exec.Cmd
	Addr string
	PID  int
	log  string
}

// buildServers builds the load tool and every server into dir. A server
// that does not build is marked unavailable rather than stopping the
// comparison (our engine may be mid-change).
func buildServers(ctx context.Context, benchDir, dir string, names []string, base string, shippedFlags []string, logf func(string, ...any)) (tool string, servers []*server, err error) {
	root := filepath.Dir(benchDir)
	tool = filepath.Join(dir, "sockjs-bench")
	logf("building cmd/sockjs-bench")
	if out, err := goBuild(ctx, root, tool, "./cmd/sockjs-bench"); err != nil {
		return "", nil, fmt.Errorf("building the load tool: %v\n%s", err, out)
	}
	all := map[string]*server{
		"sockjsd": {Name: "sockjsd", Desc: "our sockjs package (bench/servers/sockjsd)"},
		"bare":    {Name: "bare", Desc: "bare gorilla/websocket, websocket transport only (bench/servers/bare)"},
		"igm":     {Name: "igm", Desc: "igm/sockjs-go v3.0.3 (bench/servers/igm)"},
		"node":    {Name: "node", Desc: "sockjs-node 0.3.24 on node " + nodeVersion(ctx) + " (bench/servers/node)"},
		"hub":     {Name: "hub", Desc: "sockjsd with /broadcast through sockjs/hub (bench/servers/sockjsd -hub)"},
		"base":    {Name: "base", Desc: "bench/servers/sockjsd as of " + base},
		"shipped": {Name: "shipped", Desc: "cmd/sockjsd as shipped: chi, metrics, status board, logs at info, hub broadcast " + strings.Join(shippedFlags, " ")},
	}
	for _, name := range names {
		s, ok := all[name]
		if !ok {
			return "", nil, fmt.Errorf("unknown server %q (have %s)", name, strings.Join(knownServers, ", "))
		}
		servers = append(servers, s)
		if name == "node" {
			s.dir = filepath.Join(benchDir, "servers", "node")
			if _, err := os.Stat(filepath.Join(s.dir, "node_modules", "sockjs", "package.json")); err != nil {
				logf("npm ci in bench/servers/node")
				c := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
				c.Dir = s.dir
				if out, err := c.CombinedOutput(); err != nil {
					s.Unavailable = fmt.Sprintf("npm ci failed: %v: %s", err, lastLine(out))
					continue
				}
			}
			s.cmd = func(addr string) []string { return []string{"node", "server.js", "-addr", addr} }
			continue
		}
		bin := filepath.Join(dir, name)
		pkgDir, pkg, args := benchDir, "./servers/"+name, []string(nil)
		switch name {
		case "hub":
			pkg, args = "./servers/sockjsd", []string{"-hub"}
		case "base":
			if base == "" {
				s.Unavailable = "no -base revision given"
				continue
			}
			src := filepath.Join(dir, "base-src")
			logf("extracting %s into %s", base, src)
			if err := extractRevision(ctx, root, base, src); err != nil {
				s.Unavailable = err.Error()
				continue
			}
			pkgDir, pkg = filepath.Join(src, "bench"), "./servers/sockjsd"
		case "shipped":
			// Everything on as a user starts it, the admin server on a
			// port of its own.
			pkgDir, pkg, args = root, "./cmd/sockjsd", append([]string{"-admin-addr", "127.0.0.1:0"}, shippedFlags...)
			s.logReady = sockjsdListening
		}
		logf("building %s", pkg)
		if out, err := goBuild(ctx, pkgDir, bin, pkg); err != nil {
			s.Unavailable = fmt.Sprintf("does not build: %s", lastLine(out))
			continue
		}
		s.cmd = func(addr string) []string { return append([]string{bin, "-addr", addr}, args...) }
	}
	return tool, servers, nil
}

// extractRevision writes the tree of a git revision of the repository at
// root into dir.
func extractRevision(ctx context.Context, root, rev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	archive := exec.CommandContext(ctx, "git", "-C", root, "archive", "--format=tar", rev)
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	var stderr strings.Builder
	archive.Stderr = &stderr
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		_ = untar.Wait()
		return fmt.Errorf("git archive %s: %v: %s", rev, err, strings.TrimSpace(stderr.String()))
	}
	return untar.Wait()
}

func goBuild(ctx context.Context, dir, out, pkg string) ([]byte, error) {
	c := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	c.Dir = dir
	return c.CombinedOutput()
}

func nodeVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return "(not found)"
	}
	return strings.TrimSpace(string(out))
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// start runs the server pinned to cpu (empty: not pinned) at the given
// niceness and waits for its "listening on ADDR" line.
func (s *server) start(cpu string, nice int, logDir string) (*proc, error) {
	args := wrap(s.cmd("127.0.0.1:0"), cpu, nice)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.dir
	logPath := filepath.Join(logDir, s.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	var stdout io.ReadCloser
	if s.logReady != nil {
		cmd.Stdout = logFile
		stdout, err = cmd.StderrPipe()
	} else {
		cmd.Stderr = logFile
		stdout, err = cmd.StdoutPipe()
	}
	if err != nil {
		return nil, err
	}
	ownSession(cmd, nice)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	setAutogroupNice(cmd.Process.Pid, nice)
	// nice and taskset exec the server, so the pid is the server's own.
	p := &proc{srv: s, cmd: cmd, PID: cmd.Process.Pid, log: logPath}
	ready := s.logReady
	if ready == nil {
		ready = func(line string) (string, bool) {
			return strings.CutPrefix(strings.TrimSpace(line), "listening on ")
		}
	}
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		// The first line, or with logReady the first that names the
		// address (at most 100 lines in).
		for i := 0; ; i++ {
			line, err := br.ReadString('\n')
			_, _ = io.WriteString(logFile, line)
			if _, ok := ready(line); ok || s.logReady == nil || err != nil || i == 100 {
				lines <- line
				break
			}
		}
		_, _ = io.Copy(logFile, br)
	}()
	select {
	case line := <-lines:
		addr, ok := ready(line)
		if !ok {
			p.stop()
			return nil, fmt.Errorf("%s: did not start (first line %q; see %s)", s.Name, line, logPath)
		}
		p.Addr = addr
	case <-time.After(15 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s: not listening after 15s (see %s)", s.Name, logPath)
	}
	return p, nil
}

// url is the base URL of one of the server's services.
func (p *proc) url(service string) string {
	return "http://" + p.Addr + "/" + service
}

// works checks that the echo service answers /info as SockJS does.
func (p *proc) works() error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.url("echo") + "/info")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"websocket"`) {
		return fmt.Errorf("GET /echo/info: %s %q", resp.Status, body)
	}
	return nil
}

// stop ends the server: SIGTERM, then SIGKILL after two seconds.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// findBenchDir returns the bench module's directory, from the working
// directory or its bench/ subdirectory.
func findBenchDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for _, d := range []string{wd, filepath.Join(wd, "bench")} {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/sockjsd/sockjsd/bench\n") {
			return d, nil
		}
	}
	return "", errors.New("run from the repository root or bench/")
}

// wrap prefixes a command line with taskset (cpu not empty) and nice
// (nice not zero); both exec the command, keeping its pid.
func wrap(args []string, cpu string, nice int) []string {
	if cpu != "" {
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	if nice != 0 {
		args = append([]string{"nice", "-n", fmt.Sprint(nice)}, args...)
	}
	return args
}

// Under sched_autogroup (most desktop and VM kernels) a process's nice
// value only counts against processes of its own session: every session
// gets an equal share of a CPU. With -nice, servers and the load tool run
// in their own session whose autogroup gets the same niceness, so that
// other work on a shared machine takes less from them.

// ownSession makes cmd start a new session (and autogroup) if nice is set.
func ownSession(cmd *exec.Cmd, nice int) {
	if nice != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
}

// setAutogroupNice sets the niceness of a started process's autogroup.
// Kernels without autogroups have no such file; nothing to do there.
func setAutogroupNice(pid, nice int) {
	if nice == 0 {
		return
	}
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/autogroup", pid), []byte(fmt.Sprint(nice)), 0)
}

// sockjsdListening finds the address in cmd/sockjsd's log line
// `msg="sockjsd listening" url=http://127.0.0.1:PORT/`.
func sockjsdListening(line string) (string, bool) {
	if !strings.Contains(line, "sockjsd listening") {
		return "", false
	}
	_, url, ok := strings.Cut(line, "url=http://")
	if !ok {
		return "", false
	}
	addr, _, _ := strings.Cut(url, "/")
	return addr, addr != ""
}
