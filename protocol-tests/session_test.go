package protocoltests

// Session URLs (<base>/<server>/<session>/<transport>) and the basic
// protocol, explained with xhr-polling.

import (
	"testing"
	"time"
)

// startRequest sends a request on a fresh connection and does not read
// the answer: a receiver that stays attached until the test closes it.
func startRequest(t testing.TB, method, target, body string) *rawConn {
	t.Helper()
	c := dialRaw(t, target)
	c.sendRequest(method, target, "1.1", body, nil)
	return c
}

// attachDelay is how long the official suite lets a receiver that it
// started settle on the server before it tests that receiver.
const attachDelay = 250 * time.Millisecond

func TestSessionURLs_AnyValue(t *testing.T) {
	t.Parallel()
	r := newID()[:8]
	for _, part := range []string{"/a/a" + r, "/_/_" + r, "/1/" + r, "/abcdefgh_i-j%20/abcdefg_i-j%20" + r} {
		t.Run(part, func(t *testing.T) {
			t.Parallel()
			resp := post(t, baseURL(svcEcho)+part+"/xhr", "", nil)
			mustStatus(t, resp, 200)
			mustBody(t, resp, "o\n")
		})
	}
}

// Empty parts, parts with dots, and too few or too many parts are not
// session URLs.
func TestSessionURLs_InvalidPaths(t *testing.T) {
	t.Parallel()
	for _, suffix := range []string{"//", "/a./a", "/a/a.", "/./.", "/", "///"} {
		for _, method := range []string{"GET", "POST"} {
			t.Run(method+" "+suffix, func(t *testing.T) {
				t.Parallel()
				check404(t, do(t, method, baseURL(svcEcho)+suffix+"/xhr", "", nil))
			})
		}
	}
}

// Only the session id names a session; the server id is for load
// balancers.
func TestSessionURLs_IgnoringServerID(t *testing.T) {
	t.Parallel()
	id := newID()
	r := post(t, baseURL(svcEcho)+"/000/"+id+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "o\n")
	xhrSend(t, baseURL(svcEcho)+"/000/"+id, `["a"]`)
	r = post(t, baseURL(svcEcho)+"/999/"+id+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "a[\"a\"]\n")
}

func TestProtocol_SimpleSession(t *testing.T) {
	t.Parallel()
	url := openXhrSession(t, svcEcho)

	xhrSend(t, url, `["a"]`)
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "a[\"a\"]\n")

	// Sending to a session that does not exist.
	check404(t, post(t, baseURL(svcEcho)+"/000/bad_session/xhr_send", `["a"]`, nil))

	// A second receiver while one waits gets the 2010 close frame.
	first := startRequest(t, "POST", url+"/xhr", "")
	time.Sleep(attachDelay)
	r = post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, anotherFrame+"\n")
	first.close()
}

// The close service: the open frame, then the close frame for as long as
// the session is remembered.
func TestProtocol_CloseSession(t *testing.T) {
	t.Parallel()
	url := openXhrSession(t, svcClose)
	for range 2 {
		r := post(t, url+"/xhr", "", nil)
		mustStatus(t, r, 200)
		mustBody(t, r, goAwayFrame+"\n")
	}
}
