package info

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestInfo(t *testing.T) {
	seen := map[uint32]bool{}
	for _, i := range []Info{{Websocket: true}, {CookieNeeded: true}} {
		w := httptest.NewRecorder()
		i.ServeHTTP(w, httptest.NewRequest("GET", "/info", nil))
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body["websocket"] != i.Websocket || body["cookie_needed"] != i.CookieNeeded {
			t.Errorf("%+v answered %v", i, body)
		}
		if w.Header().Get("Cache-Control") != NoCache {
			t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
		}
		e, ok := body["entropy"].(float64)
		if !ok || e != float64(uint32(e)) {
			t.Errorf("entropy %v is not a 32-bit unsigned integer", body["entropy"])
		}
		seen[uint32(e)] = true
	}
	if len(seen) != 2 {
		t.Error("entropy repeated")
	}
}

func TestIframe(t *testing.T) {
	page := NewIframe(`/x/sockjs.js?a=1&b="2"`)
	w := httptest.NewRecorder()
	page.ServeHTTP(w, httptest.NewRequest("GET", "/iframe.html", nil))
	if !strings.Contains(w.Body.String(), `<script src="/x/sockjs.js?a=1&amp;b=&#34;2&#34;"></script>`) {
		t.Fatalf("script URL not escaped into the page:\n%s", w.Body.String())
	}
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Last-Modified") != "" || !strings.Contains(w.Header().Get("Cache-Control"), "max-age=31536000") {
		t.Fatalf("caching headers: %v", w.Header())
	}
	if NewIframe("/other.js").etag == page.etag {
		t.Fatal("pages for different URLs share an ETag")
	}

	for header, want := range map[string]int{
		etag:                      http.StatusNotModified,
		"W/" + etag:               http.StatusNotModified,
		`"x", ` + etag:            http.StatusNotModified,
		"*":                       http.StatusNotModified,
		`"other"`:                 http.StatusOK,
		etag[:len(etag)-1] + `x"`: http.StatusOK,
	} {
		r := httptest.NewRequest("GET", "/iframe.html", nil)
		r.Header.Set("If-None-Match", header)
		w := httptest.NewRecorder()
		page.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("If-None-Match %s: %d, want %d", header, w.Code, want)
		}
		if w.Code == http.StatusNotModified && (w.Body.Len() != 0 || w.Header().Get("Content-Type") != "") {
			t.Errorf("304 with a body or a Content-Type")
		}
	}
}

func TestClientScript(t *testing.T) {
	w := httptest.NewRecorder()
	NewClientScript().ServeHTTP(w, httptest.NewRequest("GET", "/"+ClientScriptName, nil))
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "/* sockjs-client v1.6.1") {
		t.Fatalf("%d %.40q", w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/javascript; charset=UTF-8" {
		t.Fatalf("Content-Type %q", ct)
	}
}
