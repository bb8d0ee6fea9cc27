package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
)

// Tests of sockjsd as a cluster node, with a real redis-server started
// on a free loopback port and stopped by PID (.ci/deps installs it).

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serverBinary finds a server Debian installs (nats-server is in /usr/sbin).
func serverBinary(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	t.Skipf("%s is not installed (.ci/deps installs it)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// process is a server the test started; stop ends it by PID.
type process struct {
	cmd  *exec.Cmd
	addr string
	log  *syncBuffer
}

func startProcess(t *testing.T, addr string, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), addr: addr, log: &syncBuffer{}}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(os.Environ(), "SOCKJSD_CLUSTER_SECRET=test-secret-of-32-bytes-at-least!")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %s:\n%s", bin, addr, p.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL once and reaps the process.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// stop asks for a graceful shutdown (SIGTERM) and waits for it.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.kill()
		t.Fatalf("no exit 15 s after SIGTERM:\n%s", p.log.String())
	}
}

func startRedis(t *testing.T) *process {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	return startProcess(t, addr, serverBinary(t, "redis-server"),
		"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
}

// sockjsdBinary builds this command into the test's directory (the
// build cache makes the second build of a run quick).
func sockjsdBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sockjsd")
	if out, err := exec.Command("go", "build", "-o", p, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return p
}

// startNodes starts n sockjsd processes on one broker flag.
func startNodes(t *testing.T, n int, broker ...string) []*process {
	bin := sockjsdBinary(t)
	var nodes []*process
	for range n {
		addr := freeAddr(t)
		args := append([]string{"-addr", addr, "-admin-addr", "", "-disconnect-delay", "2s", "-log-level", "warn"}, broker...)
		nodes = append(nodes, startProcess(t, addr, bin, args...))
	}
	return nodes
}

// A broker URL that is malformed, or names no server, stops sockjsd at
// start with an error that names the flag.
func TestRunBrokerUnreachable(t *testing.T) {
	dead := freeAddr(t) // nothing listens there
	for _, tc := range []struct {
		flag, url, want string
	}{
		{"-redis", "redis://" + dead, "cannot reach Redis at -redis redis://" + dead},
		{"-nats", "nats://" + dead, "cannot reach NATS at -nats nats://" + dead},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-admin-addr", "", tc.flag, tc.url,
				"-advertise", "http://127.0.0.1:1", "-cluster-secret", "0123456789abcdef"}, env(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			err = run(context.Background(), cfg, io.Discard, func(listening) { t.Error("serving despite a dead broker") })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want %q", err, tc.want)
			}
			if d := time.Since(began); d > brokerTimeout+2*time.Second {
				t.Fatalf("took %v to fail", d)
			}
		})
	}
}

// pollClient is an xhr-polling SockJS client whose every request goes to
// the next live node, as behind a round-robin balancer.
type pollClient struct {
	id   string
	http *http.Client
	pick func() string
}

func (c *pollClient) poll() (string, error) {
	resp, err := c.http.Post(c.pick()+"/echo/000/"+c.id+"/xhr", "text/plain", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("poll: status %d", resp.StatusCode)
	}
	return strings.TrimSuffix(string(b), "\n"), err
}

func (c *pollClient) send(msg string) (int, error) {
	resp, err := c.http.Post(c.pick()+"/echo/000/"+c.id+"/xhr_send", "text/plain", strings.NewReader(`["`+msg+`"]`))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// outcome of one polling session in the kill test.
type outcome int

const (
	survived outcome = iota // every echo came back
	lost                    // told it was lost: an open frame, a close frame, or 404 on a send
	broken                  // a request relayed through the dead node broke
	failed                  // anything else: a defect
)

// run echoes until stop, and says how the session ended.
func (c *pollClient) run(stop <-chan struct{}) (outcome, string) {
	if f, err := c.poll(); err != nil || f != "o" {
		return failed, fmt.Sprintf("open: %q %v", f, err)
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return survived, ""
		default:
		}
		msg := "m" + strconv.Itoa(i)
		code, err := c.send(msg)
		switch {
		case err != nil:
			return broken, err.Error()
		case code == http.StatusNotFound:
			return lost, "send 404"
		case code != http.StatusNoContent:
			return failed, fmt.Sprintf("send: %d", code)
		}
		f, err := c.poll()
		switch {
		case err != nil:
			return broken, err.Error()
		case f == `a["`+msg+`"]`:
		case f == "o" || strings.HasPrefix(f, "c["):
			return lost, f
		default:
			return failed, fmt.Sprintf("poll: %q", f)
		}
	}
}

// kill -9 one of three nodes under load: the sessions it owned end with
// the lost-session answer, those relayed through it break, the others go
// on, and new sessions work on the survivors at once.
func TestClusterKillNode(t *testing.T) {
	rds := startRedis(t)
	nodes := startNodes(t, 3, "-redis", "redis://"+rds.addr)
	var live atomic.Pointer[[]string]
	urls := []string{"http://" + nodes[0].addr, "http://" + nodes[1].addr, "http://" + nodes[2].addr}
	live.Store(&urls)
	var next atomic.Uint64
	pick := func() string {
		l := *live.Load()
		return l[next.Add(1)%uint64(len(l))]
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 200}}
	defer hc.CloseIdleConnections()

	// Websocket sessions, one per node and a few each.
	type wsSess struct {
		node int
		c    *websocket.Conn
	}
	var wss []wsSess
	for i, n := range nodes {
		for range 5 {
			c, _, err := websocket.DefaultDialer.Dial("ws://"+n.addr+"/echo/websocket", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			wss = append(wss, wsSess{i, c})
		}
	}

	const sessions = 60
	stop := make(chan struct{})
	results := make([]outcome, sessions)
	details := make([]string, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &pollClient{id: fmt.Sprintf("k%d", i), http: hc, pick: pick}
			results[i], details[i] = c.run(stop)
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	nodes[2].kill()
	survivors := urls[:2]
	live.Store(&survivors) // the balancer's health check takes the node out
	killed := time.Now()

	// A new session on the survivors works at once.
	fresh := &pollClient{id: "fresh", http: hc, pick: pick}
	if f, err := fresh.poll(); err != nil || f != "o" {
		t.Fatalf("new session after the kill: %q %v", f, err)
	}
	if code, err := fresh.send("x"); err != nil || code != http.StatusNoContent {
		t.Fatalf("new session's send: %d %v", code, err)
	}
	if f, err := fresh.poll(); err != nil || f != `a["x"]` {
		t.Fatalf("new session's echo: %q %v", f, err)
	}
	t.Logf("a new session echoed %v after the kill", time.Since(killed).Round(time.Millisecond))

	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()

	var count [4]int
	for i, r := range results {
		count[r]++
		if r == failed {
			t.Errorf("session %d: %s", i, details[i])
		}
	}
	wsOK, wsDead := 0, 0
	for _, s := range wss {
		_ = s.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		_ = s.c.SetWriteDeadline(time.Now().Add(3 * time.Second))
		err := s.c.WriteMessage(websocket.TextMessage, []byte(`["ping"]`))
		var got []byte
		for err == nil && !strings.Contains(string(got), "ping") {
			_, got, err = s.c.ReadMessage()
		}
		switch {
		case err == nil && s.node != 2:
			wsOK++
		case err != nil && s.node == 2:
			wsDead++
		default:
			t.Errorf("websocket on node %d: %v", s.node, err)
		}
	}
	t.Logf("kill -9 of 1 of 3 nodes under load: %d polling sessions: %d survived, %d ended as lost (owned by the dead node), %d broken (a request in flight at the dead node, sent there or relayed through it), %d defective; websocket: %d of %d on survivors unaffected, %d of %d on the dead node closed",
		sessions, count[survived], count[lost], count[broken], count[failed], wsOK, 10, wsDead, 5)
	if count[survived] == 0 || count[lost] == 0 {
		t.Errorf("want some sessions survived and some lost: %v", count)
	}
}

// Redis stopped for 10 s and started again: websocket sessions go on, a
// polling session fails while the registry is out of reach and new ones
// work once it is back; the node says so in its log.
func TestClusterBrokerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s outage")
	}
	rds := startRedis(t)
	nodes := startNodes(t, 2, "-redis", "redis://"+rds.addr, "-log-level", "info")
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+nodes[0].addr+"/broadcast/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	echo, _, err := websocket.DefaultDialer.Dial("ws://"+nodes[1].addr+"/echo/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	readUntil := func(c *websocket.Conn, want string) error {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, p, err := c.ReadMessage()
			if err != nil {
				return err
			}
			if strings.Contains(string(p), want) {
				return nil
			}
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	urls := []string{"http://" + nodes[0].addr, "http://" + nodes[1].addr}
	var n atomic.Uint64
	pick := func() string { return urls[n.Add(1)%2] }

	// The broadcast session is subscribed once its own message comes back.
	if err := ws.WriteMessage(websocket.TextMessage, []byte("self")); err != nil {
		t.Fatal(err)
	}
	if err := readUntil(ws, "self"); err != nil {
		t.Fatal(err)
	}

	rds.kill()
	began := time.Now()
	for i := range nodes { // one new session on each node
		during := &pollClient{id: "during" + strconv.Itoa(i), http: hc, pick: pick}
		_, perr := during.poll()
		t.Logf("a new polling session while Redis is down: %v", perr)
		if perr == nil || !strings.Contains(perr.Error(), "503") {
			t.Errorf("poll during the outage: %v, want 503", perr)
		}
	}
	for i := 0; time.Since(began) < 10*time.Second; i++ {
		msg := "ping" + strconv.Itoa(i)
		if err := echo.WriteMessage(websocket.TextMessage, []byte(`["`+msg+`"]`)); err != nil {
			t.Fatalf("websocket during the outage: %v", err)
		}
		if err := readUntil(echo, msg); err != nil {
			t.Fatalf("websocket echo during the outage: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	_, port, _ := net.SplitHostPort(rds.addr)
	startProcess(t, rds.addr, serverBinary(t, "redis-server"), "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	rc := redis.NewClient(&redis.Options{Addr: rds.addr})
	defer rc.Close()
	_ = rc.Ping(context.Background()).Err()
	restarted := time.Now()

	// Polling works again at once; the hub resubscribes on its own.
	after := &pollClient{id: "after", http: hc, pick: pick}
	deadline := time.Now().Add(5 * time.Second)
	var f string
	for f, err = after.poll(); (err != nil || f != "o") && time.Now().Before(deadline); f, err = after.poll() {
		time.Sleep(100 * time.Millisecond)
	}
	if f != "o" {
		t.Fatalf("polling after Redis came back: %q %v", f, err)
	}
	if code, err := after.send("back"); err != nil || code != http.StatusNoContent {
		t.Fatalf("send after the outage: %d %v", code, err)
	}
	if f, err := after.poll(); f != `a["back"]` {
		t.Fatalf("echo after the outage: %q %v", f, err)
	}
	// A broadcast from the other node reaches the first node's session
	// once both are resubscribed.
	deadline = time.Now().Add(10 * time.Second)
	b2, _, err := websocket.DefaultDialer.Dial("ws://"+nodes[1].addr+"/broadcast/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	got := make(chan string, 64)
	go func() { // ends when ws is closed
		defer close(got)
		_ = ws.SetReadDeadline(time.Time{})
		for {
			_, p, err := ws.ReadMessage()
			if err != nil {
				return
			}
			got <- string(p)
		}
	}()
	for i := 0; ; i++ {
		msg := "all" + strconv.Itoa(i)
		_ = b2.WriteMessage(websocket.TextMessage, []byte(msg))
		wait := time.After(500 * time.Millisecond)
		arrived := false
		for !arrived {
			select {
			case p := <-got:
				arrived = strings.Contains(p, "all")
			case <-wait:
			}
			if !arrived {
				break
			}
		}
		if arrived {
			t.Logf("cross-node broadcast back %v after Redis restarted", time.Since(restarted).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cross-node broadcast 10 s after Redis came back")
		}
	}
	for i, p := range nodes {
		if !strings.Contains(p.log.String(), "engine unreachable") {
			t.Errorf("node %d's log does not tell of the outage:\n%s", i, p.log.String())
		}
	}
	t.Logf("Redis down 10 s: websocket echo unaffected, a new polling session got 503, polling and cross-node broadcast back once Redis was")
	// Graceful shutdown releases the claims.
	for _, p := range nodes {
		p.stop(t)
	}
	keys, err := rc.Keys(context.Background(), "sockjsd:owner:*").Result()
	if err != nil || len(keys) != 0 {
		t.Fatalf("claims left after graceful shutdown: %v %v", keys, err)
	}
}
