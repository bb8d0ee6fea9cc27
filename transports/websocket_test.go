package transports_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/internal/closecode"
	"github.com/sockjsd/sockjsd/internal/sockjsclient"
	"github.com/sockjsd/sockjsd/session"
)

// Empty messages and empty arrays are ignored; the session stays open.
func TestWebsocketIgnoresEmpty(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dialWS(t, e.sessionURL(e.newID("ws"), "websocket"))
	wsMustRead(t, c, "o")
	wsWrite(t, c, "")
	wsWrite(t, c, "[]")
	wsWrite(t, c, " [ ] ")
	wsWrite(t, c, `["a"]`)
	wsMustRead(t, c, `a["a"]`)
	wsWrite(t, c, `["b","c"]`)
	// The echo handler sends b and c one by one: one frame or two.
	var got []string
	for len(got) < 2 {
		f, err := wsRead(c)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeMessages(f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m...)
	}
	if got[0] != "b" || got[1] != "c" || len(got) != 2 {
		t.Fatalf("got %q", got)
	}
}

func TestWebsocketBrokenJSON(t *testing.T) {
	e := newEnv(t, nil)
	t.Run("hixie76", func(t *testing.T) {
		t.Parallel()
		id := e.newID("hx")
		h := e.dialHixie(t, e.sessionURL(id, "websocket"))
		h.mustNext(t, "o")
		if err := h.send(`["a`); err != nil {
			t.Fatal(err)
		}
		if msg, closed, err := h.next(); err != nil || !closed {
			t.Fatalf("got %q, %v; want the connection to end", msg, err)
		}
		if info := e.waitEnded(t, id, ioTimeout); info.code != 1007 {
			t.Fatalf("session closed with %d, want 1007", info.code)
		}
	})
	for _, bad := range []string{`["a`, `{"a":1}`, `[1]`, `"x"`, `null`, "[\"a\"] x"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			id := e.newID("ws")
			c := e.dialWS(t, e.sessionURL(id, "websocket"))
			wsMustRead(t, c, "o")
			wsWrite(t, c, bad)
			// As the official suite's test_broken_json wants: no SockJS
			// frame after the bad message, a websocket close with 1007.
			code, msgs := wsCloseCode(c)
			if len(msgs) != 0 || code != websocket.CloseInvalidFramePayloadData {
				t.Fatalf("got frames %q then close %d; want no frame and close 1007", msgs, code)
			}
			if info := e.waitEnded(t, id, ioTimeout); info.code != 1007 {
				t.Fatalf("session closed with %d, want 1007", info.code)
			}
		})
	}
}

// A message over MaxMessageSize closes the connection with 1009, on every
// websocket flavour.
func TestWebsocketMessageTooBig(t *testing.T) {
	const maxSize = 1024
	e := newEnv(t, &harnessOptions{MaxMessageSize: maxSize})
	big := `["` + strings.Repeat("x", maxSize) + `"]`
	fits := `["` + strings.Repeat("y", maxSize-4) + `"]`

	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		id := e.newID("ws")
		c := e.dialWS(t, e.sessionURL(id, "websocket"))
		wsMustRead(t, c, "o")
		wsWrite(t, c, fits)
		wsMustRead(t, c, "a"+fits)
		wsWrite(t, c, big)
		if code, msgs := wsCloseCode(c); code != websocket.CloseMessageTooBig || len(msgs) != 0 {
			t.Fatalf("got frames %q then close %d, want close 1009", msgs, code)
		}
		if info := e.waitEnded(t, id, ioTimeout); info.code != 1009 {
			t.Fatalf("session closed with %d, want 1009", info.code)
		}
	})
	t.Run("rawwebsocket", func(t *testing.T) {
		t.Parallel()
		c := e.dialWS(t, e.base+"/websocket")
		wsWrite(t, c, strings.Repeat("y", maxSize))
		wsMustRead(t, c, strings.Repeat("y", maxSize))
		wsWrite(t, c, strings.Repeat("x", maxSize+1))
		if code, _ := wsCloseCode(c); code != websocket.CloseMessageTooBig {
			t.Fatalf("close code %d, want 1009", code)
		}
	})
	t.Run("hixie76", func(t *testing.T) {
		t.Parallel()
		id := e.newID("hx")
		h := e.dialHixie(t, e.sessionURL(id, "websocket"))
		h.mustNext(t, "o")
		if err := h.send(fits); err != nil {
			t.Fatal(err)
		}
		h.mustNext(t, "a"+fits)
		if err := h.send(big); err != nil {
			t.Fatal(err)
		}
		// Like broken JSON: the connection ends (closing frame or EOF)
		// with no SockJS frame.
		if msg, closed, err := h.next(); err != nil || !closed {
			t.Errorf("hixie-76 message over MaxMessageSize: got %q, %v; want the connection to end", msg, err)
		}
		if info := e.waitEnded(t, id, ioTimeout); info.code != 1009 {
			t.Errorf("hixie-76 session closed with %d %q, want 1009", info.code, info.reason)
		}
	})
}

// A client that never answers pings (a half-open connection) is dropped
// PongTimeout after the first ping, whether it still reads (gorilla, with
// no pong) or is frozen (it reads nothing at all, as a peer whose network
// is gone); one that answers stays.
func TestWebsocketPingTimeout(t *testing.T) {
	const hb, pong, wt = 300 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond
	e := newEnv(t, &harnessOptions{Heartbeat: hb, PongTimeout: pong, WriteTimeout: wt})
	// The first ping leaves a heartbeat after the handshake, and the drop
	// comes PongTimeout later: well before a second heartbeat.
	checkDrop := func(t *testing.T, d time.Duration) {
		t.Helper()
		if d < hb+pong-20*time.Millisecond || d >= 2*hb {
			t.Fatalf("silent client dropped after %v, want heartbeat + pong timeout (%v), before a second heartbeat", d, hb+pong)
		}
	}

	t.Run("websocket/frozen", func(t *testing.T) {
		t.Parallel()
		id := e.newID("frozen")
		conn, _ := dialRawWebsocket(t, e.sessionURL(id, "websocket"))
		defer conn.Close()
		start := time.Now() // from here on the client reads and answers nothing
		info := e.waitEnded(t, id, ioTimeout)
		checkDrop(t, time.Since(start))
		if info.code != 1002 {
			t.Fatalf("session closed with %d %q, want 1002 (connection interrupted)", info.code, info.reason)
		}
	})
	for _, raw := range []bool{false, true} {
		name := map[bool]string{false: "websocket", true: "rawwebsocket"}[raw]
		t.Run(name+"/silent", func(t *testing.T) {
			t.Parallel()
			u := e.sessionURL(e.newID("ping"), "websocket")
			if raw {
				u = e.base + "/websocket"
			}
			c := e.dialWS(t, u)
			var pings int
			var mu sync.Mutex
			c.SetPingHandler(func(string) error { mu.Lock(); pings++; mu.Unlock(); return nil }) // no pong
			start := time.Now()
			code, _ := wsCloseCode(c) // keeps reading: "o", "h" frames
			d := time.Since(start)
			if code == -1 {
				t.Fatalf("connection still open after %v", ioTimeout)
			}
			checkDrop(t, d)
			mu.Lock()
			defer mu.Unlock()
			if pings != 1 {
				t.Fatalf("%d pings before the drop, want 1", pings)
			}
		})
		t.Run(name+"/answering", func(t *testing.T) {
			t.Parallel()
			u := e.sessionURL(e.newID("ping"), "websocket")
			if raw {
				u = e.base + "/websocket"
			}
			c := e.dialWS(t, u)
			// Reading makes gorilla answer pings.
			msgs := make(chan string, 64)
			errc := make(chan error, 1)
			go func() {
				for {
					_, m, err := c.ReadMessage()
					if err != nil {
						errc <- err
						return
					}
					msgs <- string(m)
				}
			}()
			select {
			case err := <-errc:
				t.Fatalf("answering client dropped: %v", err)
			case <-time.After(5 * hb):
			}
			send, want := `["still"]`, `a["still"]`
			if raw {
				send, want = "still", "still"
			}
			wsWrite(t, c, send)
			timeout := time.After(ioTimeout)
			for {
				select {
				case m := <-msgs:
					if m == want {
						return
					}
					if m != "o" && m != "h" {
						t.Fatalf("got %q, want %q", m, want)
					}
				case err := <-errc:
					t.Fatalf("answering client dropped: %v", err)
				case <-timeout:
					t.Fatal("no echo")
				}
			}
		})
	}
}

func TestHixie76Echo(t *testing.T) {
	e := newEnv(t, nil)
	id := e.newID("hx")
	h := e.dialHixie(t, e.sessionURL(id, "websocket"))
	h.mustNext(t, "o")
	for i, m := range []string{"a", "é\u2028", `"quoted"`, strings.Repeat("z", 5000)} {
		if err := h.send(fmt.Sprintf(`[%q]`, m)); err != nil {
			t.Fatal(err)
		}
		want := string(session.AppendMessages(nil, []string{m}))
		h.mustNext(t, want)
		if i == 0 && want != `a["a"]` {
			t.Fatalf("frame %q", want)
		}
	}
	if err := h.send(`["close 3000"]`); err != nil {
		t.Fatal(err)
	}
	h.mustNext(t, `c[3000,"bye"]`)
	if _, closed, err := h.next(); !closed || !h.closing || err != nil {
		t.Fatalf("want the closing frame after c[3000], got closed=%v (closing frame %v) err=%v", closed, h.closing, err)
	}
	if info := e.waitEnded(t, id, ioTimeout); info.code != 3000 {
		t.Fatalf("session closed with %d", info.code)
	}
	// The client's closing handshake ends a session too.
	id2 := e.newID("hx")
	h2 := e.dialHixie(t, e.sessionURL(id2, "websocket"))
	h2.mustNext(t, "o")
	_ = h2.CloseHandshake(time.Now().Add(ioTimeout))
	e.waitEnded(t, id2, ioTimeout)
}

// A client that stops reading never blocks Send (of its session or any
// other); once its queue passes the bound it is closed as a slow client,
// while other sessions keep echoing.
func TestWebsocketSlowReader(t *testing.T) {
	e := newEnv(t, &harnessOptions{SendQueueBytes: 64 << 10, WriteTimeout: 3 * time.Second})
	slowID := e.newID("slow")
	slow := e.dialClient(t, sockjsclient.WebSocket, slowID)
	fast := e.dialClient(t, sockjsclient.WebSocket, e.newID("fast"))

	// The slow client asks for a flood and never reads again.
	if err := slow.Send([]string{"flood 1024"}, time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; time.Since(start) < 300*time.Millisecond; i++ {
		t0 := time.Now()
		msg := fmt.Sprint(i)
		if err := fast.Send([]string{msg}, t0.Add(ioTimeout)); err != nil {
			t.Fatal(err)
		}
		if got, err := sockjsclient.ReadMessages(fast, t0.Add(ioTimeout)); err != nil || len(got) != 1 || got[0] != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
		if d := time.Since(t0); d > 200*time.Millisecond {
			t.Fatalf("echo on another session took %v while a client stalls", d)
		}
	}
	info := e.waitEnded(t, slowID, 2*time.Second)
	if info.code != closecode.SlowClient || !errors.Is(info.sendErr, session.ErrSlowClient) {
		t.Fatalf("stalled client: closed with %d %q, flood ended with %v; want 1008 and ErrSlowClient", info.code, info.reason, info.sendErr)
	}
	if info.flood > time.Second {
		t.Fatalf("Send blocked: the flood took %v to hit the queue bound", info.flood)
	}
	e.metrics.mu.Lock()
	slowCount := e.metrics.slow
	e.metrics.mu.Unlock()
	if slowCount != 1 {
		t.Fatalf("SlowClient metric %d, want 1", slowCount)
	}
}

// Raw websocket carries messages as they are, no framing.
func TestRawWebsocketEcho(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dialWS(t, e.base+"/websocket")
	for _, m := range []string{"plain", `["not parsed"]`, "", "é\u2028\x00"} {
		wsWrite(t, c, m)
		wsMustRead(t, c, m)
	}
	wsWrite(t, c, "close 3001")
	if code, msgs := wsCloseCode(c); code != 3001 || len(msgs) != 0 {
		t.Fatalf("close %d after %q, want 3001 and no frame", code, msgs)
	}
}

// A client that only listens (sends nothing, answers pings) to a session
// that sends more often than the heartbeat must not be taken for dead: the
// server has to keep pinging while it writes, since a busy connection is
// never idle long enough for the heartbeat timer to fire.
func TestWebsocketListenOnlyClientOnBusyConnection(t *testing.T) {
	const hb, wt = 100 * time.Millisecond, 100 * time.Millisecond
	e := newEnv(t, &harnessOptions{Heartbeat: hb, WriteTimeout: wt})
	for _, raw := range []bool{false, true} {
		name := map[bool]string{false: "websocket", true: "rawwebsocket"}[raw]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u, cmd := e.sessionURL(e.newID("listen"), "websocket"), `["burst 40 10 25"]`
			if raw {
				u, cmd = e.base+"/websocket", "burst 40 10 25"
			}
			c := e.dialWS(t, u)
			// The default ping handler answers pings while we read.
			wsWrite(t, c, cmd) // the last thing the client ever sends
			start := time.Now()
			got := 0
			for got < 40 {
				m, err := wsRead(c)
				if err != nil {
					t.Fatalf("listen-only client dropped after %v with %d/40 messages (traffic every 25ms, heartbeat %v): %v",
						time.Since(start).Round(time.Millisecond), got, hb, err)
				}
				if raw {
					got++
					continue
				}
				if m == "o" || m == "h" {
					continue
				}
				msgs, err := decodeMessages(m)
				if err != nil {
					t.Fatal(err)
				}
				got += len(msgs)
			}
		})
	}
}

// wsEndpoints are the two RFC 6455 endpoints of newEnv's echo server: the
// framed transport's first frame is "o".
func wsEndpoints(e *env) []struct {
	name, url, open string
	frame           func(msg string) string // what the echo of msg looks like
} {
	return []struct {
		name, url, open string
		frame           func(msg string) string
	}{
		{"websocket", e.sessionURL(e.newID("ws"), "websocket"), "o",
			func(m string) string { return string(session.AppendMessages(nil, []string{m})) }},
		{"rawwebsocket", e.base + "/websocket", "", func(m string) string { return m }},
	}
}

// Ten pings sent together get ten pongs, with their payloads, in order.
func TestWebsocketAnswersEveryPing(t *testing.T) {
	e := newEnv(t, nil)
	for _, ep := range wsEndpoints(e) {
		t.Run(ep.name, func(t *testing.T) {
			conn, br := dialRawWebsocket(t, ep.url)
			defer conn.Close()
			var pings []byte
			for i := range 10 {
				pings = append(pings, clientFrame(0x89, fmt.Sprintf("payload-%d", i))...)
			}
			if _, err := conn.Write(pings); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 10; {
				op, p, err := readFrame(br)
				if err != nil {
					t.Fatalf("after %d pongs: %v", i, err)
				}
				if op == 1 && string(p) == ep.open && i == 0 {
					continue
				}
				if want := fmt.Sprintf("payload-%d", i); op != 10 || string(p) != want {
					t.Fatalf("frame %d %q, want pong %d %q", op, p, i, want)
				}
				i++
			}
		})
	}
}

// A text message is failed with 1007 as soon as a fragment with invalid
// UTF-8 arrives, before the message ends; an incomplete sequence at a
// fragment's end is not invalid.
func TestWebsocketUTF8FailFast(t *testing.T) {
	e := newEnv(t, nil)
	for _, ep := range wsEndpoints(e) {
		t.Run(ep.name, func(t *testing.T) {
			conn, br := dialRawWebsocket(t, ep.url)
			defer conn.Close()
			msg := "κόσμε"
			if ep.open != "" {
				msg = `["κόσμε"]`
			}
			// The message split inside a sequence: accepted.
			split := strings.Index(msg, "ό") + 1
			_, _ = conn.Write(cat(clientFrame(0x01, msg[:split]), clientFrame(0x80, msg[split:])))
			// Then a message whose first fragment is already invalid, and
			// nothing more: the client waits.
			_, _ = conn.Write(clientFrame(0x01, "\xce\xba\xf4\x90\x80\x80"))
			frames, code := readUntilClose(t, br)
			want := []string{"1:" + ep.frame("κόσμε")}
			if ep.open != "" {
				want = append([]string{"1:o"}, want...)
			}
			if code != 1007 || strings.Join(frames, "|") != strings.Join(want, "|") {
				t.Fatalf("frames %q then close %d; want %q then 1007", frames, code, want)
			}
		})
	}
}

// After a protocol error, what the client sent before the bad frame is
// answered first: the echo goes out before the close frame.
func TestWebsocketEchoBeforeProtocolError(t *testing.T) {
	e := newEnv(t, nil)
	for range 10 {
		for _, ep := range wsEndpoints(e) {
			t.Run(ep.name, func(t *testing.T) {
				conn, br := dialRawWebsocket(t, ep.url)
				defer conn.Close()
				msg := "hello"
				if ep.open != "" {
					msg = `["hello"]`
				}
				bad := clientFrame(0x80|0x40|0x01, "x") // RSV1: no extension was negotiated
				_, _ = conn.Write(cat(clientFrame(0x81, msg), bad))
				frames, code := readUntilClose(t, br)
				want := []string{"1:" + ep.frame("hello")}
				if ep.open != "" {
					want = append([]string{"1:o"}, want...)
				}
				if code != 1002 || strings.Join(frames, "|") != strings.Join(want, "|") {
					t.Fatalf("frames %q then close %d; want %q then 1002", frames, code, want)
				}
			})
		}
	}
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// Binary messages are refused with 1003 on both endpoints, after the
// answers to what came before; the session ends with 1003.
func TestWebsocketRefusesBinary(t *testing.T) {
	e := newEnv(t, nil)
	for _, ep := range wsEndpoints(e) {
		for _, tc := range []struct {
			name  string
			frame []byte
		}{
			{"whole", clientFrame(0x82, "\x00\xff")},
			{"first fragment", clientFrame(0x02, `["a"]`)},
		} {
			t.Run(ep.name+"/"+tc.name, func(t *testing.T) {
				conn, br := dialRawWebsocket(t, ep.url)
				defer conn.Close()
				msg := "text"
				if ep.open != "" {
					msg = `["text"]`
				}
				_, _ = conn.Write(cat(clientFrame(0x81, msg), tc.frame))
				frames, code := readUntilClose(t, br)
				want := []string{"1:" + ep.frame("text")}
				if ep.open != "" {
					want = append([]string{"1:o"}, want...)
				}
				if code != 1003 || strings.Join(frames, "|") != strings.Join(want, "|") {
					t.Fatalf("frames %q then close %d; want %q then 1003", frames, code, want)
				}
			})
		}
	}
	t.Run("session", func(t *testing.T) {
		id := e.newID("bin")
		c := e.dialWS(t, e.sessionURL(id, "websocket"))
		wsMustRead(t, c, "o")
		if err := c.WriteMessage(websocket.BinaryMessage, []byte(`["a"]`)); err != nil {
			t.Fatal(err)
		}
		if info := e.waitEnded(t, id, ioTimeout); info.code != 1003 {
			t.Fatalf("session closed with %d, want 1003", info.code)
		}
	})
}

// An upgrade over HTTP/1.0 gets 400 and a reason (RFC 6455 §4.1), and no
// session opens; on every websocket endpoint, hixie-76 included.
func TestWebsocketRefusesHTTP10(t *testing.T) {
	e := newEnv(t, nil)
	rfc6455 := "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	hixie := "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n"
	for _, tc := range []struct{ name, url, keys string }{
		{"websocket", e.sessionURL(e.newID("ws10"), "websocket"), rfc6455},
		{"rawwebsocket", e.base + "/websocket", rfc6455},
		{"hixie76", e.sessionURL(e.newID("hx10"), "websocket"), hixie},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.url)
			conn, err := net.DialTimeout("tcp", u.Host, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(ioTimeout))
			fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n%s\r\n",
				u.RequestURI(), u.Host, tc.keys)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTP/1.1") {
				t.Fatalf("HTTP/1.0 upgrade: %d %q, want 400 naming HTTP/1.1", resp.StatusCode, body)
			}
		})
	}
	if n := e.live.Load(); n != 0 {
		t.Errorf("%d sessions opened", n)
	}
}
