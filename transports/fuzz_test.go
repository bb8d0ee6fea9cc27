package transports

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/sockjsd/sockjsd/session"
)

// FuzzCallbackParam: a callback is accepted exactly when it is 1 to 128
// bytes of [A-Za-z0-9_.-], so nothing else is ever written into a script.
func FuzzCallbackParam(f *testing.F) {
	for _, s := range []string{"callback", "_jp.a1b2c3d", "", "%20", "*", "abc(", "a\u2028", "</script>", "x.y-z_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		r := httptest.NewRequest("GET", "/a/b/jsonp?"+url.Values{"c": {c}}.Encode(), nil)
		got, err := callbackParam(r)
		valid := len(c) > 0 && len(c) <= maxCallbackLen
		for i := 0; i < len(c) && valid; i++ {
			b := c[i]
			valid = 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '.' || b == '-'
		}
		switch {
		case valid && (err != nil || got != c):
			t.Fatalf("callbackParam refused valid %q: %v", c, err)
		case !valid && err == nil:
			t.Fatalf("callbackParam accepted %q", c)
		case c == "" && !errors.Is(err, errNoCallback), c != "" && !valid && !errors.Is(err, errInvalidCallback):
			t.Fatalf("callbackParam(%q): error %v", c, err)
		}
	})
}

// FuzzSendPayload feeds any body, form-encoded or not, through what
// jsonp_send and xhr_send do with it: no panic, one of the protocol's two
// errors, and messages that survive the trip back to the client.
func FuzzSendPayload(f *testing.F) {
	for _, s := range []string{`d=%5B%22x%22%5D`, `d=`, `p=p`, ``, `d=%5B%22x`, `["%61bc"]`, `d=["a","b"]&d=x`, `%zz`, `[]`} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		r := httptest.NewRequest("POST", "/a/b/jsonp_send", nil)
		if form {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
		}
		msgs, err := session.ParseMessages(formPayload(r, body))
		if err != nil {
			if !errors.Is(err, session.ErrPayloadExpected) && !errors.Is(err, session.ErrBrokenJSON) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		frame := session.AppendMessages(nil, msgs)
		var back []string
		if err := json.Unmarshal(frame[1:], &back); err != nil {
			t.Fatalf("frame %q of %q is not JSON: %v", frame, msgs, err)
		}
		if !slices.Equal(back, msgs) && !(len(back) == 0 && len(msgs) == 0) {
			t.Fatalf("messages %q came back as %q", msgs, back)
		}
	})
}
