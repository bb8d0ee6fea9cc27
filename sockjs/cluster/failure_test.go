package cluster

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitOwner polls the engine until key's owner is want (a hang guard,
// not a measure).
func waitOwner(t *testing.T, e Engine, key, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		owner, err := e.Owner(context.Background(), key)
		if err == nil && owner == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: owner %q (%v), want %q", key, owner, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openStream opens an xhr_streaming receiver for id on base and returns a
// reader past its prelude.
func openStream(t *testing.T, ctx context.Context, base, id string) *bufio.Reader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/000/"+id+"/xhr_streaming", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream %s: %s", id, resp.Status)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil { // the prelude
		t.Fatal(err)
	}
	return br
}

// kill -9 of one node of three: the sessions it owned end for their
// clients (the next receiver through a survivor gets the end of the
// session, a send 404), so do those whose receiver it relayed; its claims
// are deleted by the survivors that find it gone; other sessions go on;
// new sessions open on the survivors at once.
func TestOwnerKilled(t *testing.T) {
	for _, ec := range engineCases {
		t.Run(ec.name, func(t *testing.T) {
			ctx := context.Background()
			e := ec.make(t, 3*time.Second)
			nodes := newCluster(t, e, 3, clusterOpts{})
			n0, n1, n2 := nodes[0], nodes[1], nodes[2]
			c := &http.Client{}
			defer c.CloseIdleConnections()

			// owned: a polling session of node 0's, idle when it dies.
			if f := poll(t, c, n0.base, "owned"); f != "o" {
				t.Fatalf("open: %q", f)
			}
			// relayed: node 1's session whose stream node 0 relays.
			if _, err := e.Claim(ctx, "echo:relayed", n1.node.ID()); err != nil {
				t.Fatal(err)
			}
			stream := openStream(t, ctx, n0.base, "relayed")
			if f, _ := stream.ReadString('\n'); f != "o\n" {
				t.Fatalf("relayed stream: %q", f)
			}
			// waiting: node 2's session with a long poll relayed by node 1
			// to it; and elsewhere: node 2's idle session.
			for _, id := range []string{"waiting", "elsewhere"} {
				if f := poll(t, c, n2.base, id); f != "o" {
					t.Fatalf("open %s: %q", id, f)
				}
			}
			waiting := make(chan string, 1)
			go func() {
				resp, err := c.Post(n1.base+"/000/waiting/xhr", "text/plain", nil)
				if err != nil {
					waiting <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := bufio.NewReader(resp.Body).ReadString('\n')
				waiting <- b
			}()
			waitOwner(t, e, "echo:owned", n0.node.ID())

			n0.kill()

			// The stream node 0 relayed breaks; node 1 closes the session.
			if _, err := stream.ReadString('\n'); err == nil {
				t.Fatal("the relayed stream outlived its relay")
			}
			if f := poll(t, c, n2.base, "relayed"); f != `c[1002,"Connection interrupted"]` {
				t.Fatalf("relayed session after its relay died: %q", f)
			}
			// The dead owner's session: lost, through either survivor.
			if f := poll(t, c, n1.base, "owned"); f != "o" && !strings.HasPrefix(f, `c[1006,"Session lost"]`) {
				t.Fatalf("owned session after its owner died: %q", f)
			}
			waitOwner(t, e, "echo:owned", "")
			if got := send(t, c, n2.base, "owned", `["x"]`); got != http.StatusNotFound {
				t.Fatalf("send to the dead owner's session: %d", got)
			}
			// Sessions elsewhere go on, through either survivor.
			for _, id := range []string{"waiting", "elsewhere"} {
				if got := send(t, c, n1.base, id, `["still here"]`); got != http.StatusNoContent {
					t.Fatalf("%s: send %d", id, got)
				}
			}
			if f := <-waiting; f != "a[\"still here\"]\n" {
				t.Fatalf("waiting poll: %q", f)
			}
			if f := poll(t, c, n1.base, "elsewhere"); f != `a["still here"]` {
				t.Fatalf("elsewhere: %q", f)
			}
			// A new session opens on a survivor and works across both.
			if f := poll(t, c, n1.base, "new"); f != "o" {
				t.Fatalf("new session: %q", f)
			}
			if got := send(t, c, n2.base, "new", `["hello"]`); got != http.StatusNoContent {
				t.Fatalf("new session: send %d", got)
			}
			if f := poll(t, c, n2.base, "new"); f != `a["hello"]` {
				t.Fatalf("new session: %q", f)
			}
		})
	}
}

// A node shut down gracefully closes its sessions with a close frame and
// releases its claims at once.
func TestShutdownReleases(t *testing.T) {
	for _, ec := range engineCases {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.make(t, time.Minute)
			nodes := newCluster(t, e, 2, clusterOpts{})
			c := &http.Client{}
			defer c.CloseIdleConnections()
			ids := []string{"a", "b", "c"}
			for _, id := range ids {
				if f := poll(t, c, nodes[0].base, id); f != "o" {
					t.Fatalf("open %s: %q", id, f)
				}
				waitOwner(t, e, "echo:"+id, nodes[0].node.ID())
			}
			if f := poll(t, c, nodes[1].base, "other"); f != "o" {
				t.Fatal(f)
			}
			// A stream node 1 relays from node 0 gets the close frame.
			if _, err := e.Claim(context.Background(), "echo:d", nodes[0].node.ID()); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, "d")
			stream := openStream(t, context.Background(), nodes[1].base, "d")
			if f, _ := stream.ReadString('\n'); f != "o\n" {
				t.Fatalf("stream: %q", f)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := nodes[0].node.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if f, _ := stream.ReadString('\n'); f != "c[1001,\"Server shutting down\"]\n" {
				t.Fatalf("relayed stream: %q", f)
			}
			for _, id := range ids {
				if owner, err := e.Owner(context.Background(), "echo:"+id); err != nil || owner != "" {
					t.Fatalf("%s after Shutdown: owner %q, %v", id, owner, err)
				}
			}
			if owner, _ := e.Owner(context.Background(), "echo:other"); owner != nodes[1].node.ID() {
				t.Fatalf("the other node's claim: %q", owner)
			}
		})
	}
}

// A claim lives while its session does, refreshed past the TTL, and is
// released after the session is gone.
func TestClaimFollowsSession(t *testing.T) {
	e := NewMemory(300 * time.Millisecond)
	nodes := newCluster(t, e, 2, clusterOpts{disconnect: 200 * time.Millisecond})
	c := &http.Client{}
	defer c.CloseIdleConnections()
	if f := poll(t, c, nodes[1].base, "s"); f != "o" {
		t.Fatal(f)
	}
	// Polls through the other node keep it alive well past the TTL.
	for i := range 10 {
		if got := send(t, c, nodes[0].base, "s", `["m"]`); got != http.StatusNoContent {
			t.Fatalf("send %d: %d", i, got)
		}
		if f := poll(t, c, nodes[0].base, "s"); f != `a["m"]` {
			t.Fatalf("poll %d: %q", i, f)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if owner, _ := e.Owner(context.Background(), "echo:s"); owner != nodes[1].node.ID() {
		t.Fatalf("owner after 1 s of polls: %q", owner)
	}
	// The application ends the session; the client gets the close frame
	// and stops; the claim goes.
	if got := send(t, c, nodes[0].base, "s", `["bye"]`); got != http.StatusNoContent {
		t.Fatal(got)
	}
	if f := poll(t, c, nodes[0].base, "s"); f != `c[3000,"bye"]` {
		t.Fatalf("close: %q", f)
	}
	waitOwner(t, e, "echo:s", "")
	if e.Len() != 0 {
		t.Fatalf("%d claims left", e.Len())
	}
}

// A session with no request under way keeps its claim as long as its
// Server holds it, here past three TTLs between two polls.
func TestClaimOutlivesIdleGap(t *testing.T) {
	e := NewMemory(150 * time.Millisecond)
	nodes := newCluster(t, e, 2, clusterOpts{disconnect: 2 * time.Second})
	c := &http.Client{}
	defer c.CloseIdleConnections()
	if f := poll(t, c, nodes[1].base, "idle"); f != "o" {
		t.Fatal(f)
	}
	time.Sleep(500 * time.Millisecond)
	if owner, _ := e.Owner(context.Background(), "echo:idle"); owner != nodes[1].node.ID() {
		t.Fatalf("owner after an idle gap: %q", owner)
	}
	if got := send(t, c, nodes[0].base, "idle", `["m"]`); got != http.StatusNoContent {
		t.Fatalf("send: %d", got)
	}
	if f := poll(t, c, nodes[0].base, "idle"); f != `a["m"]` {
		t.Fatalf("poll: %q", f)
	}
}
