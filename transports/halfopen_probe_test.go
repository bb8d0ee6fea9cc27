package transports_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestProbeHalfOpenWebsocket measures, with the default heartbeat (25 s)
// and pong timeout (10 s), how long a websocket whose client's network is
// cut lives on at the server: the client (this test binary again) sits in
// a network namespace of its own, linked to the server by a veth pair,
// answers the first ping, and then its link goes down, so that nothing it sends or receives gets
// through and no FIN or RST ever comes. That moment is the worst case: the
// next ping leaves a heartbeat later, and the connection is closed a pong
// timeout after it. It takes about a minute and needs root, so it runs only
// with SOCKJSD_PROBE=1; it prints the figure BENCHMARKS.md gives.
func TestProbeHalfOpenWebsocket(t *testing.T) {
	if addr := os.Getenv("SOCKJSD_PROBE_PEER"); addr != "" {
		probePeer(t, addr)
		return
	}
	if os.Getenv("SOCKJSD_PROBE") != "1" {
		t.Skip("a probe of about a minute: set SOCKJSD_PROBE=1 (needs root, for a network namespace)")
	}
	const hb = 25 * time.Second // the sockjs default; the pong timeout is left at its default
	ns := fmt.Sprintf("sockjsd-probe-%d", os.Getpid())
	host, peer := fmt.Sprintf("sjp%da", os.Getpid()%100000), fmt.Sprintf("sjp%db", os.Getpid()%100000)
	const hostAddr, peerAddr = "10.213.0.1", "10.213.0.2"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() }) // takes the veth pair with it
	ip("link", "add", host, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", host).Run() })
	ip("link", "set", peer, "netns", ns)
	ip("addr", "add", hostAddr+"/30", "dev", host)
	ip("link", "set", host, "up")
	ip("-n", ns, "addr", "add", peerAddr+"/30", "dev", peer)
	ip("-n", ns, "link", "set", peer, "up")

	ended := make(chan time.Time, 1)
	h := newHarness(&harnessOptions{Heartbeat: hb}, func(s appSession) {
		for {
			if _, err := s.Recv(context.Background()); err != nil {
				ended <- time.Now()
				return
			}
		}
	}, &recMetrics{})
	ln, err := net.Listen("tcp", hostAddr+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		_ = h.Shutdown(ctx)
		_ = srv.Close()
	}()

	// The client is this test binary again, run inside the namespace.
	peerCmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestProbeHalfOpenWebsocket$")
	peerCmd.Env = append(os.Environ(), "SOCKJSD_PROBE_PEER="+ln.Addr().String())
	stdin, err := peerCmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := peerCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	peerCmd.Stderr = os.Stderr
	if err := peerCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = peerCmd.Wait() }() // the peer holds its socket until then
	sc := bufio.NewScanner(stdout)
	var pingAt string
	for sc.Scan() {
		if at, ok := strings.CutPrefix(sc.Text(), "answered "); ok {
			pingAt = at
			break
		}
	}
	if pingAt == "" {
		t.Fatalf("the peer answered no ping: %v", sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	ip("-n", ns, "link", "set", peer, "down")
	cut := time.Now()
	t.Logf("first ping %s after the handshake, answered; link down", pingAt)
	select {
	case at := <-ended:
		d := at.Sub(cut)
		t.Logf("half-open websocket closed by the server %.1f s after the link went down (heartbeat %v, pong timeout %v)",
			d.Seconds(), hb, 10*time.Second)
		if d > hb+10*time.Second+2*time.Second {
			t.Errorf("closed %v after the link went down, want within heartbeat + pong timeout", d)
		}
	case <-time.After(3 * hb):
		t.Fatalf("session still open %v after the link went down", 3*hb)
	}
}

// probePeer is the client of TestProbeHalfOpenWebsocket, in its network
// namespace: it opens the websocket, answers the first ping, says so on
// stdout, and then holds the connection, doing nothing, until stdin closes.
func probePeer(t *testing.T, addr string) {
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest("GET", "http://"+addr+"/echo/000/probe/websocket", nil)
	br := wsHandshake(t, conn, req)
	start := time.Now()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	for {
		op, payload, err := readFrame(br)
		if err != nil {
			t.Fatalf("before the first ping: %v", err)
		}
		if op == 9 {
			if _, err := conn.Write(clientFrame(0x8A, string(payload))); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	fmt.Printf("answered %v\n", time.Since(start).Round(time.Millisecond))
	_, _ = io.Copy(io.Discard, os.Stdin)
}
