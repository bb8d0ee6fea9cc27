package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// A STOMP client over a raw SockJS websocket, enough for sockjsd's
// /stomp: frames out as one SockJS message each, frames in split at
// their NUL, heart-beat EOLs skipped.

type stompFrame struct {
	command string
	headers map[string]string // the first of repeated headers
	body    string
}

type stompClient struct {
	t       *testing.T
	name    string
	c       *websocket.Conn
	pending []string // frames received, not yet read
	partial string   // a frame's start, its end still to come
}

var stompSeq atomic.Int64

// dialStomp opens /stomp on base (http://host:port) by websocket and
// sends CONNECT with the header lines given ("login:ann").
func dialStomp(t *testing.T, base, name string, headers ...string) (*stompClient, stompFrame) {
	t.Helper()
	u := fmt.Sprintf("ws%s/stomp/000/%s%d/websocket", strings.TrimPrefix(base, "http"), name, stompSeq.Add(1))
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	sc := &stompClient{t: t, name: name, c: c}
	if f := sc.sockjsFrame(); f != "o" {
		t.Fatalf("%s: open frame %q", name, f)
	}
	sc.send("CONNECT", append([]string{"accept-version:1.2,1.1,1.0", "host:sockjsd", "heart-beat:0,0"}, headers...), "")
	return sc, sc.read()
}

func (sc *stompClient) sockjsFrame() string {
	sc.t.Helper()
	_ = sc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := sc.c.ReadMessage()
	if err != nil {
		sc.t.Fatalf("%s: websocket read: %v", sc.name, err)
	}
	return string(p)
}

// send writes one frame; headers are "name:value" lines.
func (sc *stompClient) send(command string, headers []string, body string) {
	sc.t.Helper()
	var b strings.Builder
	b.WriteString(command + "\n")
	for _, h := range headers {
		b.WriteString(h + "\n")
	}
	b.WriteString("\n" + body + "\x00")
	msg, _ := json.Marshal([]string{b.String()})
	if err := sc.c.WriteMessage(websocket.TextMessage, msg); err != nil {
		sc.t.Fatalf("%s: write: %v", sc.name, err)
	}
}

// read returns the next frame; a close frame of SockJS fails the test.
func (sc *stompClient) read() stompFrame {
	sc.t.Helper()
	for len(sc.pending) == 0 {
		f := sc.sockjsFrame()
		switch {
		case f == "h":
			continue
		case strings.HasPrefix(f, "c"):
			sc.t.Fatalf("%s: session closed: %s", sc.name, f)
		case !strings.HasPrefix(f, "a"):
			sc.t.Fatalf("%s: SockJS frame %q", sc.name, f)
		}
		var msgs []string
		if err := json.Unmarshal([]byte(f[1:]), &msgs); err != nil {
			sc.t.Fatalf("%s: %q: %v", sc.name, f, err)
		}
		for _, m := range msgs {
			data := sc.partial + m
			for {
				data = strings.TrimLeft(data, "\r\n") // heart-beats
				end := strings.IndexByte(data, 0)
				if end < 0 {
					break
				}
				sc.pending = append(sc.pending, data[:end])
				data = data[end+1:]
			}
			sc.partial = data
		}
	}
	raw := sc.pending[0]
	sc.pending = sc.pending[1:]
	head, body, _ := strings.Cut(raw, "\n\n")
	lines := strings.Split(head, "\n")
	f := stompFrame{command: lines[0], headers: map[string]string{}, body: body}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		if _, seen := f.headers[k]; !seen {
			f.headers[k] = v
		}
	}
	return f
}

// expect reads a frame and checks its command, body (unless "*") and the
// header lines given.
func (sc *stompClient) expect(command, body string, headers ...string) stompFrame {
	sc.t.Helper()
	f := sc.read()
	if f.command != command || (body != "*" && f.body != body) {
		sc.t.Fatalf("%s: got %s %v %q, want %s %q", sc.name, f.command, f.headers, f.body, command, body)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if f.headers[k] != v {
			sc.t.Fatalf("%s: %s has %s:%q, want %q (headers %v)", sc.name, command, k, f.headers[k], v, f.headers)
		}
	}
	return f
}

// subscribe subscribes and waits for the receipt.
func (sc *stompClient) subscribe(id, dest string, headers ...string) {
	sc.t.Helper()
	sc.send("SUBSCRIBE", append([]string{"id:" + id, "destination:" + dest, "receipt:sub-" + id}, headers...), "")
	sc.expect("RECEIPT", "", "receipt-id:sub-"+id)
}

// sendTo sends body to dest and waits for the receipt.
func (sc *stompClient) sendTo(dest, body string, headers ...string) stompFrame {
	sc.t.Helper()
	r := fmt.Sprintf("send-%d", stompSeq.Add(1))
	sc.send("SEND", append([]string{"destination:" + dest, "receipt:" + r}, headers...), body)
	return sc.expect("RECEIPT", "", "receipt-id:"+r)
}

// quiet checks that nothing arrives for a moment.
func (sc *stompClient) quiet() {
	sc.t.Helper()
	_ = sc.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, p, err := sc.c.ReadMessage(); err == nil && string(p) != "h" {
		sc.t.Fatalf("%s: got %q, want nothing", sc.name, p)
	}
	// A deadline that expired breaks a gorilla connection: quiet is the
	// last read of a client.
}

// expectError reads an ERROR whose message holds message, then waits for
// the SockJS close frame.
func (sc *stompClient) expectError(message string) {
	sc.t.Helper()
	f := sc.read()
	if f.command != "ERROR" || !strings.Contains(f.headers["message"], message) {
		sc.t.Fatalf("%s: got %s %v, want ERROR with %q", sc.name, f.command, f.headers, message)
	}
	for {
		if s := sc.sockjsFrame(); strings.HasPrefix(s, "c") {
			return
		}
	}
}

// The STOMP service of a running sockjsd: /app/echo answers the sender
// alone on /user/queue/echo, a /topic reaches every subscriber, a /queue
// one subscriber per message, a /user destination that user's sessions,
// and the demo chat's rooms take what /app/chat/<room> says under the
// sender's login.
func TestStomp(t *testing.T) {
	base := "http://" + start(t).at.addr

	ann, connected := dialStomp(t, base, "ann", "login:ann", "passcode:x")
	// heart-beat: what the server offers and asks for, -heartbeat's 25 s.
	if connected.command != "CONNECTED" || connected.headers["version"] != "1.2" || connected.headers["user-name"] != "ann" ||
		connected.headers["heart-beat"] != "25000,25000" {
		t.Fatalf("CONNECTED: %s %v", connected.command, connected.headers)
	}
	bob, _ := dialStomp(t, base, "bob", "login:bob")
	anon, connected := dialStomp(t, base, "anon", "accept-version:1.1")
	if connected.headers["version"] != "1.2" || connected.headers["user-name"] != "" {
		t.Fatalf("anonymous CONNECTED: %v", connected.headers)
	}

	// echo
	{
		ann.subscribe("echo", "/user/queue/echo")
		bob.subscribe("echo", "/user/queue/echo")
		// The reply comes before the RECEIPT, which follows the handler's return.
		ann.send("SEND", []string{"destination:/app/echo", "content-type:text/plain", "receipt:e1"}, "ping 1")
		ann.expect("MESSAGE", "ping 1", "destination:/user/queue/echo", "subscription:echo", "content-type:text/plain")
		ann.expect("RECEIPT", "", "receipt-id:e1")
		anon.subscribe("echo", "/user/queue/echo")
		anon.send("SEND", []string{"destination:/app/echo"}, "anonymous ping")
		anon.expect("MESSAGE", "anonymous ping", "destination:/user/queue/echo")
		bob.send("SEND", []string{"destination:/app/echo"}, "bob's")
		bob.expect("MESSAGE", "bob's") // and not to ann or anon: see the end

	}

	// topic
	{
		ann.subscribe("news", "/topic/news")
		bob.subscribe("news", "/topic/news")
		r := anon.sendTo("/topic/news", "extra")
		if r.headers["x-offset"] != "1" || r.headers["x-epoch"] == "" {
			t.Fatalf("a topic SEND's RECEIPT: %v", r.headers)
		}
		for _, c := range []*stompClient{ann, bob} {
			c.expect("MESSAGE", "extra", "destination:/topic/news", "subscription:news", "x-offset:1")
		}
	}

	// queue
	{
		ann.subscribe("jobs", "/queue/jobs")
		bob.subscribe("jobs", "/queue/jobs")
		anon.sendTo("/queue/jobs", "job 1")
		anon.sendTo("/queue/jobs", "job 2")
		a := ann.expect("MESSAGE", "*", "destination:/queue/jobs")
		b := bob.expect("MESSAGE", "*", "destination:/queue/jobs")
		if got := a.body + "," + b.body; got != "job 1,job 2" && got != "job 2,job 1" {
			t.Fatalf("queue: ann got %q and bob %q, want one job each", a.body, b.body)
		}
	}

	// user
	{
		bob.subscribe("inbox", "/user/queue/inbox")
		ann.sendTo("/user/bob/queue/inbox", "for bob")
		bob.expect("MESSAGE", "for bob", "destination:/user/queue/inbox", "subscription:inbox")
	}

	// chat
	{
		ann.subscribe("lobby", "/topic/room.lobby")
		anon.subscribe("lobby", "/topic/room.lobby")
		bob.send("SEND", []string{"destination:/app/chat/lobby"}, "hi all")
		for _, c := range []*stompClient{ann, anon} {
			c.expect("MESSAGE", `{"from":"bob","text":"hi all"}`, "destination:/topic/room.lobby", "content-type:application/json")
		}
	}

	// Nothing else reached anyone: every frame so far was expected.
	ann.quiet()
	bob.quiet()
	anon.quiet()
}

// What the STOMP service refuses: each gets an ERROR, then the close.
func TestStompRefusals(t *testing.T) {
	base := "http://" + start(t).at.addr
	for _, tc := range []struct {
		name    string
		login   []string
		dest    string
		message string
	}{
		{"chat without a login", nil, "/app/chat/lobby", "needs a login"},
		{"a room written directly", []string{"login:ann"}, "/topic/room.lobby", "send to /app/chat/<room>"},
		{"a bad room", []string{"login:ann"}, "/app/chat/Lobby!", "room name"},
		{"an unknown app destination", nil, "/app/nothing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, f := dialStomp(t, base, "c", tc.login...)
			if f.command != "CONNECTED" {
				t.Fatalf("%s %v", f.command, f.headers)
			}
			c.send("SEND", []string{"destination:" + tc.dest}, "hello")
			c.expectError(tc.message)
		})
	}
	t.Run("a bad login", func(t *testing.T) {
		c, f := dialStomp(t, base, "c", "login:not a nick")
		if f.command != "ERROR" || !strings.Contains(f.headers["message"], nickRule) {
			t.Fatalf("got %s %v, want ERROR with the nickname rule", f.command, f.headers)
		}
		for !strings.HasPrefix(c.sockjsFrame(), "c") {
		}
	})
}

// In a cluster, /stomp's topics and user destinations reach every node,
// and a topic subscription resumes on another node than the first with
// what it missed.
func TestStompCluster(t *testing.T) {
	redis := startRedis(t)
	nodes := startNodes(t, 2, "-redis", "redis://"+redis.addr)
	base := func(i int) string { return "http://" + nodes[i].addr }

	ann, _ := dialStomp(t, base(0), "ann", "login:ann")
	bob, _ := dialStomp(t, base(1), "bob", "login:bob")
	ann.subscribe("news", "/topic/news")
	ann.subscribe("inbox", "/user/queue/inbox")
	bob.sendTo("/topic/news", "one")
	bob.sendTo("/user/ann/queue/inbox", "for ann")
	// A topic and a user's queue are separate streams in the broker: one
	// publisher's order holds within each, not across them.
	got := map[string]stompFrame{}
	for range 2 {
		f := ann.expect("MESSAGE", "*")
		got[f.headers["destination"]] = f
	}
	last := got["/topic/news"]
	if last.body != "one" || got["/user/queue/inbox"].body != "for ann" {
		t.Fatalf("ann got %v, want \"one\" on /topic/news and \"for ann\" on /user/queue/inbox", got)
	}
	ann.c.Close()

	bob.sendTo("/topic/news", "two")
	bob.sendTo("/topic/news", "three")
	again, _ := dialStomp(t, base(1), "ann2", "login:ann")
	// What was missed comes first, then the RECEIPT that says so.
	again.send("SUBSCRIBE", []string{"id:news", "destination:/topic/news", "receipt:r",
		"x-offset:" + last.headers["x-offset"], "x-epoch:" + last.headers["x-epoch"]}, "")
	again.expect("MESSAGE", "two")
	again.expect("MESSAGE", "three")
	again.expect("RECEIPT", "", "receipt-id:r", "x-recovered:true")
	bob.sendTo("/topic/news", "four")
	again.expect("MESSAGE", "four")
}
