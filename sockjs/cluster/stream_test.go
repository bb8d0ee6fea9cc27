package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// rawChunks makes a request on a connection of its own and returns the
// response and each chunk of its body as the server sent it.
func rawChunks(t *testing.T, method, target string) (*http.Response, []string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest(method, target, nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("%s %s: %s, Transfer-Encoding %v, want chunked", method, target, resp.Status, resp.TransferEncoding)
	}
	var chunks []string
	for {
		c, err := readChunk(br, nil)
		if errors.Is(err, io.EOF) {
			return resp, chunks
		}
		if err != nil {
			t.Fatalf("%s %s after %d chunks: %v", method, target, len(chunks), err)
		}
		chunks = append(chunks, string(c))
	}
}

// A stream relayed through a node that does not hold the session carries
// the owner's chunks as the owner wrote them: here the prelude and the
// close frame of a closed session, which the owner writes back to back
// and net/http's client would hand over as one piece.
func TestRelayedStreamKeepsChunks(t *testing.T) {
	nodes := newCluster(t, NewMemory(0), 2, clusterOpts{})
	c := &http.Client{}
	prelude := strings.Repeat("h", 2048) + "\n"
	for i := range 20 {
		id := "k" + string(rune('a'+i))
		if f := poll(t, c, nodes[0].base, id); f != "o" {
			t.Fatalf("open: %q", f)
		}
		if got := send(t, c, nodes[0].base, id, `["bye"]`); got != http.StatusNoContent {
			t.Fatalf("send: %d", got)
		}
		if f := poll(t, c, nodes[0].base, id); f != `c[3000,"bye"]` {
			t.Fatalf("poll after bye: %q", f)
		}
		resp, chunks := rawChunks(t, http.MethodPost, nodes[1].base+"/000/"+id+"/xhr_streaming")
		want := []string{prelude, "c[3000,\"bye\"]\n"}
		if len(chunks) != len(want) || chunks[0] != want[0] || chunks[1] != want[1] {
			t.Fatalf("session %s through a peer: %d chunks %.80q, want the prelude and the close frame, one chunk each", id, len(chunks), chunks)
		}
		if resp.Header.Get("X-Accel-Buffering") != "no" || resp.Header.Get("Content-Type") == "" {
			t.Fatalf("relayed head %v", resp.Header)
		}
	}
}

func TestReadChunk(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"3\r\nabc\r\n1;ext=1\r\nd\r\n0\r\n\r\n", []string{"abc", "d"}, false},
		{"2\r\nab\r\n0\r\nTrailer: x\r\n\r\n", []string{"ab"}, false},
		{"3\r\nab", nil, true},             // cut in a chunk
		{"3\r\nabcXY0\r\n\r\n", nil, true}, // no CRLF after the data
		{"zz\r\n", nil, true},
		{"", nil, true}, // cut before the last chunk
	} {
		br := bufio.NewReader(strings.NewReader(tc.in))
		var got []string
		var err error
		for {
			var c []byte
			c, err = readChunk(br, make([]byte, 1))
			if err != nil {
				break
			}
			got = append(got, string(c))
		}
		if tc.err == errors.Is(err, io.EOF) || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%q: chunks %q, %v", tc.in, got, err)
		}
	}
}

// An owner that dies in the middle of a stream it sends through a peer
// breaks the client's response too: it must not end as if complete, which
// a client would take for the response limit and re-open.
func TestRelayedStreamBreaksWithOwner(t *testing.T) {
	nodes := newCluster(t, NewMemory(0), 2, clusterOpts{})
	ctx := t.Context()
	if _, err := nodes[0].node.cfg.Engine.Claim(ctx, "echo:doomed", nodes[0].node.ID()); err != nil {
		t.Fatal(err)
	}
	stream := openStream(t, ctx, nodes[1].base, "doomed")
	if f, _ := stream.ReadString('\n'); f != "o\n" {
		t.Fatalf("relayed stream: %q", f)
	}
	nodes[0].kill()
	_, err := stream.ReadString('\n')
	if err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("the relayed stream after its owner died: %v, want a broken response", err)
	}
}

// Nodes that talk to each other over TLS relay streams over TLS too, with
// the Transport's TLS configuration, chunks kept.
func TestRelayedStreamOverTLS(t *testing.T) {
	e := NewMemory(0)
	var bases []string
	for range 2 {
		ts := httptest.NewUnstartedServer(nil)
		ts.StartTLS()
		tr := &http.Transport{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig}
		node, err := New(Config{Engine: e, URL: ts.URL, Secret: testSecret, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		srv := sockjs.New("/echo", func(s *sockjs.Session) { _ = s.Close(3000, "bye") }, nil)
		ts.Config.Handler = node.Wrap("echo", srv)
		t.Cleanup(func() {
			_ = node.Shutdown(context.Background())
			ts.Close()
			tr.CloseIdleConnections()
		})
		bases = append(bases, ts.URL+"/echo")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	// Opened on node 0, read through node 1.
	if f := poll(t, client, bases[0], "tls1"); f != "o" {
		t.Fatalf("open: %q", f)
	}
	resp, err := client.Post(bases[1]+"/000/tls1/xhr_streaming", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := strings.Repeat("h", 2048) + "\nc[3000,\"bye\"]\n"; resp.StatusCode != http.StatusOK || string(b) != want {
		t.Fatalf("through node 1 over TLS: %s %.80q", resp.Status, b)
	}
}
