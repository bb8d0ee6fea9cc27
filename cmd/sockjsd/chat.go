package main

// The chat service (/chat) of the demo page: rooms, presence, history on
// join and private messages, on package sockjs/hub.
//
// A client opens the session with its nickname in the query of the
// opening request ("/chat?nick=ann" for sockjs-client, which passes the
// query on to every request). chatIdentity checks it: 1 to maxNickLen
// ASCII letters, digits, '-', '_' or '.'; anything else is refused with
// 4001 and a reason saying so, before the session opens. Two sessions
// with one nickname are one user's (two tabs).
//
// Every message either way is one JSON object with a "type". From the
// client:
//
//	{"type":"join","room":"lobby"}            join a room (name: roomRule)
//	{"type":"leave","room":"lobby"}           leave it
//	{"type":"say","room":"lobby","text":"hi","id":"c1"}
//	                                          say something in a room joined
//	{"type":"private","to":"bob","text":"hi","id":"c2"}
//	                                          to every session of one user
//
// "id" is optional (up to maxIDLen bytes), the client's own name for its
// message, returned with it so that it knows its message arrived. From
// the server:
//
//	{"type":"welcome","user":"ann","rooms":["lobby","random","help"]}
//	                                          first, with the default rooms
//	{"type":"message","room":"lobby","from":"ann","text":"hi","id":"c1"}
//	                                          said in a room; on a join, the
//	                                          room's last historySize come
//	                                          first, before "joined"
//	{"type":"joined","room":"lobby","members":[{"user":"ann","sessions":1}]}
//	                                          the join is done: who is there
//	{"type":"presence","room":"lobby","user":"bob","joined":true,"sessions":1}
//	                                          a session of user came or went;
//	                                          sessions is how many of its
//	                                          sessions are there now (1 on a
//	                                          join: it arrived; 0: it left)
//	{"type":"left","room":"lobby"}            the leave is done
//	{"type":"private","from":"ann","to":"bob","text":"hi","id":"c2"}
//	                                          to bob's sessions and ann's
//	{"type":"error","error":"…","id":"c1"}    a request was refused; the
//	                                          session stays open
//
// Each room is two hub topics: "room/<name>" for what is said, which keeps
// the last historySize messages, and "presence/<name>" for the notices,
// which keeps none, so that history on join is conversation only.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// Limits of the chat protocol.
const (
	maxNickLen    = 24   // bytes of a nickname
	maxRoomLen    = 32   // bytes of a room name
	maxTextLen    = 2000 // bytes of what is said
	maxIDLen      = 32   // bytes of a message id
	maxRequestLen = 4096 // bytes of one message from a client
	maxRooms      = 16   // rooms one session may be in at once
	historySize   = 50   // messages each room keeps for those who join
)

// defaultRooms are offered to every client in its welcome.
var defaultRooms = []string{"lobby", "random", "help"}

const (
	nickRule = "a nickname is 1 to 24 letters, digits, '-', '_' or '.'"
	roomRule = "a room name is 1 to 32 lowercase letters, digits, '-' or '_', starting with a letter or digit"
)

// Topic names of a room.
const (
	roomTopic     = "room/"
	presenceTopic = "presence/"
)

// noticeTimeout bounds the wait of a presence notice for slow subscribers
// (each of which is closed after its own SendTimeout anyway).
const noticeTimeout = 10 * time.Second

// chatIdentity is the chat service's Options.Authenticate: the user is
// the "nick" query parameter of the opening request.
func chatIdentity(r *http.Request) (sockjs.Identity, error) {
	nick := r.URL.Query().Get("nick")
	if !validNick(nick) {
		return sockjs.Identity{}, &sockjs.Refusal{Code: sockjs.CodeUnauthorized, Reason: "Unauthorized: " + nickRule}
	}
	return sockjs.Identity{User: nick}, nil
}

func validNick(s string) bool {
	if s == "" || len(s) > maxNickLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLower(c) || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func validRoom(s string) bool {
	if s == "" || len(s) > maxRoomLen || !isLower(s[0]) && !isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLower(c) || isDigit(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// request is one message from a client, checked by parseRequest.
type request struct {
	Type string `json:"type"`
	Room string `json:"room,omitempty"`
	To   string `json:"to,omitempty"`
	Text string `json:"text,omitempty"`
	ID   string `json:"id,omitempty"`
}

// parseRequest decodes and checks msg. Its error is the text of the
// "error" reply; the request comes back too, when decoded, for its ID.
func parseRequest(msg string) (request, error) {
	var r request
	if len(msg) > maxRequestLen {
		return r, fmt.Errorf("message of %d bytes, more than %d", len(msg), maxRequestLen)
	}
	if err := json.Unmarshal([]byte(msg), &r); err != nil {
		return request{}, fmt.Errorf(`not a JSON object with string fields "type", "room", "to", "text", "id"`)
	}
	if len(r.ID) > maxIDLen {
		r.ID = ""
		return r, fmt.Errorf("id longer than %d bytes", maxIDLen)
	}
	switch r.Type {
	case "join", "leave", "say":
		if !validRoom(r.Room) {
			return r, fmt.Errorf("room %q: %s", clip(r.Room), roomRule)
		}
	case "private":
		if !validNick(r.To) {
			return r, fmt.Errorf("to %q: %s", clip(r.To), nickRule)
		}
	case "":
		return r, fmt.Errorf(`no "type"`)
	default:
		return r, fmt.Errorf("unknown type %q: join, leave, say or private", clip(r.Type))
	}
	if r.Type == "say" || r.Type == "private" {
		switch {
		case r.Text == "":
			return r, fmt.Errorf("nothing to say")
		case len(r.Text) > maxTextLen:
			return r, fmt.Errorf("text of %d bytes, more than %d", len(r.Text), maxTextLen)
		}
	}
	return r, nil
}

// clip shortens what a client sent for quoting it in an error, cutting
// between characters.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// reply is one message to a client; the fields of its type are set.
type reply struct {
	Type     string       `json:"type"`
	User     string       `json:"user,omitempty"`
	Rooms    []string     `json:"rooms,omitempty"`
	Room     string       `json:"room,omitempty"`
	From     string       `json:"from,omitempty"`
	To       string       `json:"to,omitempty"`
	Text     string       `json:"text,omitempty"`
	ID       string       `json:"id,omitempty"`
	Members  []chatMember `json:"members,omitempty"`
	Joined   *bool        `json:"joined,omitempty"`
	Sessions *int         `json:"sessions,omitempty"`
	Error    string       `json:"error,omitempty"`
}

type chatMember struct {
	User     string `json:"user"`
	Sessions int    `json:"sessions"`
}

func (r reply) String() string {
	b, _ := json.Marshal(r) // strings, ints and bools: it cannot fail
	return string(b)
}

// chat is the chat service: one hub for its rooms and users.
type chat struct{ h *hub.Hub }

// newChat returns the chat service with its rooms on b; nil b means in
// this process's memory.
func newChat(b hub.Broker) *chat {
	c := &chat{}
	c.h = hub.New(&hub.Options{Broker: b, History: chatHistory, OnPresence: c.presence})
	return c
}

func chatHistory(topic string) hub.HistoryPolicy {
	if strings.HasPrefix(topic, roomTopic) {
		return hub.HistoryPolicy{Size: historySize}
	}
	return hub.HistoryPolicy{}
}

// presence tells a room's presence topic that a session came or went.
func (c *chat) presence(e hub.Event) {
	room, ok := strings.CutPrefix(e.Topic, roomTopic)
	if !ok {
		return
	}
	// The session's own context may be done (it left by closing): the
	// notice still goes to the others.
	ctx, cancel := context.WithTimeout(context.Background(), noticeTimeout)
	defer cancel()
	joined, n := e.Joined, e.Sessions
	msg := reply{Type: "presence", Room: room, User: e.User, Joined: &joined, Sessions: &n}
	_, _ = c.h.Publish(ctx, presenceTopic+room, msg.String())
}

// serve runs one client's session: its requests, one at a time.
func (c *chat) serve(s *sockjs.Session) {
	ctx := s.Context()
	user := s.User()
	if user == "" {
		// Only chatIdentity's sessions can chat.
		_ = s.Close(sockjs.CodeUnauthorized, "Unauthorized: no nickname")
		return
	}
	if err := c.h.Add(ctx, s); err != nil {
		return
	}
	if s.Send(reply{Type: "welcome", User: user, Rooms: defaultRooms}.String()) != nil {
		return
	}
	var rooms []string // the rooms s is in; owned by this goroutine
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return // closed: the hub takes s out of its rooms
		}
		r, err := parseRequest(msg)
		if err == nil {
			rooms, err = c.do(ctx, s, rooms, r)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if s.Send(reply{Type: "error", Error: err.Error(), ID: r.ID}.String()) != nil {
				return
			}
		}
	}
}

// do carries out r for s, in rooms, and returns the rooms s is in after.
func (c *chat) do(ctx context.Context, s *sockjs.Session, rooms []string, r request) ([]string, error) {
	user := s.User()
	switch r.Type {
	case "join":
		if slices.Contains(rooms, r.Room) {
			return rooms, fmt.Errorf("already in room %q", r.Room)
		}
		if len(rooms) >= maxRooms {
			return rooms, fmt.Errorf("in %d rooms already, the most one session may be in", maxRooms)
		}
		// Notices first, so that the join's own notice reaches s too.
		if _, err := c.h.Subscribe(ctx, s, presenceTopic+r.Room, nil); err != nil {
			return rooms, err
		}
		// The last messages said come before the live ones, and before
		// the "joined" below.
		if _, err := c.h.Subscribe(ctx, s, roomTopic+r.Room, &hub.SubscribeOptions{Since: &hub.Position{}}); err != nil {
			_ = c.h.Unsubscribe(ctx, s, presenceTopic+r.Room)
			return rooms, err
		}
		rooms = append(rooms, r.Room)
		members, err := c.h.Presence(ctx, roomTopic+r.Room)
		if err != nil {
			return rooms, err
		}
		out := reply{Type: "joined", Room: r.Room, Members: make([]chatMember, len(members))}
		for i, m := range members {
			out.Members[i] = chatMember(m)
		}
		return rooms, s.Send(out.String())
	case "leave":
		i := slices.Index(rooms, r.Room)
		if i < 0 {
			return rooms, fmt.Errorf("not in room %q", r.Room)
		}
		// Out of the room first, so that the leave's notice reaches s
		// (and "left" follows it).
		if err := c.h.Unsubscribe(ctx, s, roomTopic+r.Room); err != nil {
			return rooms, err
		}
		if err := c.h.Unsubscribe(ctx, s, presenceTopic+r.Room); err != nil {
			return rooms, err
		}
		rooms = slices.Delete(rooms, i, i+1)
		return rooms, s.Send(reply{Type: "left", Room: r.Room}.String())
	case "say":
		if !slices.Contains(rooms, r.Room) {
			return rooms, fmt.Errorf("join room %q before saying something there", r.Room)
		}
		msg := reply{Type: "message", Room: r.Room, From: user, Text: r.Text, ID: r.ID}
		_, err := c.h.Publish(ctx, roomTopic+r.Room, msg.String())
		return rooms, err
	case "private":
		online, err := c.h.Users(ctx)
		if err != nil {
			return rooms, err
		}
		if !slices.ContainsFunc(online, func(m hub.Member) bool { return m.User == r.To }) {
			return rooms, fmt.Errorf("%s is not here", r.To)
		}
		msg := reply{Type: "private", From: user, To: r.To, Text: r.Text, ID: r.ID}.String()
		if err := c.h.SendToUser(ctx, r.To, msg); err != nil {
			return rooms, err
		}
		if r.To != user {
			// The sender's sessions, this one included, show it too.
			err = c.h.SendToUser(ctx, user, msg)
		}
		return rooms, err
	}
	return rooms, fmt.Errorf("unknown type %q", r.Type) // parseRequest let it through: a bug
}
