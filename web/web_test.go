package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sockjsd/sockjsd/web/sockjsclient"
)

func get(t *testing.T, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIndexLoadsEmbeddedClientFromEchoService(t *testing.T) {
	r := get(t, "GET", "/", nil)
	if r.StatusCode != 200 {
		t.Fatalf("GET / = %d", r.StatusCode)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	b := body(t, r)
	want := `<script src="/echo/sockjs-` + sockjsclient.Version + `.min.js"`
	if !strings.Contains(b, want) {
		t.Errorf("page does not load %s", want)
	}
	if strings.Contains(b, "{{") {
		t.Error("page has an unreplaced placeholder")
	}
	for _, cdn := range []string{"cdn.", "jsdelivr", "unpkg", "cdnjs"} {
		if strings.Contains(b, cdn) {
			t.Errorf("page mentions a CDN (%q)", cdn)
		}
	}
}

func TestPageListsEveryTransport(t *testing.T) {
	js := body(t, get(t, "GET", "/static/app.js", nil))
	for _, tr := range []string{"websocket", "xhr-streaming", "xdr-streaming", "eventsource",
		"iframe-eventsource", "htmlfile", "iframe-htmlfile", "xhr-polling", "xdr-polling",
		"iframe-xhr-polling", "jsonp-polling"} {
		if !strings.Contains(js, "name: '"+tr+"'") {
			t.Errorf("app.js does not list transport %s", tr)
		}
	}
}

// The chat card talks to /chat with the nickname in the query, and has
// what the e2e tests drive: rooms, members, the recipient picker.
func TestPageHasTheChat(t *testing.T) {
	page := body(t, get(t, "GET", "/", nil))
	for _, id := range []string{"chat-name", "chat-rooms", "chat-room-form", "chat-members", "chat-messages", "chat-to", "chat-input"} {
		if !strings.Contains(page, `id="`+id+`"`) {
			t.Errorf("page has no #%s", id)
		}
	}
	js := body(t, get(t, "GET", "/static/app.js", nil))
	if !strings.Contains(js, `'/chat?nick=' + encodeURIComponent(`) {
		t.Error("app.js does not open /chat with the nickname in the query")
	}
	if strings.Contains(page+js, "/broadcast") {
		t.Error("the page still talks to /broadcast")
	}
}

func TestStaticFiles(t *testing.T) {
	for path, ct := range map[string]string{
		"/static/app.js":      "text/javascript; charset=utf-8",
		"/static/style.css":   "text/css; charset=utf-8",
		"/static/favicon.svg": "image/svg+xml",
		"/favicon.ico":        "image/svg+xml",
	} {
		r := get(t, "GET", path, nil)
		if r.StatusCode != 200 {
			t.Errorf("GET %s = %d", path, r.StatusCode)
			continue
		}
		if got := r.Header.Get("Content-Type"); got != ct {
			t.Errorf("GET %s: Content-Type %q, want %q", path, got, ct)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
		if body(t, r) == "" {
			t.Errorf("GET %s: empty body", path)
		}
	}
}

func TestNotFound(t *testing.T) {
	for _, p := range []string{"/nope", "/static/", "/static/nope.js", "/static/index.html", "/static/../web.go", "/echo"} {
		if r := get(t, "GET", p, nil); r.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", p, r.StatusCode)
		}
	}
}

func TestMethods(t *testing.T) {
	r := get(t, "HEAD", "/", nil)
	if r.StatusCode != 200 || body(t, r) != "" {
		t.Errorf("HEAD / = %d", r.StatusCode)
	}
	r = get(t, "POST", "/", nil)
	if r.StatusCode != 405 || r.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d, Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

func TestETagRevalidation(t *testing.T) {
	r := get(t, "GET", "/static/app.js", nil)
	etag := r.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) {
		t.Fatalf("ETag %q is not a strong entity tag", etag)
	}
	if r.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("Cache-Control = %q", r.Header.Get("Cache-Control"))
	}
	r = get(t, "GET", "/static/app.js", map[string]string{"If-None-Match": etag})
	if r.StatusCode != 304 {
		t.Errorf("revalidation = %d, want 304", r.StatusCode)
	}
}

func TestContentSecurityPolicy(t *testing.T) {
	csp := get(t, "GET", "/", nil).Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	csp = get(t, "GET", "/?server=http://localhost:9000/x", nil).Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self' http://localhost:9000;", "connect-src 'self' http://localhost:9000 ws://localhost:9000;",
		"frame-src 'self' http://localhost:9000;", "form-action 'self' http://localhost:9000;"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"javascript:alert(1)", "http://a;script-src *", "//x", "ftp://x", "https://a b"} {
		csp = get(t, "GET", "/?server="+strings.ReplaceAll(bad, " ", "%20"), nil).Header.Get("Content-Security-Policy")
		if strings.Contains(csp, "script-src 'self' ") {
			t.Errorf("server=%q widened the CSP: %q", bad, csp)
		}
	}
	if get(t, "GET", "/static/app.js", nil).Header.Get("Content-Security-Policy") != "" {
		t.Error("CSP on a script (harmless, but unexpected)")
	}
}
