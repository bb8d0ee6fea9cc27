package transports_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// onlyReader hides the length of a body, so the client sends it chunked.
type onlyReader struct{ io.Reader }

// A body over MaxSendBody gets 413, whether it announces its length or
// comes chunked; the session is unharmed.
func TestSendBodyTooLarge(t *testing.T) {
	const limit = 1024
	e := newEnv(t, &harnessOptions{MaxSendBody: limit})
	id := e.newID("big")
	e.mustPoll(t, id, "xhr", "o")
	exact := `["` + strings.Repeat("x", limit-4) + `"]`
	over := `["` + strings.Repeat("x", limit-3) + `"]`
	tests := []struct {
		name   string
		kind   string
		ctype  string
		body   func() io.Reader
		status int
	}{
		{"xhr_send exact", "xhr_send", "text/plain", func() io.Reader { return strings.NewReader(exact) }, 204},
		{"xhr_send content-length", "xhr_send", "text/plain", func() io.Reader { return strings.NewReader(over) }, 413},
		{"xhr_send chunked exact", "xhr_send", "text/plain", func() io.Reader { return onlyReader{strings.NewReader(exact)} }, 204},
		{"xhr_send chunked", "xhr_send", "text/plain", func() io.Reader { return onlyReader{strings.NewReader(over)} }, 413},
		{"xhr_send chunked huge", "xhr_send", "text/plain", func() io.Reader {
			return onlyReader{io.MultiReader(strings.NewReader(`["`), strings.NewReader(strings.Repeat("x", 4<<20)))}
		}, 413},
		{"jsonp_send content-length", "jsonp_send", "text/plain", func() io.Reader { return strings.NewReader(over) }, 413},
		{"jsonp_send chunked", "jsonp_send", "text/plain", func() io.Reader { return onlyReader{strings.NewReader(over)} }, 413},
		{"jsonp_send form", "jsonp_send", "application/x-www-form-urlencoded", func() io.Reader {
			return strings.NewReader("d=" + strings.Repeat("x", limit))
		}, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, err := e.do("POST", e.sessionURL(id, tt.kind), tt.ctype, tt.body())
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind == "jsonp_send" && tt.status == 204 {
				tt.status = 200
			}
			if status != tt.status {
				t.Fatalf("status %d %q, want %d", status, body, tt.status)
			}
			if status == 413 && body != "Payload too large." {
				t.Fatalf("413 body %q", body)
			}
		})
	}
	// The session still works, and got exactly the accepted messages.
	e.mustSend(t, id, "after")
	want := strings.Repeat("x", limit-4)
	got, err := e.poll(id, "xhr")
	if err != nil {
		t.Fatal(err)
	}
	if got != fmt.Sprintf(`a["%s","%s","after"]`, want, want) {
		t.Fatalf("session received %.60q…", got)
	}
}

// Payload errors of both senders, worded as the protocol wants.
func TestSendPayloadErrors(t *testing.T) {
	e := newEnv(t, nil)
	id := e.newID("pay")
	e.mustPoll(t, id, "xhr", "o")
	tests := []struct {
		kind, ctype, body string
		status            int
		want              string
	}{
		{"xhr_send", "text/plain", "", 500, "Payload expected."},
		{"xhr_send", "text/plain", "[\"x", 500, "Broken JSON encoding."},
		{"xhr_send", "text/plain", "[]", 204, ""},
		{"jsonp_send", "application/x-www-form-urlencoded", "d=", 500, "Payload expected."},
		{"jsonp_send", "application/x-www-form-urlencoded", "x=1", 500, "Payload expected."},
		{"jsonp_send", "application/x-www-form-urlencoded", "d=%5B%22x", 500, "Broken JSON encoding."},
		{"jsonp_send", "application/x-www-form-urlencoded", "d=%5B%22a%22%5D", 200, "ok"},
		{"jsonp_send", "text/plain", `["b"]`, 200, "ok"},
	}
	for _, tt := range tests {
		status, body, err := e.do("POST", e.sessionURL(id, tt.kind), tt.ctype, strings.NewReader(tt.body))
		if err != nil || status != tt.status || body != tt.want {
			t.Errorf("%s %q: %d %q %v, want %d %q", tt.kind, tt.body, status, body, err, tt.status, tt.want)
		}
	}
	e.mustPoll(t, id, "xhr", `a["a","b"]`)
	if status, _, _ := e.send(e.newID("nosuch"), "xhr_send", "x"); status != 404 {
		t.Fatalf("xhr_send to an unknown session: %d, want 404", status)
	}
}

// An xhr_send whose messages the application never reads waits for room
// in that session's queue only: other sessions keep echoing, and after
// RecvTimeout the send fails with 503 and the session closes with 1008.
func TestUnreadSendBlocksOnlyItsSession(t *testing.T) {
	const recvTimeout = 600 * time.Millisecond
	e := newEnv(t, &harnessOptions{RecvQueue: 2, RecvTimeout: recvTimeout})
	stuck := e.newID("stuck")
	e.mustPoll(t, stuck, "xhr", "o")

	type result struct {
		status  int
		body    string
		err     error
		elapsed time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		status, body, err := e.send(stuck, "xhr_send", "1", "2", "3", "4")
		done <- result{status, body, err, time.Since(start)}
	}()

	other := e.newID("other")
	e.mustPoll(t, other, "xhr", "o")
	for i := range 5 {
		t0 := time.Now()
		e.mustSend(t, other, fmt.Sprint(i))
		e.mustPoll(t, other, "xhr", fmt.Sprintf(`a["%d"]`, i))
		if d := time.Since(t0); d > recvTimeout/3 {
			t.Fatalf("echo on another session took %v while one is stuck", d)
		}
	}
	select {
	case r := <-done:
		t.Fatalf("stuck xhr_send returned early: %+v", r)
	default:
	}
	r := <-done
	if r.err != nil || r.status != http.StatusServiceUnavailable || r.body != "Receive queue full." {
		t.Fatalf("stuck xhr_send: %d %q %v, want 503 \"Receive queue full.\"", r.status, r.body, r.err)
	}
	if r.elapsed < recvTimeout || r.elapsed > recvTimeout+time.Second {
		t.Fatalf("stuck xhr_send answered after %v, want about %v", r.elapsed, recvTimeout)
	}
	e.mustPoll(t, stuck, "xhr", `c[1008,"Receive queue full"]`)
	if info := e.waitEnded(t, stuck, ioTimeout); info.code != closecode.SlowClient {
		t.Fatalf("stuck session closed with %d", info.code)
	}
}

// A chunked send body whose framing is broken gets 400 and the connection
// is closed (where the body ends is unknown); one over MaxSendBody still
// gets 413. Nothing of a broken body is delivered, and the session is
// unharmed. Raw requests: net/http's client never sends such bodies.
func TestSendBrokenChunkedBody(t *testing.T) {
	const limit = 1024
	e := newEnv(t, &harnessOptions{MaxSendBody: limit})
	id := e.newID("chunk")
	e.mustPoll(t, id, "xhr", "o")
	tests := []struct {
		name      string
		kind      string
		body      string // after the head
		halfClose bool   // the client shuts its side after the body
		status    int
	}{
		{"valid", "xhr_send", "5\r\n[\"ok\"\r\n1\r\n]\r\n0\r\n\r\n", false, 204},
		{"valid jsonp_send", "jsonp_send", "6\r\n[\"ok\"]\r\n0\r\n\r\n", false, 200},
		{"bad byte in size", "xhr_send", "zz\r\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"empty size", "xhr_send", "\r\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"size overflows 64 bits", "xhr_send", "10000000000000000\r\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"size line with bare LF", "xhr_send", "5\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"data longer than its size", "xhr_send", "2\r\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"size line too long", "xhr_send", "5;" + strings.Repeat("e", 8<<10) + "\r\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"bad size, jsonp_send", "jsonp_send", "-5\r\n[\"x\"]\r\n0\r\n\r\n", false, 400},
		{"cut short", "xhr_send", "40\r\n[\"x\"", true, 400},
		{"size over the limit", "xhr_send", "fffff\r\n[\"" + strings.Repeat("x", limit) + "\"]\r\n0\r\n\r\n", false, 413},
		{"chunks over the limit", "jsonp_send", strings.Repeat("100\r\n"+strings.Repeat("x", 256)+"\r\n", 5) + "0\r\n\r\n", false, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", e.ts.Listener.Addr().String(), ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(ioTimeout))
			path := strings.TrimPrefix(e.sessionURL(id, tt.kind), e.ts.URL)
			req := "POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" + tt.body
			if _, err := io.WriteString(conn, req); err != nil {
				t.Fatal(err)
			}
			if tt.halfClose {
				_ = conn.(*net.TCPConn).CloseWrite()
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 400 {
				if string(body) != "Broken request body." || !resp.Close {
					t.Fatalf("400 with body %q, close=%v; want \"Broken request body.\" and the connection closed", body, resp.Close)
				}
				// Closed: EOF, or a reset where the server left bytes unread.
				if b, err := br.ReadByte(); err == nil {
					t.Fatalf("after the 400 the connection carries %q, want it closed", b)
				}
			}
		})
	}
	// Only the valid sends' messages arrived.
	e.mustSend(t, id, "after")
	e.mustPoll(t, id, "xhr", `a["ok","ok","after"]`)
}
