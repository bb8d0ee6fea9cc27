package sockjs_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
)

// authServer refuses sessions without a "user" cookie, with a *Refusal
// for the cookie value "down", and greets the others with their identity.
func authServer(t *testing.T, handled *atomic.Int32) string {
	t.Helper()
	srv := sockjs.New("/auth", func(s *sockjs.Session) {
		handled.Add(1)
		_ = s.Send(s.User() + "/" + s.Identity().Attrs["role"])
		<-s.Context().Done()
	}, &sockjs.Options{Authenticate: func(r *http.Request) (sockjs.Identity, error) {
		c, err := r.Cookie("user")
		switch {
		case err != nil:
			return sockjs.Identity{}, errors.New("no cookie")
		case c.Value == "down":
			return sockjs.Identity{}, &sockjs.Refusal{Code: sockjs.CodeTryAgainLater, Reason: "Try again later"}
		case c.Value == "panic":
			panic("the hook broke")
		}
		return sockjs.Identity{User: c.Value, Attrs: map[string]string{"role": "admin"}}, nil
	}})
	return serve(t, srv)
}

func TestAuthenticateHTTP(t *testing.T) {
	var handled atomic.Int32
	base := authServer(t, &handled)
	cases := []struct {
		name, cookie string
		first, later string // answers to the first and a later poll
	}{
		{"no identity", "", "c[4001,\"Unauthorized\"]\n", "c[4001,\"Unauthorized\"]\n"},
		{"refusal", "user=down", "c[1013,\"Try again later\"]\n", "c[1013,\"Try again later\"]\n"},
		{"panic", "user=panic", "c[1011,\"Internal server error\"]\n", "c[1011,\"Internal server error\"]\n"},
		{"accepted", "user=ann", "o\n", "a[\"ann/admin\"]\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := base + "/auth/000/" + newID() + "/xhr"
			h := map[string]string{}
			if tc.cookie != "" {
				h["Cookie"] = tc.cookie
			}
			expect(t, do(t, "POST", url, "", h), 200, tc.first)
			expect(t, do(t, "POST", url, "", h), 200, tc.later)
		})
	}
	if n := handled.Load(); n != 1 {
		t.Errorf("handler ran %d times, want once (for the accepted session)", n)
	}
}

func TestAuthenticateStreaming(t *testing.T) {
	var handled atomic.Int32
	base := authServer(t, &handled)
	r := do(t, "POST", base+"/auth/000/"+newID()+"/xhr_streaming", "", nil)
	if !strings.HasSuffix(r.body, "\nc[4001,\"Unauthorized\"]\n") || strings.Contains(r.body, "\no\n") {
		t.Errorf("xhr_streaming got %q, want the prelude then the close frame alone", r.body)
	}
	if handled.Load() != 0 {
		t.Error("the handler ran for a refused session")
	}
}

func TestAuthenticateWebsocket(t *testing.T) {
	var handled atomic.Int32
	base := authServer(t, &handled)
	t.Run("framed refused", func(t *testing.T) {
		c := dialWS(t, base+"/auth/000/"+newID()+"/websocket", nil)
		if got := readWS(t, c); got != `c[4001,"Unauthorized"]` {
			t.Fatalf("first frame %q, want the close frame", got)
		}
	})
	t.Run("framed accepted", func(t *testing.T) {
		c := dialWS(t, base+"/auth/000/"+newID()+"/websocket", http.Header{"Cookie": {"user=bob"}})
		if got := readWS(t, c); got != "o" {
			t.Fatalf("first frame %q, want o", got)
		}
		if got := readWS(t, c); got != `a["bob/admin"]` {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("raw refused", func(t *testing.T) {
		c := dialWS(t, base+"/auth/websocket", http.Header{"Cookie": {"user=down"}})
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != sockjs.CodeTryAgainLater || ce.Text != "Try again later" {
			t.Fatalf("raw websocket read: %v, want close 1013 \"Try again later\"", err)
		}
	})
	if n := handled.Load(); n != 1 {
		t.Errorf("handler ran %d times, want once", n)
	}
}

// The hook guards sessions only: what a page needs before it has one
// stays reachable.
func TestAuthenticateLeavesStaticPathsAlone(t *testing.T) {
	var handled atomic.Int32
	base := authServer(t, &handled)
	for _, path := range []string{"", "/info", "/iframe.html", "/sockjs-1.6.1.min.js"} {
		if r := do(t, "GET", base+"/auth"+path, "", nil); r.status != 200 {
			t.Errorf("GET %s: %d, want 200", path, r.status)
		}
	}
}
