package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
)

// chatServer serves the chat service as run does, and returns its URL.
func chatServer(t *testing.T) string {
	t.Helper()
	var svc service
	for _, s := range services() {
		if s.name == "chat" {
			svc = s
		}
	}
	if svc.handler == nil {
		t.Fatal("no chat service in services()")
	}
	srv := svc.newServer(&sockjs.Options{})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})
	return ts.URL
}

// chatter is the far end of a raw websocket chat session.
type chatter struct {
	t    *testing.T
	nick string
	c    *websocket.Conn
}

// join opens a chat session for nick and reads its welcome.
func join(t *testing.T, base, nick string) *chatter {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/chat/websocket?nick=" + url.QueryEscape(nick)
	c, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", nick, err)
	}
	t.Cleanup(func() { c.Close() })
	ch := &chatter{t, nick, c}
	ch.expect(reply{Type: "welcome", User: nick, Rooms: defaultRooms})
	return ch
}

func (ch *chatter) send(r request) {
	ch.t.Helper()
	b, _ := json.Marshal(r)
	ch.sendRaw(string(b))
}

func (ch *chatter) sendRaw(msg string) {
	ch.t.Helper()
	if err := ch.c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		ch.t.Fatalf("%s: write: %v", ch.nick, err)
	}
}

func (ch *chatter) read() string {
	ch.t.Helper()
	_ = ch.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := ch.c.ReadMessage()
	if err != nil {
		ch.t.Fatalf("%s: read: %v", ch.nick, err)
	}
	return string(p)
}

// expect reads the next messages and fails unless they are want, byte
// for byte.
func (ch *chatter) expect(want ...reply) {
	ch.t.Helper()
	for _, w := range want {
		if got := ch.read(); got != w.String() {
			ch.t.Fatalf("%s got  %s\nwant %s", ch.nick, got, w)
		}
	}
}

// quiet fails unless the next message is the answer to a probe sent now:
// nothing else was queued for ch before it.
func (ch *chatter) quiet() {
	ch.t.Helper()
	ch.sendRaw(`{"type":"probe"}`)
	ch.expect(reply{Type: "error", Error: `unknown type "probe": join, leave, say or private`})
}

func presenceOf(room, user string, joined bool, sessions int) reply {
	return reply{Type: "presence", Room: room, User: user, Joined: &joined, Sessions: &sessions}
}

func joinedReply(room string, members ...chatMember) reply {
	return reply{Type: "joined", Room: room, Members: members}
}

func said(room, from, text, id string) reply {
	return reply{Type: "message", Room: room, From: from, Text: text, ID: id}
}

func TestChatRoomsAndPresence(t *testing.T) {
	base := chatServer(t)
	ann := join(t, base, "ann")
	ann.send(request{Type: "join", Room: "lobby"})
	ann.expect(presenceOf("lobby", "ann", true, 1), joinedReply("lobby", chatMember{"ann", 1}))

	bob := join(t, base, "bob")
	bob.send(request{Type: "join", Room: "lobby"})
	bob.expect(presenceOf("lobby", "bob", true, 1), joinedReply("lobby", chatMember{"ann", 1}, chatMember{"bob", 1}))
	ann.expect(presenceOf("lobby", "bob", true, 1))

	// A second tab of bob's: a session more, not a new user.
	bob2 := join(t, base, "bob")
	bob2.send(request{Type: "join", Room: "lobby"})
	bob2.expect(presenceOf("lobby", "bob", true, 2), joinedReply("lobby", chatMember{"ann", 1}, chatMember{"bob", 2}))
	ann.expect(presenceOf("lobby", "bob", true, 2))
	bob.expect(presenceOf("lobby", "bob", true, 2))

	// What is said reaches everyone in the room, the sayer too, with its id.
	bob.send(request{Type: "say", Room: "lobby", Text: "hi <ann> 😀", ID: "b1"})
	for _, ch := range []*chatter{ann, bob, bob2} {
		ch.expect(said("lobby", "bob", "hi <ann> 😀", "b1"))
	}

	// Only the room's members hear it.
	cid := join(t, base, "cid")
	cid.send(request{Type: "join", Room: "random"})
	cid.expect(presenceOf("random", "cid", true, 1), joinedReply("random", chatMember{"cid", 1}))
	ann.send(request{Type: "say", Room: "lobby", Text: "lobby only"})
	for _, ch := range []*chatter{ann, bob, bob2} {
		ch.expect(said("lobby", "ann", "lobby only", ""))
	}
	cid.quiet()

	// Leaving: a tab closing leaves bob there; the last one is bob gone.
	bob2.c.Close()
	ann.expect(presenceOf("lobby", "bob", false, 1))
	bob.expect(presenceOf("lobby", "bob", false, 1))
	bob.send(request{Type: "leave", Room: "lobby"})
	bob.expect(presenceOf("lobby", "bob", false, 0), reply{Type: "left", Room: "lobby"})
	ann.expect(presenceOf("lobby", "bob", false, 0))
	ann.send(request{Type: "say", Room: "lobby", Text: "alone"})
	ann.expect(said("lobby", "ann", "alone", ""))
	bob.quiet()
}

// Who joins later gets the room's last historySize messages, oldest first,
// before the join is done; presence notices are not among them.
func TestChatHistoryOnJoin(t *testing.T) {
	base := chatServer(t)
	ann := join(t, base, "ann")
	ann.send(request{Type: "join", Room: "help"})
	ann.expect(presenceOf("help", "ann", true, 1), joinedReply("help", chatMember{"ann", 1}))
	const n = historySize + 5
	for i := range n {
		ann.send(request{Type: "say", Room: "help", Text: fmt.Sprint("m", i)})
		ann.expect(said("help", "ann", fmt.Sprint("m", i), ""))
	}
	bob := join(t, base, "bob")
	bob.send(request{Type: "join", Room: "help"})
	for i := n - historySize; i < n; i++ {
		bob.expect(said("help", "ann", fmt.Sprint("m", i), ""))
	}
	bob.expect(presenceOf("help", "bob", true, 1), joinedReply("help", chatMember{"ann", 1}, chatMember{"bob", 1}))
	// And then the live ones.
	ann.expect(presenceOf("help", "bob", true, 1))
	ann.send(request{Type: "say", Room: "help", Text: "live"})
	bob.expect(said("help", "ann", "live", ""))
}

func TestChatPrivate(t *testing.T) {
	base := chatServer(t)
	ann := join(t, base, "ann")
	bob := join(t, base, "bob")
	bob2 := join(t, base, "bob")
	cid := join(t, base, "cid")
	ann.send(request{Type: "private", To: "bob", Text: "psst", ID: "p1"})
	pm := reply{Type: "private", From: "ann", To: "bob", Text: "psst", ID: "p1"}
	for _, ch := range []*chatter{bob, bob2, ann} {
		ch.expect(pm)
	}
	cid.quiet()
	ann.send(request{Type: "private", To: "dan", Text: "hello?", ID: "p2"})
	ann.expect(reply{Type: "error", Error: "dan is not here", ID: "p2"})
	// To oneself: once.
	cid.send(request{Type: "private", To: "cid", Text: "note"})
	cid.expect(reply{Type: "private", From: "cid", To: "cid", Text: "note"})
	cid.quiet()
}

// Bad requests get an error reply and harm nothing: the session goes on.
func TestChatBadInput(t *testing.T) {
	base := chatServer(t)
	ann := join(t, base, "ann")
	long := strings.Repeat("x", maxTextLen+1)
	cases := []struct {
		name, msg, want string
	}{
		{"not JSON", `{"type":`, `not a JSON object with string fields "type", "room", "to", "text", "id"`},
		{"not an object", `[1,2]`, `not a JSON object with string fields "type", "room", "to", "text", "id"`},
		{"a number for a string", `{"type":"join","room":7}`, `not a JSON object with string fields "type", "room", "to", "text", "id"`},
		{"no type", `{}`, `no "type"`},
		{"unknown type", `{"type":"shout"}`, `unknown type "shout": join, leave, say or private`},
		{"no room", `{"type":"join"}`, `room "": ` + roomRule},
		{"uppercase room", `{"type":"join","room":"Lobby"}`, `room "Lobby": ` + roomRule},
		{"room with a slash", `{"type":"join","room":"a/b"}`, `room "a/b": ` + roomRule},
		{"room starting with '-'", `{"type":"join","room":"-a"}`, `room "-a": ` + roomRule},
		{"room too long", `{"type":"join","room":"` + strings.Repeat("a", maxRoomLen+1) + `"}`,
			`room "` + strings.Repeat("a", maxRoomLen+1) + `": ` + roomRule},
		{"long garbage room", `{"type":"join","room":"` + strings.Repeat("b", 100) + `"}`,
			`room "` + strings.Repeat("b", 40) + `…": ` + roomRule},
		{"say outside the room", `{"type":"say","room":"lobby","text":"x"}`, `join room "lobby" before saying something there`},
		{"leave a room not joined", `{"type":"leave","room":"lobby"}`, `not in room "lobby"`},
		{"say nothing", `{"type":"say","room":"lobby"}`, `nothing to say`},
		{"text too long", `{"type":"say","room":"lobby","text":"` + long + `"}`, fmt.Sprintf("text of %d bytes, more than %d", maxTextLen+1, maxTextLen)},
		{"oversized message", `{"type":"say","room":"lobby","text":"` + strings.Repeat("y", maxRequestLen) + `"}`,
			fmt.Sprintf("message of %d bytes, more than %d", maxRequestLen+len(`{"type":"say","room":"lobby","text":""}`), maxRequestLen)},
		{"bad private recipient", `{"type":"private","to":"a b","text":"x"}`, `to "a b": ` + nickRule},
		{"id too long", `{"type":"join","room":"lobby","id":"` + strings.Repeat("i", maxIDLen+1) + `"}`, fmt.Sprintf("id longer than %d bytes", maxIDLen)},
	}
	for _, tc := range cases {
		ann.sendRaw(tc.msg)
		got := ann.read()
		if want := (reply{Type: "error", Error: tc.want}).String(); got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", tc.name, got, want)
		}
	}
	// The id of a refused request comes back with its error.
	ann.send(request{Type: "say", Room: "nowhere", Text: "x", ID: "k9"})
	ann.expect(reply{Type: "error", Error: `join room "nowhere" before saying something there`, ID: "k9"})

	// Joining twice, and more than maxRooms.
	ann.send(request{Type: "join", Room: "lobby"})
	ann.expect(presenceOf("lobby", "ann", true, 1), joinedReply("lobby", chatMember{"ann", 1}))
	ann.send(request{Type: "join", Room: "lobby"})
	ann.expect(reply{Type: "error", Error: `already in room "lobby"`})
	for i := 1; i < maxRooms; i++ {
		room := fmt.Sprint("r", i)
		ann.send(request{Type: "join", Room: room})
		ann.expect(presenceOf(room, "ann", true, 1), joinedReply(room, chatMember{"ann", 1}))
	}
	ann.send(request{Type: "join", Room: "onemore"})
	ann.expect(reply{Type: "error", Error: fmt.Sprintf("in %d rooms already, the most one session may be in", maxRooms)})

	// Still open and working.
	ann.send(request{Type: "say", Room: "lobby", Text: "still here"})
	ann.expect(said("lobby", "ann", "still here", ""))
}

// A bad or missing nickname is refused before the session opens, with
// 4001 and the rule, on websocket and on an HTTP transport.
func TestChatRefusesBadNicknames(t *testing.T) {
	base := chatServer(t)
	reason := "Unauthorized: " + nickRule
	for _, q := range []string{"", "?nick=", "?nick=" + strings.Repeat("n", maxNickLen+1), "?nick=a%20b",
		"?nick=%C3%A9", "?nick=%3Cb%3E", "?nick=a%00"} {
		u := "ws" + strings.TrimPrefix(base, "http") + "/chat/000/r1/websocket" + q
		c, _, err := websocket.DefaultDialer.Dial(u, nil)
		if err != nil {
			t.Fatalf("%s: dial: %v", q, err)
		}
		want := "c" + closeFrameJSON(sockjs.CodeUnauthorized, reason)
		var got []string
		for range 2 {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, p, err := c.ReadMessage()
			if err != nil {
				break
			}
			got = append(got, string(p))
		}
		c.Close()
		if len(got) != 1 || got[0] != want {
			t.Errorf("websocket %q: frames %q, want only %q", q, got, want)
		}

		resp, err := http.Post(base+"/chat/000/x"+fmt.Sprint(len(q))+"/xhr"+q, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want+"\n" {
			t.Errorf("xhr %q: %q, want %q", q, b, want+"\n")
		}
	}
	// The longest valid one is fine.
	join(t, base, strings.Repeat("n", maxNickLen))
	join(t, base, "A-z_0.9")
}

func closeFrameJSON(code int, reason string) string {
	b, _ := json.Marshal([]any{code, reason})
	return string(b)
}

func TestChatWithoutAuthenticateRefuses(t *testing.T) {
	srv := sockjs.New("/chat", newChat(nil).serve, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	resp, err := http.Post(ts.URL+"/chat/000/a/xhr?nick=ann", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "o\n"; string(b) != want {
		t.Fatalf("opening poll %q", b)
	}
	resp, err = http.Post(ts.URL+"/chat/000/a/xhr?nick=ann", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `c[4001,"Unauthorized: no nickname"]` + "\n"; string(b) != want {
		t.Errorf("a session with no user: %q, want %q", b, want)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{`{"type":"join","room":"lobby"}`, `{"type":"say","room":"a","text":"hi","id":"1"}`,
		`{"type":"private","to":"bob","text":"x"}`, `{"type":"leave","room":"-"}`, `[]`, `null`, `{"type":"say","text":7}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		r, err := parseRequest(msg)
		if err != nil {
			if len(r.ID) > maxIDLen {
				t.Fatalf("an error reply would carry an id of %d bytes", len(r.ID))
			}
			return
		}
		// What passes is within every limit.
		if len(msg) > maxRequestLen || len(r.ID) > maxIDLen || len(r.Text) > maxTextLen {
			t.Fatalf("accepted %q", msg)
		}
		switch r.Type {
		case "join", "leave":
			if !validRoom(r.Room) {
				t.Fatalf("room %q accepted", r.Room)
			}
		case "say":
			if !validRoom(r.Room) || r.Text == "" {
				t.Fatalf("say %+v accepted", r)
			}
		case "private":
			if !validNick(r.To) || r.Text == "" {
				t.Fatalf("private %+v accepted", r)
			}
		default:
			t.Fatalf("type %q accepted", r.Type)
		}
		// Room names are topic names.
		if r.Room != "" && strings.ContainsAny(r.Room, "/ \x00") {
			t.Fatalf("room %q", r.Room)
		}
	})
}
