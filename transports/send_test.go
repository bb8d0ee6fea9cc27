package transports_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// onlyReader hides the length of a body, so the client sends it chunked.
type onlyReader struct{ io.Reader }

// A body over MaxSendBody gets 413, whether it announces its length or
// comes chunked; the session is unharmed.
func TestSendBodyTooLarge(t *testing.T) {
	const limit = 1024
	e := newEnv(t, &sockjs.Options{MaxSendBody: limit})
	id := e.newID("big")
	e.mustPoll(id, "xhr", "o")
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
	e.mustSend(id, "after")
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
	e.mustPoll(id, "xhr", "o")
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
	e.mustPoll(id, "xhr", `a["a","b"]`)
	if status, _, _ := e.send(e.newID("nosuch"), "xhr_send", "x"); status != 404 {
		t.Fatalf("xhr_send to an unknown session: %d, want 404", status)
	}
}

// An xhr_send whose messages the application never reads waits for room
// in that session's queue only: other sessions keep echoing, and after
// RecvTimeout the send fails with 503 and the session closes with 1008.
func TestUnreadSendBlocksOnlyItsSession(t *testing.T) {
	const recvTimeout = 600 * time.Millisecond
	e := newEnv(t, &sockjs.Options{RecvQueue: 2, RecvTimeout: recvTimeout})
	stuck := e.newID("stuck")
	e.mustPoll(stuck, "xhr", "o")

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
	e.mustPoll(other, "xhr", "o")
	for i := range 5 {
		t0 := time.Now()
		e.mustSend(other, fmt.Sprint(i))
		e.mustPoll(other, "xhr", fmt.Sprintf(`a["%d"]`, i))
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
	e.mustPoll(stuck, "xhr", `c[1008,"Receive queue full"]`)
	if info := e.waitEnded(stuck, ioTimeout); info.code != sockjs.CodeSlowClient {
		t.Fatalf("stuck session closed with %d", info.code)
	}
}
