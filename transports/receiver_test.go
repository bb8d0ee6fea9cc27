package transports_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

const conflictFrame = `c[2010,"Another connection still open"]`

// A second receiver on a session whose receiver is attached gets the 2010
// close frame in its transport's framing, and the first keeps working.
func TestConflict2010(t *testing.T) {
	e := newEnv(t, nil)
	for _, kind := range []string{"xhr", "jsonp", "xhr_streaming", "eventsource", "htmlfile"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			id := e.newID("conflict")
			first := make(chan string, 1)
			var s1 *stream
			if kind == "xhr" || kind == "jsonp" {
				e.mustPoll(t, id, kind, "o")
				go func() {
					f, err := e.poll(id, kind)
					if err != nil {
						f = err.Error()
					}
					first <- f
				}()
				time.Sleep(100 * time.Millisecond) // let the poll attach
				e.mustPoll(t, id, kind, conflictFrame)
			} else {
				s1 = e.mustOpenStream(t, id, kind)
				s1.mustNext(t, "o")
				s2 := e.mustOpenStream(t, id, kind)
				s2.mustNext(t, conflictFrame)
				s2.mustEnd(t)
			}
			// The first receiver is still attached and gets messages.
			e.mustSend(t, id, "still here")
			if s1 != nil {
				s1.mustNext(t, `a["still here"]`)
			} else if f := <-first; f != `a["still here"]` {
				t.Fatalf("first poll got %q", f)
			}
		})
	}
}

// Polls that follow polls never conflict: the lease is released before
// the response is complete.
func TestNoConflictBetweenSequentialPolls(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dialClient(t, sockjsclient.XHRPolling, e.newID("seq"))
	for i := range 200 {
		msg := fmt.Sprint(i)
		if err := c.Send([]string{msg}, time.Now().Add(ioTimeout)); err != nil {
			t.Fatal(err)
		}
		f, err := c.Recv(time.Now().Add(ioTimeout))
		if err != nil || f.Type != sockjsclient.FrameArray || len(f.Messages) != 1 || f.Messages[0] != msg {
			t.Fatalf("poll %d: %+v, %v; want a[%q]", i, f, err, msg)
		}
	}
	e.metrics.mu.Lock()
	defer e.metrics.mu.Unlock()
	if e.metrics.conflicts != 0 {
		t.Fatalf("%d conflicts", e.metrics.conflicts)
	}
}

// A streaming response ends once it has carried ResponseLimit bytes (the
// prelude not counted), and no message is lost or repeated across the
// responses that follow.
func TestResponseLimit(t *testing.T) {
	const limit = 4096
	e := newEnv(t, &harnessOptions{ResponseLimit: limit})
	for _, kind := range streamKinds {
		for _, mode := range []string{"drip", "burst"} {
			t.Run(kind+"/"+mode, func(t *testing.T) {
				t.Parallel()
				id := e.newID("limit")
				s := e.mustOpenStream(t, id, kind)
				s.mustNext(t, "o")
				const n, size = 40, 300
				delay := 0
				if mode == "drip" {
					delay = 1
				}
				e.mustSend(t, id, fmt.Sprintf("burst %d %d %d", n, size, delay))
				var got []string
				for responses := 1; len(got) < n; responses++ {
					if responses > 20 {
						t.Fatalf("%d responses for %d messages", responses, n)
					}
					before := 0 // bytes before the current envelope
					for {
						before = s.bytes
						frame, err := s.next()
						if err != nil {
							// The response ended: only after the limit.
							if before < limit {
								t.Fatalf("response %d ended after %d bytes (< %d): %v", responses, before, limit, err)
							}
							break
						}
						if before >= limit {
							t.Fatalf("response %d: frame written after %d bytes, past the limit %d", responses, before, limit)
						}
						if frame == "h" {
							continue
						}
						msgs, err := decodeMessages(frame)
						if err != nil {
							t.Fatal(err)
						}
						got = append(got, msgs...)
						if len(got) == n {
							break
						}
					}
					if len(got) < n {
						s.close()
						s = e.mustOpenStream(t, id, kind)
					}
				}
				for i, m := range got {
					if m != burstMessage(i, size) {
						t.Fatalf("message %d is %.10q…, want %.10q…", i, m, burstMessage(i, size))
					}
				}
			})
		}
	}
}

// With a short heartbeat, every transport sends its heartbeat frame in its
// own framing when idle; websocket also pings.
func TestHeartbeats(t *testing.T) {
	const hb = 40 * time.Millisecond
	e := newEnv(t, &harnessOptions{Heartbeat: hb})

	t.Run("xhr", func(t *testing.T) {
		t.Parallel()
		id := e.newID("hb")
		e.mustPoll(t, id, "xhr", "o")
		status, body, err := e.do("POST", e.sessionURL(id, "xhr"), "", nil)
		if err != nil || status != 200 || body != "h\n" {
			t.Fatalf("idle xhr poll: %d %q %v, want h\\n", status, body, err)
		}
	})
	t.Run("jsonp", func(t *testing.T) {
		t.Parallel()
		id := e.newID("hb")
		e.mustPoll(t, id, "jsonp", "o")
		status, body, err := e.do("GET", e.sessionURL(id, "jsonp")+"?c=cb", "", nil)
		if err != nil || status != 200 || body != "/**/cb(\"h\");\r\n" {
			t.Fatalf("idle jsonp poll: %d %q %v", status, body, err)
		}
	})
	for kind, want := range map[string]string{
		"xhr_streaming": "h\n",
		"eventsource":   "data: h\r\n\r\n",
		"htmlfile":      "<script>\np(\"h\");\n</script>\r\n",
	} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := e.mustOpenStream(t, e.newID("hb"), kind)
			s.mustNext(t, "o")
			for range 3 {
				start := time.Now()
				raw, err := s.nextRaw()
				if err != nil || raw != want {
					t.Fatalf("got %q, %v; want %q", raw, err, want)
				}
				if d := time.Since(start); d > 10*hb {
					t.Fatalf("heartbeat after %v", d)
				}
			}
		})
	}
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		c := e.dialWS(t, e.sessionURL(e.newID("hb"), "websocket"))
		pings := make(chan struct{}, 16)
		c.SetPingHandler(func(data string) error {
			pings <- struct{}{}
			return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		wsMustRead(t, c, "o")
		for range 3 {
			wsMustRead(t, c, "h")
		}
		select {
		case <-pings:
		default:
			t.Fatal("no ping with the heartbeats")
		}
	})
	t.Run("rawwebsocket", func(t *testing.T) {
		t.Parallel()
		c := e.dialWS(t, e.base+"/websocket")
		pings := make(chan struct{}, 16)
		c.SetPingHandler(func(data string) error {
			pings <- struct{}{}
			return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		// No "h" text message: the raw websocket carries messages only.
		_ = c.SetReadDeadline(time.Now().Add(6 * hb))
		if _, m, err := c.ReadMessage(); err == nil {
			t.Fatalf("raw websocket got message %q while idle", m)
		}
		if len(pings) < 2 {
			t.Fatalf("%d pings in 6 heartbeats", len(pings))
		}
	})
	t.Run("hixie76", func(t *testing.T) {
		t.Parallel()
		h := e.dialHixie(t, e.sessionURL(e.newID("hb"), "websocket"))
		h.mustNext(t, "o")
		h.mustNext(t, "h")
		h.mustNext(t, "h")
	})
}

// Eventsource percent-encodes %, CR, LF and NUL: whatever the messages
// hold, each event is one data line that decodeURI turns back into the
// frame.
func TestEventSourceEscaping(t *testing.T) {
	e := newEnv(t, nil)
	id := e.newID("es")
	s := e.mustOpenStream(t, id, "eventsource")
	s.mustNext(t, "o")
	msgs := []string{
		"%", "%%", "%0A", "%25", "%00", "a%b", "\r", "\n", "\x00", "\r\n\r\ndata: injected\r\n\r\n",
		"100% \x00 sure\n", "%E2%80%A8", "\u2028\u2029", "id: 1\nevent: x", "%\r%\n%\x00%",
	}
	e.mustSend(t, id, msgs...)
	var got []string
	for len(got) < len(msgs) {
		raw, err := s.nextRaw()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(raw, "\n") != 2 || strings.Count(raw, "\r") != 2 || strings.Contains(raw, "\x00") {
			t.Fatalf("event %q holds raw line ends or NUL besides its terminator", raw)
		}
		frame, _, err := cutEnvelope("eventsource", raw)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeMessages(frame)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m...)
	}
	if !slices.Equal(got, msgs) {
		t.Fatalf("got %q\nwant %q", got, msgs)
	}
}

var hostileMessages = []string{
	"</script>",
	"</SCRIPT><script>alert(1)</script>",
	"</scr\u0000ipt>",
	"<!--", "<!-- <script>", "-->", "]]>", "<![CDATA[",
	"\u2028", "\u2029", "a\u2028b\u2029c",
	`"`, `\`, `\"`, `"\`, `\\"`, "'", `');alert(1);//`, `");alert(1);//`, "\"+alert(1)+\"",
	"&lt;&gt;&amp;", "&#x3c;", "<", ">", "&",
	"\r\n", "\x00", "\x7f", "\ufeff", "\U0001F600", "\ud7ff",
	"\xff\xfe invalid", "\xed\xa0\x80",
	"\u200c\u200f\u2060\u206f\ufff0\uffff",
	"p(\"a\");", "</script><script>p(\"x\")</script>",
}

// htmlfile and jsonp put frames inside JavaScript: parse every literal
// back and check that no message can end the script or the string.
func TestScriptTransportsInjectionSafe(t *testing.T) {
	e := newEnv(t, nil)
	// The server replaces invalid UTF-8 as encoding/json does.
	want := make([]string, len(hostileMessages))
	for i, m := range hostileMessages {
		want[i] = fixUTF8(m)
	}

	t.Run("htmlfile", func(t *testing.T) {
		id := e.newID("inj")
		s := e.mustOpenStream(t, id, "htmlfile")
		if strings.Count(strings.ToLower(s.prelude), "<script") != 1 || strings.Count(strings.ToLower(s.prelude), "</script") != 1 {
			t.Fatalf("prelude has unexpected script tags:\n%s", s.prelude)
		}
		s.mustNext(t, "o")
		for _, m := range hostileMessages {
			e.mustSend(t, id, m)
		}
		var got []string
		for len(got) < len(hostileMessages) {
			raw, err := s.nextRaw()
			if err != nil {
				t.Fatal(err)
			}
			low := strings.ToLower(raw)
			if strings.Count(low, "<script") != 1 || strings.Count(low, "</script") != 1 || strings.Contains(low, "<!--") {
				t.Fatalf("envelope %q: a message added markup", raw)
			}
			frame, _, err := cutEnvelope("htmlfile", raw)
			if err != nil {
				t.Fatal(err)
			}
			m, err := decodeMessages(frame)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
	t.Run("jsonp", func(t *testing.T) {
		id := e.newID("inj")
		e.mustPoll(t, id, "jsonp", "o")
		for _, m := range hostileMessages {
			if status, body, err := e.send(id, "jsonp_send", m); err != nil || status != 200 || body != "ok" {
				t.Fatalf("jsonp_send %q: %d %q %v", m, status, body, err)
			}
		}
		var got []string
		for len(got) < len(hostileMessages) {
			status, body, err := e.do("GET", e.sessionURL(id, "jsonp")+"?c=cb", "", nil)
			if err != nil || status != 200 {
				t.Fatalf("jsonp: %d %v", status, err)
			}
			if strings.Count(body, "(") < 1 || !strings.HasPrefix(body, "/**/cb(") || !strings.HasSuffix(body, ");\r\n") {
				t.Fatalf("jsonp body %q", body)
			}
			frame, rest, err := cutEnvelope("jsonp", body)
			if err != nil || rest != "" {
				t.Fatalf("jsonp body %q: %v (rest %q)", body, err, rest)
			}
			m, err := decodeMessages(frame)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, m...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	})
}

// The JS literal parser the injection test relies on.
func TestParseJSString(t *testing.T) {
	for lit, want := range map[string]string{
		`""`:                     "",
		`"a"`:                    "a",
		`"\u003c\/"`:             "</",
		`"\x41\u{1F600}"`:        "A\U0001F600",
		`"\'\"\\\b\f\n\r\t\v\0"`: "'\"\\\b\f\n\r\t\v\x00",
		`"\ud83d\ude00"`:         "\U0001F600",
		`"\ud83d"`:               "\ufffd",
		`"\q"`:                   "q",
	} {
		got, err := parseJSString(lit)
		if err != nil || got != want {
			t.Errorf("parseJSString(%s) = %q, %v; want %q", lit, got, err, want)
		}
	}
	for _, lit := range []string{`"`, `"a"b"`, "\"a\nb\"", `"\1"`, `"\01"`, `"\x4"`, `"\u12"`, `"a\"`} {
		if got, err := parseJSString(lit); err == nil {
			t.Errorf("parseJSString(%s) = %q, want an error", lit, got)
		}
	}
}

// The callback of jsonp and htmlfile is written into JavaScript: only
// [a-zA-Z0-9_.-], up to 128 bytes, is accepted, and a refused callback
// opens no session.
func TestCallbackValidation(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		raw    string // the query, as sent
		status int
		body   string
	}{
		{"", 500, `"callback" parameter required`},
		{"c=", 500, `"callback" parameter required`},
		{"c=cb", 200, ""},
		{"c=a.b_c-D9", 200, ""},
		{"c=" + strings.Repeat("x", 128), 200, ""},
		{"c=" + strings.Repeat("x", 129), 500, `invalid "callback" parameter`},
		{"c=a+b", 500, `invalid "callback" parameter`},
		{"c=a%20b", 500, `invalid "callback" parameter`},
		{"c=alert(1)", 500, `invalid "callback" parameter`},
		{"c=a;b", 500, ""}, // net/url refuses the whole query: "required"
		{"c=a%3Bb", 500, `invalid "callback" parameter`},
		{"c=%3Cscript%3E", 500, `invalid "callback" parameter`},
		{"c=a%22b", 500, `invalid "callback" parameter`},
		{"c=a'b", 500, `invalid "callback" parameter`},
		{"c=a%00b", 500, `invalid "callback" parameter`},
		{"c=a%0Ab", 500, `invalid "callback" parameter`},
		{"c=%C3%A9", 500, `invalid "callback" parameter`},
		{"c=a/b", 500, `invalid "callback" parameter`},
		{"c=a%2F%2Fb", 500, `invalid "callback" parameter`},
		{"c=a[0]", 500, `invalid "callback" parameter`},
		{"c=a=b", 500, `invalid "callback" parameter`},
		{"c=%FF", 500, `invalid "callback" parameter`},
	}
	for _, kind := range []string{"jsonp", "htmlfile"} {
		for _, tt := range tests {
			t.Run(kind+"/"+url.PathEscape(tt.raw), func(t *testing.T) {
				id := e.newID("cb")
				u := e.sessionURL(id, kind) + "?" + tt.raw
				if tt.status == 200 && kind == "htmlfile" {
					s, err := e.openStreamQuery(id, kind, tt.raw)
					if err != nil {
						t.Fatal(err)
					}
					defer s.close()
					if c := strings.TrimPrefix(tt.raw, "c="); !strings.Contains(s.prelude, "parent."+c+";") {
						t.Fatalf("prelude does not name callback %q", c)
					}
					return
				}
				status, body, err := e.do("GET", u, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				if status != tt.status || tt.body != "" && body != tt.body {
					t.Fatalf("%s: %d %q, want %d %q", u, status, body, tt.status, tt.body)
				}
				if tt.status == 200 {
					c := strings.TrimPrefix(tt.raw, "c=")
					if want := "/**/" + c + "(\"o\");\r\n"; body != want {
						t.Fatalf("body %q, want %q", body, want)
					}
					return
				}
				// No session was opened: sending to it is a 404.
				if status, _, _ := e.send(id, "xhr_send", "x"); status != 404 {
					t.Fatalf("xhr_send after a refused callback: %d, want 404", status)
				}
			})
		}
	}
}

// The htmlfile prelude names the callback and is padded to at least 1 KiB.
func TestHTMLFilePrelude(t *testing.T) {
	e := newEnv(t, nil)
	s := e.mustOpenStream(t, e.newID("pre"), "htmlfile")
	if !strings.Contains(s.prelude, "var c = parent.cb;") {
		t.Fatalf("prelude does not call the callback:\n%s", s.prelude)
	}
	if len(s.prelude) < 1024 {
		t.Fatalf("prelude %d bytes, want ≥ 1024", len(s.prelude))
	}
	s.mustNext(t, "o")
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/html; charset=UTF-8" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// fixUTF8 replaces each byte of invalid UTF-8 by U+FFFD, as encoding/json
// and the server do.
func fixUTF8(s string) string {
	var b strings.Builder
	for _, r := range s { // ranging yields RuneError per bad byte
		b.WriteRune(r)
	}
	return b.String()
}

// X-Accel-Buffering: no is for streams (checkStreamResponse, on both the
// hijacked and the net/http path): a poll's answer is complete at once, and
// nginx may buffer it.
func TestPollsLeaveProxyBuffering(t *testing.T) {
	e := newEnv(t, nil)
	for _, tt := range []struct{ kind, method, query string }{
		{"xhr", http.MethodPost, ""},
		{"jsonp", http.MethodGet, "?c=cb"},
	} {
		req, err := http.NewRequest(tt.method, e.sessionURL(e.newID("buf"), tt.kind)+tt.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "o") {
			t.Fatalf("%s: %d %q", tt.kind, resp.StatusCode, body)
		}
		if v := resp.Header.Values("X-Accel-Buffering"); len(v) != 0 {
			t.Errorf("%s: X-Accel-Buffering %q on a poll", tt.kind, v)
		}
	}
}
