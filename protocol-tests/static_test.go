package protocoltests

// Base URL greeting, the iframe page and /info.

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
)

// ---- Base URL: greeting and 404s ---------------------------------------

func TestBaseURL_Greeting(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"", "/"} {
		t.Run("suffix="+suffix, func(t *testing.T) {
			t.Parallel()
			r := get(t, baseURL(svcEcho)+suffix, nil)
			mustStatus(t, r, 200)
			checkContentType(t, r, "text/plain;charset=UTF-8")
			mustBody(t, r, "Welcome to SockJS!\n")
			checkNoCookie(t, r)
		})
	}
}

func TestBaseURL_NotFound(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/a", "/a.html", "//", "///", "/a/a", "/a/a/", "/a/"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			check404(t, get(t, baseURL(svcEcho)+suffix, nil))
		})
	}
}

// ---- The iframe page ---------------------------------------------------

// iframePage is the exact iframe page with the sockjs-client URL left out.
const iframePage = `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="@SOCKJS_URL@"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`

// iframeRe matches the page (after trimming surrounding white space) and
// captures the script URL, which the server may choose freely.
var iframeRe = func() *regexp.Regexp {
	before, after, _ := strings.Cut(iframePage, "@SOCKJS_URL@")
	return regexp.MustCompile(`^` + regexp.QuoteMeta(before) + `([^"]*)` + regexp.QuoteMeta(after) + `$`)
}()

// checkIframe fetches an iframe URL and checks everything the protocol
// says about the page.
func checkIframe(t *testing.T, url string) *response {
	t.Helper()
	r := get(t, url, nil)
	mustStatus(t, r, 200)
	checkContentType(t, r, "text/html;charset=UTF-8")
	checkLongCache(t, r)
	if r.header.Get("ETag") == "" {
		t.Errorf("%s: no ETag", r.what)
	}
	checkNoHeader(t, r, "Last-Modified")
	m := iframeRe.FindStringSubmatch(strings.TrimSpace(r.body))
	if m == nil {
		t.Fatalf("%s: body is not the iframe page:\n%s", r.what, r.body)
	}
	if src := m[1]; !strings.HasPrefix(src, "/") && !strings.HasPrefix(src, "http") {
		t.Errorf("%s: script URL %q is neither absolute nor rooted", r.what, src)
	}
	checkNoCookie(t, r)
	return r
}

func TestIframePage_SimpleURL(t *testing.T) {
	t.Parallel()
	checkIframe(t, baseURL(svcEcho)+"/iframe.html")
}

func TestIframePage_VersionedURL(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/iframe-a.html", "/iframe-.html", "/iframe-0.1.2.html", "/iframe-0.1.2abc-dirty.2144.html"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			checkIframe(t, baseURL(svcEcho)+suffix)
		})
	}
}

func TestIframePage_QueriedURL(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/iframe-a.html?t=1234", "/iframe-0.1.2.html?t=123414", "/iframe-0.1.2abc-dirty.2144.html?t=qweqweq123"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			checkIframe(t, baseURL(svcEcho)+suffix)
		})
	}
}

func TestIframePage_InvalidURL(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/iframe.htm", "/iframe", "/IFRAME.HTML", "/IFRAME", "/iframe.HTML", "/iframe.xml", "/iframe-/.html"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			check404(t, get(t, baseURL(svcEcho)+suffix, nil))
		})
	}
}

func TestIframePage_Cacheability(t *testing.T) {
	t.Parallel()
	url := baseURL(svcEcho) + "/iframe.html"
	r1 := get(t, url, nil)
	r2 := get(t, url, nil)
	etag := r1.header.Get("ETag")
	if etag == "" {
		t.Fatalf("%s: no ETag", r1.what)
	}
	if got := r2.header.Get("ETag"); got != etag {
		t.Errorf("ETag changed between two requests: %q then %q", etag, got)
	}
	r := get(t, url, H{"If-None-Match": etag})
	mustStatus(t, r, 304)
	checkNoHeader(t, r, "Content-Type")
	mustEmptyBody(t, r)
}

// ---- /info -------------------------------------------------------------

// infoOf decodes an /info body, keeping numbers exact.
func infoOf(t *testing.T, r *response) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader([]byte(r.body)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: body %q is not a JSON object: %v", r.what, r.body, err)
	}
	return m
}

// entropyOf wants "entropy" to be an integer in [0, 2^32-1].
func entropyOf(t *testing.T, r *response, info map[string]any) int64 {
	t.Helper()
	n, ok := info["entropy"].(json.Number)
	if !ok {
		t.Fatalf("%s: entropy %v is not a number", r.what, info["entropy"])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("%s: entropy %s is not an integer", r.what, n)
	}
	if v < 0 || v > math.MaxUint32 {
		t.Errorf("%s: entropy %d outside [0, 2^32-1]", r.what, v)
	}
	return v
}

func TestInfo_Basic(t *testing.T) {
	t.Parallel()
	r := get(t, baseURL(svcEcho)+"/info", H{"Origin": "test"})
	mustStatus(t, r, 200)
	checkContentType(t, r, "application/json;charset=UTF-8")
	checkNoCookie(t, r)
	checkNotCached(t, r)
	checkCORS(t, r, "test")

	info := infoOf(t, r)
	if info["websocket"] != true {
		t.Errorf("websocket = %v, want true", info["websocket"])
	}
	if _, ok := info["cookie_needed"].(bool); !ok {
		t.Errorf("cookie_needed = %v, want a boolean", info["cookie_needed"])
	}
	if origins, ok := info["origins"].([]any); !ok || len(origins) != 1 || origins[0] != "*:*" {
		t.Errorf(`origins = %v, want ["*:*"]`, info["origins"])
	}
	entropyOf(t, r, info)
}

func TestInfo_Entropy(t *testing.T) {
	t.Parallel()
	r1 := get(t, baseURL(svcEcho)+"/info", nil)
	r2 := get(t, baseURL(svcEcho)+"/info", nil)
	e1 := entropyOf(t, r1, infoOf(t, r1))
	e2 := entropyOf(t, r2, infoOf(t, r2))
	if e1 == e2 {
		t.Errorf("two /info answers carry the same entropy %d", e1)
	}
}

func TestInfo_Options(t *testing.T) {
	t.Parallel()
	checkOptions(t, baseURL(svcEcho)+"/info", "OPTIONS, GET")
}

// Pages loaded from file:// send Origin: null; it must be echoed as is.
func TestInfo_OptionsNullOrigin(t *testing.T) {
	t.Parallel()
	r := do(t, "OPTIONS", baseURL(svcEcho)+"/info", "", H{"Origin": "null", "Access-Control-Request-Method": "POST"})
	mustStatus(t, r, 200, 204)
	mustEmptyBody(t, r)
	checkHeader(t, r, "Access-Control-Allow-Origin", "null")
}

func TestInfo_DisabledWebsocket(t *testing.T) {
	t.Parallel()
	r := get(t, baseURL(svcNoWS)+"/info", nil)
	mustStatus(t, r, 200)
	if info := infoOf(t, r); info["websocket"] != false {
		t.Errorf("websocket = %v, want false", info["websocket"])
	}
}
