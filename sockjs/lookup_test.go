package sockjs_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// HasSession is true from a session's first receiving request until the
// session is gone, and false for ids never used.
func TestHasSession(t *testing.T) {
	srv := sockjs.New("/echo", func(s *sockjs.Session) {
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			if msg == "bye" {
				_ = s.Close(3000, "bye")
				return
			}
		}
	}, &sockjs.Options{DisconnectDelay: 50 * time.Millisecond})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	post := func(path, body string) {
		t.Helper()
		resp, err := http.Post(ts.URL+path, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if srv.HasSession("a") {
		t.Fatal("HasSession before any request")
	}
	post("/echo/000/a/xhr", "")
	if !srv.HasSession("a") {
		t.Fatal("no session after its first poll")
	}
	if srv.HasSession("b") {
		t.Fatal("HasSession for an id never used")
	}
	post("/echo/000/a/xhr_send", `["bye"]`)
	post("/echo/000/a/xhr", "") // the close frame
	deadline := time.Now().Add(5 * time.Second)
	for srv.HasSession("a") {
		if time.Now().After(deadline) {
			t.Fatal("session still held 5 s after it closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
