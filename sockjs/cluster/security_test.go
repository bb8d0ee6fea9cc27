package cluster

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// signedPoll is an xhr poll for id on node's URL as a peer would forward
// it, signed with secret at the given time, then altered by tamper.
func signedPoll(t *testing.T, from *Node, target *testNode, id string, at time.Time, tamper func(http.Header)) *http.Response {
	t.Helper()
	in, _ := http.NewRequest(http.MethodPost, target.base+"/000/"+id+"/xhr", nil)
	in.RemoteAddr = "192.0.2.7:4000"
	in.RequestURI = in.URL.RequestURI()
	in.Header.Set("Origin", "http://example.com")
	out := in.Clone(context.Background())
	out.RequestURI = ""
	from.sign(out, in, at)
	if tamper != nil {
		tamper(out.Header)
	}
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A request that carries forwarding headers is served only if a peer
// signed it, recently, as it arrives.
func TestForgedForwarding(t *testing.T) {
	nodes := newCluster(t, NewMemory(0), 2, clusterOpts{})
	stranger, err := New(Config{Engine: NewMemory(0), URL: "http://127.0.0.1:1", Secret: []byte("another secret, 32 bytes long..")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stranger.Shutdown(context.Background()) })
	peer := nodes[1].node
	now := time.Now()
	cases := []struct {
		name   string
		from   *Node
		at     time.Time
		tamper func(http.Header)
		want   int
	}{
		{"valid", peer, now, nil, http.StatusOK},
		{"other secret", stranger, now, nil, http.StatusForbidden},
		{"no signature", peer, now, func(h http.Header) { h.Del(hdrSignature) }, http.StatusForbidden},
		{"client address changed", peer, now, func(h http.Header) { h.Set(hdrClient, "198.51.100.1:1") }, http.StatusForbidden},
		{"origin changed", peer, now, func(h http.Header) { h.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"x-forwarded-for added", peer, now, func(h http.Header) { h.Set("X-Forwarded-For", "198.51.100.1") }, http.StatusForbidden},
		{"proto changed", peer, now, func(h http.Header) { h.Set(hdrProto, "https") }, http.StatusForbidden},
		{"two signatures", peer, now, func(h http.Header) { h.Add(hdrSignature, h.Get(hdrSignature)) }, http.StatusForbidden},
		{"too old", peer, now.Add(-time.Minute), nil, http.StatusForbidden},
		{"from the future", peer, now.Add(time.Minute), nil, http.StatusForbidden},
		{"a client's own header", peer, now, func(h http.Header) {
			for _, k := range forwardingHeaders {
				h.Del(k)
			}
			h.Set(hdrClient, "10.0.0.1:1")
		}, http.StatusForbidden},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := "forged" + strconv.Itoa(i)
			resp := signedPoll(t, tc.from, nodes[0], id, tc.at, tc.tamper)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			owner, _ := nodes[0].node.cfg.Engine.Owner(context.Background(), "echo:"+id)
			if claimed := owner != ""; claimed != (tc.want == http.StatusOK) {
				t.Fatalf("claimed: %v (owner %q)", claimed, owner)
			}
			if tc.want != http.StatusOK {
				return
			}
			// The owner believed the client address the peer vouched for.
			// The handler runs on its own goroutine, perhaps after the
			// open frame went out: wait for it.
			var remote string
			for deadline := time.Now().Add(5 * time.Second); remote == "" && time.Now().Before(deadline); {
				nodes[0].mu.Lock()
				remote = nodes[0].remotes[id]
				nodes[0].mu.Unlock()
				if remote == "" {
					time.Sleep(5 * time.Millisecond)
				}
			}
			if remote != "192.0.2.7:4000" {
				t.Fatalf("session's remote address %q", remote)
			}
		})
	}
}

// A forwarded request is never forwarded again: a node that does not
// hold the session says so, and the forwarding node ends the session
// for its client.
func TestNoForwardingLoop(t *testing.T) {
	ctx := context.Background()
	e := NewMemory(0)
	nodes := newCluster(t, e, 3, clusterOpts{})
	// The engine names node 2, but a request signed by node 1 reaches
	// node 0, as if routing had gone wrong.
	if _, err := e.Claim(ctx, "echo:loop", nodes[2].node.ID()); err != nil {
		t.Fatal(err)
	}
	before := nodes[2].hits.Load()
	resp := signedPoll(t, nodes[1].node, nodes[0], "loop", time.Now(), nil)
	if resp.StatusCode != http.StatusMisdirectedRequest || resp.Header.Get(misdirectedHeader) == "" {
		t.Fatalf("status %d, want 421 from the node itself", resp.StatusCode)
	}
	if got := nodes[2].hits.Load(); got != before {
		t.Fatalf("the forwarded request was forwarded on (%d requests at the owner)", got-before)
	}
	// The client-facing path: node 0 forwards to the owner the engine
	// names, node 2, which answers; one request each.
	before0, before2 := nodes[0].hits.Load(), nodes[2].hits.Load()
	if f := poll(t, &http.Client{}, nodes[0].base, "loop"); f != "o" {
		t.Fatalf("poll through node 0: %q", f)
	}
	if d0, d2 := nodes[0].hits.Load()-before0, nodes[2].hits.Load()-before2; d0 != 1 || d2 != 1 {
		t.Fatalf("requests: %d at node 0, %d at the owner; want 1 and 1", d0, d2)
	}
}

// A client cannot reach the cluster's own headers on the way out either:
// a node strips what a client sent before signing.
func TestSignReplacesClientHeaders(t *testing.T) {
	n, err := New(Config{Engine: NewMemory(0), URL: "http://127.0.0.1:1", Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	in, _ := http.NewRequest(http.MethodPost, "http://node/echo/000/x/xhr", nil)
	in.RemoteAddr = "192.0.2.1:1"
	in.Header.Set(hdrClient, "10.0.0.1:1")
	out := in.Clone(context.Background())
	n.sign(out, in, time.Now())
	if got := out.Header.Values(hdrClient); len(got) != 1 || got[0] != "192.0.2.1:1" {
		t.Fatalf("client header %q", got)
	}
	in.RequestURI = "/echo/000/x/xhr"
	out.RequestURI = "/echo/000/x/xhr"
	out.Host = in.Host
	r, err := n.verify(out, time.Now())
	if err != nil || r.RemoteAddr != "192.0.2.1:1" || carriesForwarding(r.Header) {
		t.Fatalf("verify: %v, remote %q", err, r.RemoteAddr)
	}
}
