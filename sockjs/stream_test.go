package sockjs_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// A streaming response carries the Server's headers, whether the
// transport takes the connection over (HTTP/1.1, no body) or leaves it to
// net/http (a request with a body): no caching, CORS for the page's origin
// with credentials, Vary: Origin, and the JSESSIONID cookie echoed. That
// the transport sends whatever head it is given is transports' to test;
// this is that the Server gives it this one.
func TestStreamCarriesServerHeaders(t *testing.T) {
	srv := sockjs.New("/echo", echo, &sockjs.Options{JSessionID: true})
	base := serve(t, srv) + "/echo/000/"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	const origin = "http://page.example"
	for _, tc := range []struct {
		kind, method, query, body string
		hijacked                  bool
	}{
		{"xhr_streaming", "POST", "", "", true},
		{"eventsource", "GET", "", "", true},
		{"htmlfile", "GET", "?c=cb", "", true},
		{"xhr_streaming", "POST", "", "x", false}, // a body: net/http serves it
	} {
		t.Run(tc.kind+"/hijacked="+map[bool]string{true: "yes", false: "no"}[tc.hijacked], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, base+newID()+"/"+tc.kind+tc.query, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", origin)
			req.Header.Set("Cookie", "JSESSIONID=sticky")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			// The first line of the body: the prelude (or its first
			// line) has gone out, so the head is complete.
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%d, reading the prelude: %v", resp.StatusCode, err)
			}
			// Connection: close is the mark of a taken-over connection.
			if resp.Close != tc.hijacked {
				t.Errorf("Connection: close %v, want %v", resp.Close, tc.hijacked)
			}
			h := resp.Header
			for name, want := range map[string]string{
				"Cache-Control":                    "no-store, no-cache, no-transform, must-revalidate, max-age=0",
				"Access-Control-Allow-Origin":      origin,
				"Access-Control-Allow-Credentials": "true",
				"Vary":                             "Origin",
			} {
				if got := h.Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("%s %q, want %q", name, got, want)
				}
			}
			if c := resp.Cookies(); len(c) != 1 || c[0].Name != "JSESSIONID" || c[0].Value != "sticky" || c[0].Path != "/" {
				t.Errorf("Set-Cookie %q, want JSESSIONID=sticky; Path=/", h.Values("Set-Cookie"))
			}
		})
	}
}
