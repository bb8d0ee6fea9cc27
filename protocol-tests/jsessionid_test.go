package protocoltests

// The JSESSIONID cookie, for load balancers that make sessions sticky by
// cookie. The cookie_needed_echo service has it turned on.

import (
	"encoding/json"
	"testing"
)

func TestJsessionidCookie_Basic(t *testing.T) {
	t.Parallel()
	r := get(t, baseURL(svcCookie)+"/info", nil)
	mustStatus(t, r, 200)
	checkNoCookie(t, r)
	var info struct {
		CookieNeeded *bool `json:"cookie_needed"`
	}
	if err := json.Unmarshal([]byte(r.body), &info); err != nil {
		t.Fatalf("%s: body %q: %v", r.what, r.body, err)
	}
	if info.CookieNeeded == nil || !*info.CookieNeeded {
		t.Errorf("%s: cookie_needed is not true in %s", r.what, r.body)
	}
}

func TestJsessionidCookie_Xhr(t *testing.T) {
	t.Parallel()
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		r := post(t, sessionURL(svcCookie)+"/xhr", "", nil)
		mustStatus(t, r, 200)
		mustBody(t, r, "o\n")
		checkCookie(t, r, "dummy")
	})
	t.Run("echoed", func(t *testing.T) {
		t.Parallel()
		r := post(t, sessionURL(svcCookie)+"/xhr", "", H{"Cookie": "JSESSIONID=abcdef"})
		mustStatus(t, r, 200)
		mustBody(t, r, "o\n")
		checkCookie(t, r, "abcdef")
	})
}

// The streaming transports set the cookie on their response head.
func TestJsessionidCookie_Streaming(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, method, suffix string }{
		{"xhr_streaming", "POST", "/xhr_streaming"},
		{"eventsource", "GET", "/eventsource"},
		{"htmlfile", "GET", "/htmlfile?c=%63allback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t, tc.method, sessionURL(svcCookie)+tc.suffix, "", nil)
			defer s.close()
			mustStatus(t, s.response, 200)
			checkCookie(t, s.response, "dummy")
		})
	}
}

func TestJsessionidCookie_Jsonp(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcCookie)
	r := get(t, url+"/jsonp?c=%63allback", nil)
	mustStatus(t, r, 200)
	checkCookie(t, r, "dummy")
	mustBody(t, r, jsonpBody("callback", "o"))

	r = jsonpSend(t, url, "d=%5B%22x%22%5D", formHeaders)
	checkCookie(t, r, "dummy")
}
