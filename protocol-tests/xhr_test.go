package protocoltests

// xhr-polling (<session>/xhr, <session>/xhr_send) and xhr-streaming
// (<session>/xhr_streaming).

import (
	"strings"
	"testing"
)

// ---- xhr-polling -------------------------------------------------------

func TestXhrPolling_Options(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"/xhr", "/xhr_send"} {
		t.Run(suffix, func(t *testing.T) {
			t.Parallel()
			checkOptions(t, baseURL(svcEcho)+"/abc/abc"+suffix, "OPTIONS, POST")
		})
	}
}

func TestXhrPolling_Transport(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	r := post(t, url+"/xhr", "", H{"Origin": "test"})
	mustStatus(t, r, 200)
	mustBody(t, r, "o\n")
	checkContentType(t, r, "application/javascript;charset=UTF-8")
	checkCORS(t, r, "test")
	checkNotCached(t, r) // iOS 6 caches POSTs

	r = post(t, url+"/xhr_send", `["x"]`, H{"Origin": "test"})
	mustStatus(t, r, 204)
	mustEmptyBody(t, r)
	// text/plain even on a 204: Firefox assumes XML otherwise.
	checkContentType(t, r, "text/plain;charset=UTF-8")
	checkCORS(t, r, "test")
	checkNotCached(t, r)

	r = post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "a[\"x\"]\n")
}

func TestXhrPolling_InvalidSession(t *testing.T) {
	t.Parallel()
	check404(t, post(t, sessionURL(svcEcho)+"/xhr_send", `["x"]`, nil))
}

func TestXhrPolling_InvalidJSON(t *testing.T) {
	t.Parallel()
	url := openXhrSession(t, svcEcho)
	for _, tc := range []struct{ body, want string }{
		{`["x`, "Broken JSON encoding."},
		{"", "Payload expected."},
	} {
		r := post(t, url+"/xhr_send", tc.body, nil)
		mustStatus(t, r, 500)
		mustBodyContain(t, r, tc.want)
	}
	xhrSend(t, url, `["a"]`)
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "a[\"a\"]\n")
}

// xhr_send takes its body whatever the Content-Type says.
func TestXhrPolling_ContentTypes(t *testing.T) {
	t.Parallel()
	url := openXhrSession(t, svcEcho)
	ctypes := []string{"text/plain", "T", "application/json", "application/xml", "",
		"application/json; charset=utf-8", "text/xml; charset=utf-8", "text/xml"}
	for _, ct := range ctypes {
		r := post(t, url+"/xhr_send", `["a"]`, H{"Content-Type": ct})
		mustStatus(t, r, 204)
		mustEmptyBody(t, r)
	}
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "a["+strings.Repeat(`"a",`, len(ctypes)-1)+`"a"]`+"\n")
}

// Access-Control-Request-Headers is echoed as Access-Control-Allow-Headers,
// and only when it has a value.
func TestXhrPolling_RequestHeadersCORS(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		h    H
		want string
	}{
		{"list", H{"Origin": "test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "a, b, c"}, "a, b, c"},
		{"empty", H{"Origin": "test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": ""}, ""},
		{"absent", H{"Origin": "test", "Access-Control-Request-Method": "POST"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := do(t, "OPTIONS", sessionURL(svcEcho)+"/xhr", "", tc.h)
			mustStatus(t, r, 200, 204)
			checkCORS(t, r, "test")
			if tc.want == "" {
				checkNoHeader(t, r, "Access-Control-Allow-Headers")
			} else {
				checkHeader(t, r, "Access-Control-Allow-Headers", tc.want)
			}
		})
	}
}

// A client may send an empty batch as a heartbeat of its own.
func TestXhrPolling_SendingEmptyFrame(t *testing.T) {
	t.Parallel()
	url := openXhrSession(t, svcEcho)
	xhrSend(t, url, "[]")
	xhrSend(t, url, `["a"]`)
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "a[\"a\"]\n")
}

// ---- xhr-streaming -----------------------------------------------------

// xhrPrelude is the 2 KiB of 'h' that opens every xhr-streaming response
// (old browsers deliver nothing before that many bytes).
var xhrPrelude = strings.Repeat("h", 2048) + "\n"

func TestXhrStreaming_Options(t *testing.T) {
	t.Parallel()
	checkOptions(t, baseURL(svcEcho)+"/abc/abc/xhr_streaming", "OPTIONS, POST")
}

func TestXhrStreaming_Transport(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s := open(t, "POST", url+"/xhr_streaming", "", H{"Origin": "test"})
	defer s.close()
	mustStatus(t, s.response, 200)
	checkContentType(t, s.response, "application/javascript;charset=UTF-8")
	checkCORS(t, s.response, "test")
	checkNotCached(t, s.response)

	mustRead(t, s, xhrPrelude)
	mustRead(t, s, "o\n")
	xhrSend(t, url, `["x"]`)
	mustRead(t, s, "a[\"x\"]\n")
}

// A streaming response ends once it has carried ResponseLimit bytes
// (4096 on the test server; the prelude does not count), so the browser
// can free what it buffered.
func TestXhrStreaming_ResponseLimit(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s := open(t, "POST", url+"/xhr_streaming", "", nil)
	defer s.close()
	mustStatus(t, s.response, 200)
	if s.read() == "" {
		t.Fatal("no prelude")
	}
	mustRead(t, s, "o\n")

	msg := `"` + strings.Repeat("x", 128) + `"`
	// 2 + 31*134 bytes pass 4096 only with the last message.
	for range 31 {
		xhrSend(t, url, "["+msg+"]")
		mustRead(t, s, "a["+msg+"]\n")
	}
	mustEnd(t, s)
}
