package sockjs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
)

const testHeartbeat = 300 * time.Millisecond

// wsTestHeartbeat is the websocket's heartbeat in these tests. A session
// with its "h" frames off still gets a ping every heartbeat, and a client
// that does not answer within PongTimeout (never more than the heartbeat)
// is closed as dead (1006 to the client). At 300 ms a race-built client
// on a loaded machine missed that window now and then; a second leaves it
// room.
const wsTestHeartbeat = time.Second

// heartbeatHandler turns the heartbeat off on "off" (answering "off", and
// "tick" after four heartbeats' time), and on again on "on", after two,
// so that a receiver is already waiting when it happens.
func heartbeatHandler(hb time.Duration) sockjs.HandlerFunc {
	return func(s *sockjs.Session) {
		for {
			m, err := s.Recv(context.Background())
			if err != nil {
				return
			}
			switch m {
			case "off":
				s.SetHeartbeat(false)
				_ = s.Send("off")
				// Not a sleep: xhr_send waits a moment for the handler to
				// come back to Recv.
				time.AfterFunc(4*hb, func() { _ = s.Send("tick") })
			case "on":
				time.AfterFunc(2*hb, func() { s.SetHeartbeat(true) })
			}
		}
	}
}

// A frameReader reads a session's frames as one transport delivers them.
type frameReader interface {
	next(t *testing.T) string // the next frame: "o", "h", `a[...]`, `c[...]`
	send(t *testing.T, msg string)
}

// With the heartbeat off, no "h" frame reaches the client on any
// transport while messages still do; turned on again, the heartbeat comes
// back, also to a polling request that was already waiting.
func TestSetHeartbeatEveryTransport(t *testing.T) {
	newBase := func(hb time.Duration) string {
		srv := sockjs.New("/hb", heartbeatHandler(hb), &sockjs.Options{Heartbeat: hb, PongTimeout: hb})
		return serve(t, srv) + "/hb/000/"
	}
	base, wsBase := newBase(testHeartbeat), newBase(wsTestHeartbeat)
	tests := []struct {
		name string
		open func(t *testing.T, url string) frameReader
	}{
		{"websocket", openWS},
		{"xhr_streaming", streamOpener("POST", "xhr_streaming", parseXHRLine)},
		{"eventsource", streamOpener("GET", "eventsource", parseEventSourceLine)},
		{"htmlfile", streamOpener("GET", "htmlfile?c=cb", parseHTMLFileLine)},
		{"xhr", pollOpener("xhr", func(body string) string { return strings.TrimSuffix(body, "\n") })},
		{"jsonp", pollOpener("jsonp?c=cb", parseJSONPBody)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := base
			if tt.name == "websocket" {
				b = wsBase
			}
			c := tt.open(t, b+newID()+"/")
			if got := c.next(t); got != "o" {
				t.Fatalf("first frame %q, want o", got)
			}
			if got := c.next(t); got != "h" {
				t.Fatalf("idle frame %q, want h", got)
			}
			c.send(t, "off")
			if got := c.next(t); got != `a["off"]` {
				t.Fatalf("got %q, want the answer to off", got)
			}
			// Four heartbeats pass before the tick: none of them is sent.
			if got := c.next(t); got != `a["tick"]` {
				t.Fatalf("heartbeat off: got %q, want the tick and no h before it", got)
			}
			if ws, ok := c.(*wsReader); ok && ws.pings.Load() < 3 {
				t.Errorf("websocket: %d pings over four heartbeats with the h frames off, want them to go on", ws.pings.Load())
			}
			c.send(t, "on")
			if got := c.next(t); got != "h" {
				t.Fatalf("heartbeat on again: got %q, want h", got)
			}
		})
	}
}

type wsReader struct {
	c     *websocket.Conn
	pings atomic.Int32
}

func openWS(t *testing.T, url string) frameReader {
	r := &wsReader{c: dialWS(t, url+"websocket", nil)}
	r.c.SetPingHandler(func(data string) error {
		r.pings.Add(1)
		return r.c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	return r
}

func (r *wsReader) next(t *testing.T) string {
	t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * wsTestHeartbeat))
	return readWS(t, r.c)
}

func (r *wsReader) send(t *testing.T, msg string) {
	t.Helper()
	b, _ := json.Marshal([]string{msg})
	if err := r.c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
}

// httpSend posts msg to the session at url through xhr_send.
func httpSend(t *testing.T, url, msg string) {
	t.Helper()
	b, _ := json.Marshal([]string{msg})
	if r := post(t, url+"xhr_send", string(b)); r.status != http.StatusNoContent {
		t.Fatalf("xhr_send: %d %q", r.status, r.body)
	}
}

// streamReader reads frames from one streaming response, a line at a
// time; parse returns the frame a line carries, or "" for a line of the
// envelope.
type streamReader struct {
	url   string
	lines *bufio.Reader
	parse func(line string) string
}

func streamOpener(method, path string, parse func(string) string) func(*testing.T, string) frameReader {
	return func(t *testing.T, url string) frameReader {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t.Cleanup(cancel)
		req, err := http.NewRequestWithContext(ctx, method, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		return &streamReader{url: url, lines: bufio.NewReader(resp.Body), parse: parse}
	}
}

func (r *streamReader) next(t *testing.T) string {
	t.Helper()
	for {
		line, err := r.lines.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		if f := r.parse(strings.TrimRight(line, "\r\n")); f != "" {
			return f
		}
	}
}

func (r *streamReader) send(t *testing.T, msg string) { t.Helper(); httpSend(t, r.url, msg) }

// parseXHRLine skips the prelude, a line of 2048 "h".
func parseXHRLine(line string) string {
	if len(line) == 2048 && strings.Trim(line, "h") == "" {
		return ""
	}
	return line
}

func parseEventSourceLine(line string) string {
	f, _ := strings.CutPrefix(line, "data: ")
	if f == line {
		return ""
	}
	return f
}

// parseHTMLFileLine finds p("frame"); in the script blocks.
func parseHTMLFileLine(line string) string {
	arg, ok := strings.CutPrefix(line, "p(")
	if !ok {
		return ""
	}
	var f string
	if json.Unmarshal([]byte(strings.TrimSuffix(arg, ");")), &f) != nil {
		return "<bad line " + line + ">"
	}
	return f
}

// pollReader takes each frame with a request of its own.
type pollReader struct {
	url, path string
	parse     func(body string) string
}

func pollOpener(path string, parse func(string) string) func(*testing.T, string) frameReader {
	return func(t *testing.T, url string) frameReader { return &pollReader{url, path, parse} }
}

func (r *pollReader) next(t *testing.T) string {
	t.Helper()
	method := "POST"
	if strings.HasPrefix(r.path, "jsonp") {
		method = "GET"
	}
	resp := do(t, method, r.url+r.path, "", nil)
	if resp.status != http.StatusOK {
		t.Fatalf("%s: %d %q", r.path, resp.status, resp.body)
	}
	return r.parse(resp.body)
}

func (r *pollReader) send(t *testing.T, msg string) { t.Helper(); httpSend(t, r.url, msg) }

// parseJSONPBody takes the frame out of /**/cb("frame");.
func parseJSONPBody(body string) string {
	arg, ok := strings.CutPrefix(strings.TrimSpace(body), "/**/cb(")
	var f string
	if !ok || json.Unmarshal([]byte(strings.TrimSuffix(arg, ");")), &f) != nil {
		return "<bad body " + body + ">"
	}
	return f
}
