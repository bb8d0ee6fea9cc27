package protocoltests

// jsonp-polling (<session>/jsonp?c=<callback>, <session>/jsonp_send).

import (
	"testing"
)

// jsonpBody is a jsonp answer carrying frame f (escaped for a JS string).
// The leading comment defeats content sniffing attacks (Rosetta Flash).
func jsonpBody(callback, f string) string { return "/**/" + callback + "(\"" + f + "\");\r\n" }

// jsonpSend posts a jsonp_send body and wants the "ok" answer.
func jsonpSend(t testing.TB, url, body string, h H) *response {
	t.Helper()
	r := post(t, url+"/jsonp_send", body, h)
	mustStatus(t, r, 200)
	mustBody(t, r, "ok")
	return r
}

// jsonpPoll polls with callback x and wants frame f.
func jsonpPoll(t testing.TB, url, f string) {
	t.Helper()
	r := get(t, url+"/jsonp?c=x", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, jsonpBody("x", f))
}

func TestJsonpPolling_Transport(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	r := get(t, url+"/jsonp?c=%63allback", nil)
	mustStatus(t, r, 200)
	checkContentType(t, r, "application/javascript;charset=UTF-8")
	checkNotCached(t, r)
	mustBody(t, r, jsonpBody("callback", "o"))

	// 200 "ok" rather than 204: Konqueror mishandles 204.
	r = jsonpSend(t, url, "d=%5B%22x%22%5D", formHeaders)
	checkContentType(t, r, "text/plain;charset=UTF-8")
	checkNotCached(t, r)

	r = get(t, url+"/jsonp?c=%63allback", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, jsonpBody("callback", `a[\"x\"]`))
}

func TestJsonpPolling_NoCallback(t *testing.T) {
	t.Parallel()
	checkNoCallback(t, "jsonp")
}

func TestJsonpPolling_InvalidCallback(t *testing.T) {
	t.Parallel()
	checkInvalidCallback(t, "jsonp")
}

func TestJsonpPolling_InvalidJSON(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	jsonpPoll(t, url, "o")

	for _, tc := range []struct{ body, want string }{
		{"d=%5B%22x", "Broken JSON encoding."},
		{"", "Payload expected."},
		{"d=", "Payload expected."},
		{"p=p", "Payload expected."},
	} {
		r := post(t, url+"/jsonp_send", tc.body, formHeaders)
		mustStatus(t, r, 500)
		mustBodyContain(t, r, tc.want)
	}

	jsonpSend(t, url, "d=%5B%22b%22%5D", formHeaders)
	jsonpPoll(t, url, `a[\"b\"]`)
}

// jsonp_send takes a form field d, or the raw body when the request is
// not a form (the body is then not URL-decoded).
func TestJsonpPolling_ContentTypes(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	jsonpPoll(t, url, "o")
	jsonpSend(t, url, "d=%5B%22abc%22%5D", formHeaders)
	jsonpSend(t, url, `["%61bc"]`, H{"Content-Type": "text/plain"})
	jsonpPoll(t, url, `a[\"abc\",\"%61bc\"]`)
}

func TestJsonpPolling_Close(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcClose)
	jsonpPoll(t, url, "o")
	jsonpPoll(t, url, `c[3000,\"Go away!\"]`)
	jsonpPoll(t, url, `c[3000,\"Go away!\"]`)
}

func TestJsonpPolling_SendingEmptyFrame(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	jsonpPoll(t, url, "o")
	jsonpSend(t, url, "d=%5B%5D", formHeaders)
	jsonpSend(t, url, "d=%5B%22x%22%5D", formHeaders)
	jsonpPoll(t, url, `a[\"x\"]`)
}
