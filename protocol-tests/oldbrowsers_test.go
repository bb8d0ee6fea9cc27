package protocoltests

import (
	"strings"
	"testing"
)

// Request shapes of old browsers, beyond the official suite: what IE 8/9's
// XDomainRequest sends to the xhr endpoints (xdr-streaming, xdr-polling),
// and the jsonp and htmlfile callbacks sockjs-client generates.

// xdrHeaders is all an XDomainRequest carries: an Origin, and at most a
// text/plain Content-Type (IE 8 sends none). No cookies, no custom headers.
func xdrHeaders(contentType string) H {
	h := H{"Origin": "http://page.example"}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return h
}

func TestOldBrowsers_XDRPolling(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"", "text/plain"} {
		t.Run("content-type="+ct, func(t *testing.T) {
			t.Parallel()
			url := sessionURL(svcEcho)
			h := xdrHeaders(ct)
			r := post(t, url+"/xhr", "", h)
			mustStatus(t, r, 200)
			mustBody(t, r, "o\n")
			checkCORS(t, r, "http://page.example") // XDR checks the allowed origin

			r = post(t, url+"/xhr_send", `["x","y"]`, h)
			mustStatus(t, r, 204)
			checkCORS(t, r, "http://page.example")

			r = post(t, url+"/xhr", "", h)
			mustStatus(t, r, 200)
			mustBody(t, r, "a[\"x\",\"y\"]\n")
		})
	}
}

func TestOldBrowsers_XDRStreaming(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	h := xdrHeaders("")
	s := open(t, "POST", url+"/xhr_streaming", "", h)
	defer s.c.close()
	mustStatus(t, s.response, 200)
	checkCORS(t, s.response, "http://page.example")
	mustRead(t, s, strings.Repeat("h", 2048)+"\n")
	mustRead(t, s, "o\n")
	r := post(t, url+"/xhr_send", `["via xdr"]`, h)
	mustStatus(t, r, 204)
	mustRead(t, s, "a[\"via xdr\"]\n")
}

// sockjs-client names its callbacks "_jp." plus an id; it URL-encodes them,
// and older releases left the prefix's characters encoded.
var clientCallbacks = []string{"_jp.a1b2c3d", "%5Fjp.abcdef", "_jp%2Eq0w9e8", "_jp.a-b_c.d"}

func TestOldBrowsers_JsonpCallbacks(t *testing.T) {
	t.Parallel()
	for _, cb := range clientCallbacks {
		t.Run(cb, func(t *testing.T) {
			t.Parallel()
			name := strings.NewReplacer("%5F", "_", "%2E", ".").Replace(cb)
			url := sessionURL(svcEcho)
			r := get(t, url+"/jsonp?c="+cb, nil)
			mustStatus(t, r, 200)
			mustBody(t, r, "/**/"+name+"(\"o\");\r\n")

			// IE 6/7 post jsonp_send from a form, with a charset parameter.
			r = post(t, url+"/jsonp_send", "d=%5B%22ie%22%5D",
				H{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
			mustStatus(t, r, 200)
			mustBody(t, r, "ok")

			r = get(t, url+"/jsonp?c="+cb, nil)
			mustBody(t, r, "/**/"+name+"(\"a[\\\"ie\\\"]\");\r\n")
		})
	}
}

func TestOldBrowsers_HtmlfileCallbacks(t *testing.T) {
	t.Parallel()
	for _, cb := range clientCallbacks {
		t.Run(cb, func(t *testing.T) {
			t.Parallel()
			name := strings.NewReplacer("%5F", "_", "%2E", ".").Replace(cb)
			s := open(t, "GET", sessionURL(svcEcho)+"/htmlfile?c="+cb, "", nil)
			defer s.c.close()
			mustStatus(t, s.response, 200)
			head := s.read()
			if !strings.Contains(head, "var c = parent."+name+";") {
				t.Fatalf("htmlfile head does not call parent.%s:\n%s", name, head)
			}
			mustRead(t, s, "<script>\np(\"o\");\n</script>\r\n")
		})
	}
}
