package transports

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sockjsd/sockjsd/session"
)

// unescapeEventSource undoes appendEventSourceEscaped the way decodeURI
// does for the escapes it produces.
func unescapeEventSource(t *testing.T, p []byte) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			out = append(out, p[i])
			continue
		}
		if i+3 > len(p) {
			t.Fatalf("truncated escape in %q", p)
		}
		switch string(p[i+1 : i+3]) {
		case "25":
			out = append(out, '%')
		case "0D":
			out = append(out, '\r')
		case "0A":
			out = append(out, '\n')
		case "00":
			out = append(out, 0)
		default:
			t.Fatalf("unexpected escape %q in %q", p[i:i+3], p)
		}
		i += 2
	}
	return out
}

func FuzzEventSourceEscape(f *testing.F) {
	for _, s := range []string{"", "%", "\r\n", "\x00", "a%0Ab", "%%%", "data: x\r\n\r\nid: 1", "\xff\xfe", "100%"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		esc := appendEventSourceEscaped([]byte("prefix"), frame)
		got, ok := bytes.CutPrefix(esc, []byte("prefix"))
		if !ok {
			t.Fatalf("dst prefix lost: %q", esc)
		}
		if bytes.ContainsAny(got, "\r\n\x00") {
			t.Fatalf("escaped %q holds CR, LF or NUL: %q", frame, got)
		}
		if back := unescapeEventSource(t, got); !bytes.Equal(back, frame) {
			t.Fatalf("escape of %q decodes to %q", frame, back)
		}
		env := eventSourceEnvelope(nil, "", frame)
		if !bytes.HasPrefix(env, []byte("data: ")) || !bytes.HasSuffix(env, []byte("\r\n\r\n")) ||
			bytes.Count(env, []byte("\n")) != 2 {
			t.Fatalf("envelope %q is not one data line", env)
		}
	})
}

func TestEnvelopes(t *testing.T) {
	frame := []byte(`a["</script>\u2028"]`)
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"xhr", newlineEnvelope(nil, "", []byte("o")), "o\n"},
		{"eventsource", eventSourceEnvelope(nil, "", []byte(`a["100%"]`)), "data: a[\"100%25\"]\r\n\r\n"},
		{"htmlfile", scriptEnvelope(nil, "cb", []byte("o")), "<script>\np(\"o\");\n</script>\r\n"},
		{"htmlfile hostile", scriptEnvelope(nil, "cb", frame), "<script>\np(\"a[\\\"\\u003c/script\\u003e\\\\u2028\\\"]\");\n</script>\r\n"},
		{"jsonp", jsonpEnvelope(nil, "cb.x", []byte("h")), "/**/cb.x(\"h\");\r\n"},
		{"xhr prelude", xhrPrelude(nil, ""), strings.Repeat("h", 2048) + "\n"},
		{"eventsource prelude", eventSourcePrelude(nil, ""), "\r\n"},
	}
	for _, tt := range tests {
		if string(tt.got) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	p := htmlFilePrelude(nil, "cb")
	if len(p) < 1024+4 || !bytes.HasSuffix(p, []byte("\r\n\r\n")) || !bytes.Contains(p, []byte("parent.cb;")) {
		t.Errorf("htmlfile prelude: %d bytes %q…", len(p), p[:80])
	}
}

// A streaming response's lease counts what the transport writes: for
// messages that need no escaping, the frame it makes final is the one
// whose envelope brings the response to the limit, for any limit.
func TestStreamingBudgetMatchesEnvelope(t *testing.T) {
	script := [][]string{ // after the open frame; nil is a heartbeat
		{"a"}, {"abc", "de", ""}, nil, {strings.Repeat("x", 40)}, {"1", "2", "3", "4"}, nil, {"zz"},
	}
	for _, k := range []*receiverKind{&xhrStreaming, &eventSource, &htmlFile} {
		for limit := 1; limit < 400; limit += 3 {
			r := &receiver{cfg: &Config{ResponseLimit: limit}, kind: k}
			s := session.New("id", "", benchLimits(), nil)
			var l session.Lease
			if err := s.Attach(context.Background(), &l, r.mode(), 0, nil); err != nil {
				t.Fatal(err)
			}
			written := 0
			for i := 0; ; i++ {
				heartbeat := false
				if i > 0 {
					msgs := script[(i-1)%len(script)]
					heartbeat = msgs == nil
					for _, m := range msgs {
						_ = s.Send(m)
					}
				}
				var b session.Batch
				if err := l.Next(&b, heartbeat); err != nil || b.Kind == session.FrameNone {
					t.Fatalf("%s, limit %d, frame %d: Next gave %v, %v", k.name, limit, i, b.Kind, err)
				}
				written += len(k.envelope(nil, "cb", session.AppendBatch(nil, &b)))
				if b.Final != (written >= limit) {
					t.Fatalf("%s, limit %d, frame %d: final=%v after %d bytes written", k.name, limit, i, b.Final, written)
				}
				if b.Final {
					break
				}
			}
			l.Done(false)
		}
	}
}

func TestCallbackParam(t *testing.T) {
	tests := []struct {
		c   string // raw value, URL-encoded into ?c=
		err error
	}{
		{"", errNoCallback},
		{"cb", nil},
		{"jQuery123_456.a-b", nil},
		{strings.Repeat("a", maxCallbackLen), nil},
		{strings.Repeat("a", maxCallbackLen+1), errInvalidCallback},
		{"a b", errInvalidCallback},
		{"a(b)", errInvalidCallback},
		{"a;b", errInvalidCallback},
		{"<script>", errInvalidCallback},
		{"a\"b", errInvalidCallback},
		{"a'b", errInvalidCallback},
		{"a\x00b", errInvalidCallback},
		{"a\nb", errInvalidCallback},
		{"é", errInvalidCallback},
		{"\u2028", errInvalidCallback},
		{"a/b", errInvalidCallback},
		{"a[0]", errInvalidCallback},
		{"a=b", errInvalidCallback},
		{"a+b", errInvalidCallback},
		{"a\\u0028", errInvalidCallback},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/x?c="+url.QueryEscape(tt.c), nil)
		got, err := callbackParam(r)
		if err != tt.err || err == nil && got != tt.c {
			t.Errorf("callbackParam(%q) = %q, %v; want %v", tt.c, got, err, tt.err)
		}
	}
}

func TestHixieKeyNumber(t *testing.T) {
	tests := []struct {
		key  string
		want uint32
		ok   bool
	}{
		{"4 @1  46546xW%0l 1 5", 829309203, true}, // the draft's example
		{"12998 5 Y3 1  .P00", 259970620, true},
		{"1 2", 12, true},
		{"12", 0, false},    // no space
		{"1 1  ", 0, false}, // 11 not divisible by 3
		{"", 0, false},
		{"4294967295 ", 4294967295, true},
		{"4294967296 ", 0, false}, // over 32 bits
		{"99999999999999999999999 ", 0, false},
	}
	for _, tt := range tests {
		got, ok := hixieKeyNumber(tt.key)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("hixieKeyNumber(%q) = %d, %v; want %d, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHeaderHasToken(t *testing.T) {
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{"Upgrade"}, true},
		{[]string{"upgrade"}, true},
		{[]string{"keep-alive, Upgrade"}, true},
		{[]string{"keep-alive,upgrade "}, true},
		{[]string{"keep-alive", "Upgrade"}, true},
		{[]string{"keep-alive, Upgraded"}, false},
		{[]string{"keep-alive,,"}, false},
		{[]string{"xupgrade, upgradex"}, false},
	}
	for _, tt := range tests {
		h := http.Header{"Connection": tt.values}
		if got := headerHasToken(h, "Connection", "upgrade"); got != tt.want {
			t.Errorf("headerHasToken(%q) = %v, want %v", tt.values, got, tt.want)
		}
	}
}
