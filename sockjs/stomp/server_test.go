package stomp

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
)

// each runs f once per transport.
func each(t *testing.T, f func(t *testing.T, transport string)) {
	for _, tr := range transportNames {
		t.Run(tr, func(t *testing.T) { f(t, tr) })
	}
}

func TestConnect(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		want    []string // CONNECTED headers, or ERROR's message
		noHB    bool     // CONNECTED has no heart-beat header
		errCode int      // an ERROR then this close code
	}{
		{name: "1.2 preferred", frame: "CONNECT\naccept-version:1.0,1.1,1.2\nhost:h\n\n\x00",
			want: []string{"version", "1.2", "heart-beat", "10000,10000", "server", "sockjsd"}},
		{name: "1.1", frame: "CONNECT\naccept-version:1.1,1.0\n\n\x00", want: []string{"version", "1.1"}},
		{name: "no accept-version is 1.0", frame: "CONNECT\n\n\x00", want: []string{"version", "1.0"}, noHB: true},
		{name: "STOMP is CONNECT", frame: "STOMP\naccept-version:1.2\nhost:h\n\n\x00", want: []string{"version", "1.2"}},
		{name: "CRLF", frame: "CONNECT\r\naccept-version:1.2\r\n\r\n\x00", want: []string{"version", "1.2"}},
		{name: "no common version", frame: "CONNECT\naccept-version:2.0\n\n\x00",
			want: []string{"version", "1.0,1.1,1.2"}, errCode: CodeProtocolError},
		{name: "bad heart-beat", frame: "CONNECT\naccept-version:1.2\nheart-beat:x\n\n\x00", errCode: CodeProtocolError},
		{name: "SEND first", frame: "SEND\ndestination:/topic/a\n\n\x00", errCode: CodeProtocolError},
		{name: "garbage", frame: "hello\x00", errCode: CodeProtocolError},
	}
	each(t, func(t *testing.T, tr string) {
		url := serveStomp(t, New("", nil))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := dial(t, url, tr)
				c.sendRaw(tt.frame)
				if tt.errCode != 0 {
					f := c.expect(cmdError, tt.want...)
					if f.Get("message") == "" || f.Body == "" {
						t.Errorf("ERROR without a message or body: %q %q", f.Headers, f.Body)
					}
					c.expectClose(tt.errCode)
					return
				}
				f := c.expect(cmdConnected, tt.want...)
				if _, ok := f.Lookup("heart-beat"); ok == tt.noHB {
					t.Errorf("heart-beat header present: %v, want %v", ok, !tt.noHB)
				}
				if _, ok := f.Lookup("user-name"); ok {
					t.Errorf("anonymous CONNECTED has user-name")
				}
				// A second CONNECT is an error.
				c.sendRaw(tt.frame)
				c.expectError("already connected", CodeProtocolError)
			})
		}
	})
}

func TestAuthentication(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		srv := New("", &Options{Authenticate: func(s *sockjs.Session, f *Frame) (string, error) {
			switch {
			case f.Get("login") == "ann" && f.Get("passcode") == "secret":
				return "ann", nil
			case f.Get("token") == "t-bob":
				return "bob", nil
			case f.Get("login") == "eve":
				return "", &Error{"eve is banned"}
			}
			return "", errors.New("no such user")
		}})
		url := serveStomp(t, srv)
		dial(t, url, tr).connect("login", "ann", "passcode", "secret").expectOK(t, cmdConnected, "user-name", "ann")
		dial(t, url, tr).connect("token", "t-bob").expectOK(t, cmdConnected, "user-name", "bob")
		c := dial(t, url, tr)
		c.connect("login", "ann", "passcode", "wrong").expectOK(t, cmdError, "message", "Unauthorized")
		c.expectClose(sockjs.CodeUnauthorized)
		c = dial(t, url, tr)
		c.connect("login", "eve").expectOK(t, cmdError, "message", "eve is banned")
		c.expectClose(sockjs.CodeUnauthorized)
	})
}

// expectOK checks a frame already read.
func (f Frame) expectOK(t *testing.T, cmd string, kv ...string) {
	t.Helper()
	if f.Command != cmd {
		t.Fatalf("got %s %q %q, want %s", f.Command, f.Headers, f.Body, cmd)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if got := f.Get(kv[i]); got != kv[i+1] {
			t.Fatalf("%s header %s = %q, want %q", cmd, kv[i], got, kv[i+1])
		}
	}
}

func TestSockJSIdentity(t *testing.T) {
	// Without an Authenticate of its own, the endpoint takes the user
	// sockjs.Options.Authenticate found in the opening request.
	srv := New("", &Options{SockJS: &sockjs.Options{Authenticate: func(r *http.Request) (sockjs.Identity, error) {
		if r.Header.Get("Origin") == "https://evil.example" {
			return sockjs.Identity{}, errors.New("no")
		}
		return sockjs.Identity{User: "cookie-user"}, nil
	}}})
	url := serveStomp(t, srv)
	each(t, func(t *testing.T, tr string) {
		dial(t, url, tr).connect().expectOK(t, cmdConnected, "user-name", "cookie-user")
	})
}

func TestReceipts(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		url := serveStomp(t, New("", nil))
		c := dial(t, url, tr)
		c.connect()
		steps := [][]string{
			{cmdSubscribe, "id", "0", "destination", "/topic/a"},
			{cmdSubscribe, "id", "1", "destination", "/queue/a", "ack", "client"},
			{cmdBegin, "transaction", "tx"},
			{cmdSend, "destination", "/topic/b", "transaction", "tx"},
			{cmdAbort, "transaction", "tx"},
			{cmdUnsubscribe, "id", "0"},
			{cmdUnsubscribe, "id", "never"},
		}
		for i, s := range steps {
			r := "r" + strconv.Itoa(i)
			c.frame(s[0], "", append(s[1:], "receipt", r)...)
			c.expect(cmdReceipt, "receipt-id", r)
		}
		c.frame(cmdSend, "x", "destination", "/topic/a", "receipt", "r-send")
		c.expect(cmdReceipt, "receipt-id", "r-send")
		c.frame(cmdDisconnect, "", "receipt", "bye")
		c.expect(cmdReceipt, "receipt-id", "bye")
		c.expectClose(sockjs.CodeNormal)
	})
}

func TestTopic(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		url := serveStomp(t, New("", nil))
		a, b, p := dial(t, url, tr), dial(t, url, tr), dial(t, url, tr)
		for _, c := range []*client{a, b, p} {
			c.connect()
		}
		a.frame(cmdSubscribe, "", "id", "sa", "destination", "/topic/news", "receipt", "1")
		a.expect(cmdReceipt)
		b.frame(cmdSubscribe, "", "id", "sb", "destination", "/topic/news", "receipt", "1")
		b.expect(cmdReceipt)
		body := `{"text":"héllo\u0000"}`
		p.frame(cmdSend, body, "destination", "/topic/news", "content-type", "application/json", "x-app", "a:b", "receipt", "sent")
		p.expect(cmdReceipt, "receipt-id", "sent")
		var offsets []string
		for _, c := range []struct {
			cl  *client
			sub string
		}{{a, "sa"}, {b, "sb"}} {
			f := c.cl.expect(cmdMessage, "destination", "/topic/news", "subscription", c.sub,
				"content-type", "application/json", "x-app", "a:b", "content-length", strconv.Itoa(len(body)))
			if f.Body != body {
				t.Errorf("body %q, want %q", f.Body, body)
			}
			for _, h := range []string{"message-id", hdrOffset, hdrEpoch} {
				if f.Get(h) == "" {
					t.Errorf("MESSAGE without %s: %q", h, f.Headers)
				}
			}
			if _, ok := f.Lookup("receipt"); ok {
				t.Errorf("the SEND's receipt header passed on")
			}
			if _, ok := f.Lookup("ack"); ok {
				t.Errorf("ack header in auto mode")
			}
			offsets = append(offsets, f.Get(hdrOffset))
		}
		if offsets[0] != offsets[1] {
			t.Errorf("offsets differ: %v", offsets)
		}
		// After UNSUBSCRIBE, a gets nothing; b still does.
		a.frame(cmdUnsubscribe, "", "id", "sa", "receipt", "u")
		a.expect(cmdReceipt, "receipt-id", "u")
		p.frame(cmdSend, "2", "destination", "/topic/news")
		b.expect(cmdMessage, "subscription", "sb")
		a.frame(cmdSend, "ping", "destination", "/topic/other", "receipt", "p")
		a.expect(cmdReceipt, "receipt-id", "p") // not a MESSAGE of /topic/news
	})
}

func TestQueue(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		url := serveStomp(t, New("", nil))
		p := dial(t, url, tr)
		p.connect()
		// Messages wait for a consumer.
		for i := range 4 {
			p.frame(cmdSend, strconv.Itoa(i), "destination", "/queue/jobs")
		}
		p.frame(cmdSend, "", "destination", "/queue/other", "receipt", "sent")
		p.expect(cmdReceipt)

		a := dial(t, url, tr)
		a.connect()
		a.frame(cmdSubscribe, "", "id", "0", "destination", "/queue/jobs", "ack", "client-individual", "prefetch-count", "2")
		m0 := a.expect(cmdMessage, "destination", "/queue/jobs", "subscription", "0")
		m1 := a.expect(cmdMessage)
		if m0.Body != "0" || m1.Body != "1" || m0.Get("ack") == "" {
			t.Fatalf("got %q %q (ack %q)", m0.Body, m1.Body, m0.Get("ack"))
		}
		// Two unacked: prefetch holds the rest back until an ack.
		a.frame(cmdAck, "", "id", m1.Get("ack"), "receipt", "ack1")
		m2 := a.expect(cmdMessage) // handed out as the ack made room
		if m2.Body != "2" {
			t.Fatalf("after the ack got %q, want 2", m2.Body)
		}
		a.expect(cmdReceipt, "receipt-id", "ack1")
		// A second consumer: a NACKed message goes to it.
		b := dial(t, url, tr)
		b.connect()
		b.frame(cmdSubscribe, "", "id", "0", "destination", "/queue/jobs", "ack", "client", "receipt", "s")
		got := b.expect(cmdMessage) // message 3, which a had no room for
		if got.Body != "3" {
			t.Fatalf("b got %q first, want 3", got.Body)
		}
		b.expect(cmdReceipt, "receipt-id", "s")
		a.frame(cmdNack, "", "id", m0.Get("ack"))
		re := b.expect(cmdMessage, "redelivered", "true")
		if re.Body != "0" {
			t.Fatalf("redelivered %q, want 0", re.Body)
		}
		// a ends with message 2 unacked: b gets it.
		a.frame(cmdDisconnect, "", "receipt", "bye")
		a.expect(cmdReceipt)
		re = b.expect(cmdMessage, "redelivered", "true")
		if re.Body != "2" {
			t.Fatalf("after a left, b got %q, want 2", re.Body)
		}
		// Cumulative ack in client mode settles all three; b's end then
		// gives nothing back.
		b.frame(cmdAck, "", "id", re.Get("ack"), "receipt", "all")
		b.expect(cmdReceipt)
		b.frame(cmdAck, "", "id", got.Get("ack"))
		b.expectError("unknown id", CodeProtocolError)
		c := dial(t, url, tr)
		c.connect()
		c.frame(cmdSubscribe, "", "id", "0", "destination", "/queue/jobs")
		p.frame(cmdSend, "last", "destination", "/queue/jobs")
		if f := c.expect(cmdMessage); f.Body != "last" {
			t.Fatalf("got %q, want last (and nothing acked before)", f.Body)
		}
	})
}

func TestQueueTakesTurns(t *testing.T) {
	url := serveStomp(t, New("", nil))
	p := dial(t, url, "websocket")
	p.connect()
	var cs []*client
	for i := range 3 {
		c := dial(t, url, "websocket")
		c.connect()
		c.frame(cmdSubscribe, "", "id", strconv.Itoa(i), "destination", "/queue/work", "receipt", "s")
		c.expect(cmdReceipt)
		cs = append(cs, c)
	}
	for i := range 9 {
		p.frame(cmdSend, strconv.Itoa(i), "destination", "/queue/work")
	}
	seen := map[string]bool{}
	for _, c := range cs {
		for range 3 {
			f := c.expect(cmdMessage)
			if seen[f.Body] {
				t.Fatalf("message %s delivered twice", f.Body)
			}
			seen[f.Body] = true
		}
	}
}

func TestUserDestinations(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		srv := New("", &Options{Authenticate: func(_ *sockjs.Session, f *Frame) (string, error) {
			return f.Get("login"), nil
		}})
		url := serveStomp(t, srv)
		var ann []*client
		for range 2 {
			c := dial(t, url, tr)
			c.connect("login", "ann")
			c.frame(cmdSubscribe, "", "id", "u", "destination", "/user/queue/reply", "receipt", "s")
			c.expect(cmdReceipt)
			ann = append(ann, c)
		}
		bob := dial(t, url, tr)
		bob.connect("login", "bob")
		bob.frame(cmdSubscribe, "", "id", "u", "destination", "/user/queue/reply", "receipt", "s")
		bob.expect(cmdReceipt)
		bob.frame(cmdSend, "hi ann", "destination", "/user/ann/queue/reply")
		for _, c := range ann {
			if f := c.expect(cmdMessage, "destination", "/user/queue/reply", "subscription", "u"); f.Body != "hi ann" {
				t.Fatalf("got %q", f.Body)
			}
		}
		if err := srv.SendToUser(t.Context(), "bob", "/queue/reply", "from the server"); err != nil {
			t.Fatal(err)
		}
		if f := bob.expect(cmdMessage, "destination", "/user/queue/reply"); f.Body != "from the server" {
			t.Fatalf("got %q", f.Body)
		}
		// A name with a slash cannot reach another user's topic.
		if err := srv.SendToUser(t.Context(), "ann/queue", "/queue/reply", "x"); err != nil {
			t.Fatal(err)
		}
		bob.frame(cmdSend, "", "destination", "/user/ann/nowhere")
		bob.expectError("a user destination names a topic or a queue", CodeProtocolError)
		ann[0].frame(cmdSend, "", "destination", "/topic/x", "receipt", "r")
		ann[0].expect(cmdReceipt) // and no stray MESSAGE before it
	})
}

func TestApplication(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		srv := New("", nil)
		srv.Handle("/chat/{room}", func(m *Message) error {
			if m.Body == "" {
				return &Error{"empty message"}
			}
			if err := m.Reply("/user/queue/ack", "got "+m.Body, Header{"room", m.Param("room")}); err != nil {
				return err
			}
			return m.Publish("/topic/chat."+m.Param("room"), m.User()+": "+m.Body, Header{"content-type", m.Get("content-type")})
		})
		srv.Handle("/chat/lobby", func(m *Message) error { return m.Reply("/user/queue/ack", "lobby") })
		srv.Handle("/fail", func(m *Message) error { return errors.New("database down") })
		url := serveStomp(t, srv)
		a, b := dial(t, url, tr), dial(t, url, tr)
		for _, c := range []*client{a, b} {
			c.connect()
			c.frame(cmdSubscribe, "", "id", "ack", "destination", "/user/queue/ack")
			c.frame(cmdSubscribe, "", "id", "room", "destination", "/topic/chat.42", "receipt", "s")
			c.expect(cmdReceipt)
		}
		a.frame(cmdSend, "hello", "destination", "/app/chat/42", "content-type", "text/plain", "receipt", "done")
		a.expect(cmdMessage, "subscription", "ack", "room", "42", "destination", "/user/queue/ack")
		a.expect(cmdMessage, "subscription", "room", "content-type", "text/plain")
		a.expect(cmdReceipt, "receipt-id", "done")
		// b gets the broadcast, not a's reply.
		if f := b.expect(cmdMessage, "subscription", "room"); f.Body != ": hello" {
			t.Fatalf("b got %q", f.Body)
		}
		// Literal segments win over parameters.
		b.frame(cmdSend, "x", "destination", "/app/chat/lobby")
		if f := b.expect(cmdMessage, "subscription", "ack"); f.Body != "lobby" {
			t.Fatalf("got %q", f.Body)
		}
		b.frame(cmdSend, "", "destination", "/app/chat/42")
		b.expectError("empty message", CodeProtocolError)
		a.frame(cmdSend, "x", "destination", "/app/fail")
		a.expectError("Internal server error", sockjs.CodeInternalError)
		c := dial(t, url, tr)
		c.connect()
		c.frame(cmdSend, "x", "destination", "/app/none")
		c.expectError("no handler for /app/none", CodeProtocolError)
	})
}

func TestSubscribeHandler(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		srv := New("", nil)
		srv.HandleSubscribe("/rooms/{room}/state", func(m *Message) error {
			return m.Reply(m.Destination, "state of "+m.Param("room"), Header{"content-type", "application/json"})
		})
		srv.Handle("/rooms/{room}/poke", func(m *Message) error {
			return m.Reply("/app/rooms/"+m.Param("room")+"/state", "poked")
		})
		url := serveStomp(t, srv)
		c := dial(t, url, tr)
		c.connect()
		c.frame(cmdSubscribe, "", "id", "st", "destination", "/app/rooms/7/state", "receipt", "s")
		if f := c.expect(cmdMessage, "subscription", "st", "destination", "/app/rooms/7/state", "content-type", "application/json"); f.Body != "state of 7" {
			t.Fatalf("got %q", f.Body)
		}
		c.expect(cmdReceipt, "receipt-id", "s")
		c.frame(cmdSend, "", "destination", "/app/rooms/7/poke")
		if f := c.expect(cmdMessage, "subscription", "st"); f.Body != "poked" {
			t.Fatalf("got %q", f.Body)
		}
		c.frame(cmdUnsubscribe, "", "id", "st")
		c.frame(cmdSend, "", "destination", "/app/rooms/7/poke", "receipt", "p")
		c.expect(cmdReceipt, "receipt-id", "p") // no MESSAGE: unsubscribed
	})
}

func TestResume(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		srv := New("", nil)
		url := serveStomp(t, srv)
		send := func(body string) {
			if err := srv.Publish(t.Context(), "/topic/feed", body); err != nil {
				t.Fatal(err)
			}
		}
		c := dial(t, url, tr)
		c.connect()
		c.frame(cmdSubscribe, "", "id", "f", "destination", "/topic/feed", "receipt", "s")
		c.expect(cmdReceipt)
		send("1")
		send("2")
		c.expect(cmdMessage)
		last := c.expect(cmdMessage)
		off, epoch := last.Get(hdrOffset), last.Get(hdrEpoch)
		c.conn.close()
		send("3")
		send("4")

		d := dial(t, url, tr)
		d.connect()
		d.frame(cmdSubscribe, "", "id", "f", "destination", "/topic/feed", hdrOffset, off, hdrEpoch, epoch, "receipt", "s")
		for _, want := range []string{"3", "4"} {
			if f := d.expect(cmdMessage, hdrEpoch, epoch); f.Body != want {
				t.Fatalf("resumed with %q, want %q", f.Body, want)
			}
		}
		d.expect(cmdReceipt, hdrRecovered, "true")
		send("5")
		if f := d.expect(cmdMessage); f.Body != "5" {
			t.Fatalf("then %q, want 5", f.Body)
		}
		// A position of another epoch cannot be resumed: live only.
		e := dial(t, url, tr)
		e.connect()
		e.frame(cmdSubscribe, "", "id", "f", "destination", "/topic/feed", hdrOffset, "1", hdrEpoch, "other", "receipt", "s")
		e.expect(cmdReceipt, hdrRecovered, "false")
		send("6")
		if f := e.expect(cmdMessage); f.Body != "6" {
			t.Fatalf("got %q, want 6", f.Body)
		}
		// x-offset alone: the current epoch; 0 means all that is kept.
		g := dial(t, url, tr)
		g.connect()
		g.frame(cmdSubscribe, "", "id", "f", "destination", "/topic/feed", hdrOffset, "4", "receipt", "s")
		for _, want := range []string{"5", "6"} {
			if f := g.expect(cmdMessage); f.Body != want {
				t.Fatalf("got %q, want %q", f.Body, want)
			}
		}
		g.expect(cmdReceipt, hdrRecovered, "true")
	})
}

func TestTransactions(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		url := serveStomp(t, New("", nil))
		c := dial(t, url, tr)
		c.connect()
		c.frame(cmdSubscribe, "", "id", "0", "destination", "/topic/t", "receipt", "s")
		c.expect(cmdReceipt)
		c.frame(cmdBegin, "", "transaction", "a")
		c.frame(cmdBegin, "", "transaction", "b")
		c.frame(cmdSend, "a1", "destination", "/topic/t", "transaction", "a")
		c.frame(cmdSend, "b1", "destination", "/topic/t", "transaction", "b")
		c.frame(cmdSend, "a2", "destination", "/topic/t", "transaction", "a")
		c.frame(cmdAbort, "", "transaction", "b")
		c.frame(cmdSend, "now", "destination", "/topic/t")
		c.frame(cmdCommit, "", "transaction", "a", "receipt", "c")
		for _, want := range []string{"now", "a1", "a2"} {
			if f := c.expect(cmdMessage); f.Body != want {
				t.Fatalf("got %q, want %q", f.Body, want)
			}
		}
		c.expect(cmdReceipt, "receipt-id", "c")
		c.frame(cmdCommit, "", "transaction", "a")
		c.expectError("unknown transaction", CodeProtocolError)
	})
}

func TestAuthorize(t *testing.T) {
	srv := New("", &Options{Authorize: func(s *Session, cmd, dest string) error {
		if strings.HasPrefix(dest, "/topic/admin") {
			return errors.New("no")
		}
		if cmd == cmdSend && dest == "/topic/readonly" {
			return &Error{"read only"}
		}
		return nil
	}})
	url := serveStomp(t, srv)
	each(t, func(t *testing.T, tr string) {
		c := dial(t, url, tr)
		c.connect()
		c.frame(cmdSubscribe, "", "id", "0", "destination", "/topic/readonly", "receipt", "ok")
		c.expect(cmdReceipt)
		c.frame(cmdSend, "", "destination", "/topic/readonly", "receipt", "r")
		if f := c.expectError("read only", CodeForbidden); f.Get("receipt-id") != "r" {
			t.Errorf("ERROR receipt-id %q, want r", f.Get("receipt-id"))
		}
		c = dial(t, url, tr)
		c.connect()
		c.frame(cmdSubscribe, "", "id", "0", "destination", "/topic/admin")
		c.expectError("Forbidden: SUBSCRIBE to /topic/admin", CodeForbidden)
	})
}

func TestBadInput(t *testing.T) {
	srv := New("", &Options{MaxFrameSize: 1024})
	url := serveStomp(t, srv)
	tests := []struct {
		name string
		v    string // accept-version
		in   []string
		msg  string
	}{
		{"unknown command", "1.2", []string{"HELLO\n\n\x00"}, `unknown command "HELLO"`},
		{"header without colon", "1.2", []string{"SEND\ndestination\n\n\x00"}, "header line without a colon"},
		{"undefined escape", "1.2", []string{"SEND\ndestination:/topic/\\t\n\n\x00"}, "undefined escape"},
		{"bad content-length", "1.2", []string{"SEND\ncontent-length:x\n\n\x00"}, "bad content-length"},
		{"frame over the limit in one message", "1.2", []string{"SEND\ndestination:/topic/a\n\n" + strings.Repeat("x", 2000) + "\x00"}, "frame too large"},
		{"frame over the limit in pieces", "1.2", []string{"SEND\ndestination:/topic/a\n\n", strings.Repeat("x", 600), strings.Repeat("x", 600)}, "frame too large"},
		{"content-length over the limit", "1.2", []string{"SEND\ncontent-length:5000\n\n"}, "frame too large"},
		{"SUBSCRIBE without id", "1.2", []string{"SUBSCRIBE\ndestination:/topic/a\n\n\x00"}, "SUBSCRIBE without an id"},
		{"SUBSCRIBE without destination", "1.2", []string{"SUBSCRIBE\nid:1\n\n\x00"}, "SUBSCRIBE without a destination"},
		{"SUBSCRIBE id twice", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\x00SUBSCRIBE\nid:1\ndestination:/topic/b\n\n\x00"}, "already in use"},
		{"unknown ack mode", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/topic/a\nack:never\n\n\x00"}, "unknown ack mode"},
		{"unknown destination", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/elsewhere\n\n\x00"}, "unknown destination"},
		{"subscribe to the application", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/app/x\n\n\x00"}, "no subscription handler for /app/x"},
		{"invalid destination", "1.2", []string{"SEND\ndestination:topic\n\n\x00"}, "invalid destination"},
		{"SEND without destination", "1.2", []string{"SEND\n\nx\x00"}, "SEND without a destination"},
		{"ACK of an unknown id", "1.2", []string{"ACK\nid:99-1\n\n\x00"}, "unknown id"},
		{"ACK of a malformed id", "1.2", []string{"ACK\nid:abc\n\n\x00"}, "unknown id"},
		{"ACK without id", "1.2", []string{"ACK\n\n\x00"}, "ACK without id"},
		{"ACK in auto mode", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\x00ACK\nid:1-1\n\n\x00"}, "ack mode auto"},
		{"ACK of a topic message never sent", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/topic/a\nack:client\n\n\x00ACK\nid:1-5\n\n\x00"}, "unknown id"},
		{"NACK in 1.0", "1.0", []string{"NACK\nmessage-id:1-1\n\n\x00"}, "NACK is not in STOMP 1.0"},
		{"1.1 ACK names message-id", "1.1", []string{"ACK\nid:1-1\n\n\x00"}, "ACK without message-id"},
		{"1.1 has no \\r escape", "1.1", []string{"SEND\ndestination:/topic/a\\r\n\n\x00"}, "undefined escape"},
		{"COMMIT of nothing", "1.2", []string{"COMMIT\ntransaction:t\n\n\x00"}, "unknown transaction"},
		{"BEGIN without a name", "1.2", []string{"BEGIN\n\n\x00"}, "without a transaction header"},
		{"SEND in an unknown transaction", "1.2", []string{"SEND\ndestination:/topic/a\ntransaction:t\n\n\x00"}, "unknown transaction"},
		{"prefetch-count malformed", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/queue/a\nprefetch-count:-1\n\n\x00"}, "prefetch-count"},
		{"x-offset malformed", "1.2", []string{"SUBSCRIBE\nid:1\ndestination:/topic/a\nx-offset:x\n\n\x00"}, "x-offset"},
	}
	each(t, func(t *testing.T, tr string) {
		// A bystander session keeps working through all of it.
		by := dial(t, url, tr)
		by.connect()
		by.frame(cmdSubscribe, "", "id", "0", "destination", "/topic/by", "receipt", "s")
		by.expect(cmdReceipt)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := dial(t, url, tr)
				c.connect("accept-version", tt.v)
				c.sendRaw(tt.in...)
				c.expectError(tt.msg, CodeProtocolError)
				if err := srv.Publish(t.Context(), "/topic/by", strconv.Itoa(i)); err != nil {
					t.Fatal(err)
				}
				if f := by.expect(cmdMessage); f.Body != strconv.Itoa(i) {
					t.Fatalf("bystander got %q", f.Body)
				}
			})
		}
	})
}

func TestSplitAndBatchedFrames(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		url := serveStomp(t, New("", nil))
		c := dial(t, url, tr)
		c.connect("accept-version", "1.1,1.2", "heart-beat", "0,0")
		sub := "SUBSCRIBE\nid:0\ndestination:/topic/s\nreceipt:s\n\n\x00"
		c.sendRaw(sub[:7], sub[7:20], sub[20:])
		c.expect(cmdReceipt, "receipt-id", "s")
		big := strings.Repeat("é", 10000) // 20000 bytes, sent in 8 KiB pieces as stompjs does
		frame := "SEND\ndestination:/topic/s\ncontent-length:" + strconv.Itoa(len(big)) + "\n\n" + big + "\x00"
		var pieces []string
		for s := frame; s != ""; {
			n := min(8192, len(s))
			for n < len(s) && (s[n]&0xc0) == 0x80 { // SockJS carries text: cut between characters
				n++
			}
			pieces = append(pieces, s[:n])
			s = s[n:]
		}
		c.sendRaw(pieces...)
		if f := c.expect(cmdMessage); f.Body != big {
			t.Fatalf("body of %d bytes, want %d", len(f.Body), len(big))
		}
		// Several frames and heart-beats in one message.
		c.sendRaw("\nSEND\ndestination:/topic/s\n\na\x00\n\nSEND\ndestination:/topic/s\n\nb\x00\n")
		for _, want := range []string{"a", "b"} {
			if f := c.expect(cmdMessage); f.Body != want {
				t.Fatalf("got %q, want %q", f.Body, want)
			}
		}
	})
}

func TestHeartbeats(t *testing.T) {
	each(t, func(t *testing.T, tr string) {
		srv := New("", &Options{HeartbeatSend: 20 * time.Millisecond, HeartbeatExpect: 30 * time.Millisecond})
		url := serveStomp(t, srv)
		c := dial(t, url, tr)
		c.connect("heart-beat", "0,10").expectOK(t, cmdConnected, "heart-beat", "20,30")
		// The server sends an EOL as its own message when it has nothing
		// else to send.
		if m, ok := c.message(); !ok || m != "\n" {
			t.Fatalf("got %q, %v; want a heart-beat", m, ok)
		}
		// A client that promised heart-beats and sends none is dropped.
		d := dial(t, url, tr)
		d.connect("heart-beat", "10,0").expectOK(t, cmdConnected)
		d.expectClose(sockjs.CodeTimedOut)
	})
}

func TestAckByVersion(t *testing.T) {
	tests := []struct {
		version string
		ackMode string
		ack     func(m Frame) []string // the ACK's headers
	}{
		{"1.2", "client-individual", func(m Frame) []string { return []string{"id", m.Get("ack")} }},
		{"1.1", "client-individual", func(m Frame) []string {
			return []string{"message-id", m.Get("message-id"), "subscription", m.Get("subscription")}
		}},
		{"1.0", "client", func(m Frame) []string { return []string{"message-id", m.Get("message-id")} }},
	}
	url := serveStomp(t, New("", nil))
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			q := "/queue/v" + tt.version
			c := dial(t, url, "websocket")
			c.connect("accept-version", tt.version).expectOK(t, cmdConnected, "version", tt.version)
			c.frame(cmdSubscribe, "", "id", "s", "destination", q, "ack", tt.ackMode)
			c.frame(cmdSend, "one", "destination", q)
			m := c.expect(cmdMessage, "subscription", "s")
			if _, ok := m.Lookup("ack"); ok != (tt.version == "1.2") {
				t.Errorf("ack header present: %v", ok)
			}
			c.frame(cmdAck, "", append(tt.ack(m), "receipt", "a")...)
			c.expect(cmdReceipt, "receipt-id", "a")
			// Acked: a new consumer after this one's end gets nothing back.
			c.frame(cmdDisconnect, "", "receipt", "bye")
			c.expect(cmdReceipt)
			d := dial(t, url, "websocket")
			d.connect()
			d.frame(cmdSubscribe, "", "id", "s", "destination", q)
			d.frame(cmdSend, "two", "destination", q)
			if f := d.expect(cmdMessage); f.Body != "two" {
				t.Fatalf("got %q: the acked message came back", f.Body)
			}
		})
	}
}

func TestSendReceiptPosition(t *testing.T) {
	url := serveStomp(t, New("", nil))
	c := dial(t, url, "websocket")
	c.connect()
	c.frame(cmdSubscribe, "", "id", "s", "destination", "/topic/p", "receipt", "s")
	c.expect(cmdReceipt)
	c.frame(cmdSend, "x", "destination", "/topic/p", "receipt", "p")
	m := c.expect(cmdMessage)
	c.expect(cmdReceipt, "receipt-id", "p", hdrOffset, m.Get(hdrOffset), hdrEpoch, m.Get(hdrEpoch))
	c.frame(cmdSend, "x", "destination", "/queue/p", "receipt", "q")
	if r := c.expect(cmdReceipt); r.Get(hdrOffset) != "" {
		t.Errorf("a queue SEND's RECEIPT has an offset: %q", r.Headers)
	}
}

func TestTopicManyPublishers(t *testing.T) {
	url := serveStomp(t, New("", nil))
	const pubs, each, subs = 6, 30, 4
	var readers []*client
	for range subs {
		c := dial(t, url, "websocket")
		c.connect()
		c.frame(cmdSubscribe, "", "id", "0", "destination", "/topic/load", "receipt", "s")
		c.expect(cmdReceipt)
		readers = append(readers, c)
	}
	var wg sync.WaitGroup
	for p := range pubs {
		c := dial(t, url, "websocket")
		c.connect()
		wg.Go(func() {
			for i := range each {
				if err := c.conn.send(string(appendFrame(nil, v12, &Frame{Command: cmdSend,
					Headers: hs("destination", "/topic/load"), Body: fmt.Sprintf("%d/%d", p, i)}))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, r := range readers {
		next := make([]int, pubs)
		var offset uint64
		for range pubs * each {
			f := r.expect(cmdMessage)
			var p, i int
			if _, err := fmt.Sscanf(f.Body, "%d/%d", &p, &i); err != nil || i != next[p] {
				t.Fatalf("got %q, want message %d of publisher %d", f.Body, next[p], p)
			}
			next[p]++
			o, _ := strconv.ParseUint(f.Get(hdrOffset), 10, 64)
			if o != offset+1 {
				t.Fatalf("offset %d after %d", o, offset)
			}
			offset = o
		}
	}
}

func TestShutdown(t *testing.T) {
	srv := New("", nil)
	url := serveStomp(t, srv)
	c := dial(t, url, "websocket")
	c.connect()
	c.frame(cmdSubscribe, "", "id", "0", "destination", "/queue/s", "ack", "client", "receipt", "s")
	c.expect(cmdReceipt)
	if err := srv.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.expectClose(sockjs.CodeGoingAway)
}
