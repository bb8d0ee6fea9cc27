package main

// The STOMP service (/stomp): Spring's message broker endpoint, as
// @stomp/stompjs, stompjs and webstomp-client over sockjs-client reach it,
// on package sockjs/stomp.
//
//	SEND /app/echo                   the body back to the sender alone, on
//	                                 its subscriptions to /user/queue/echo
//	SEND /app/chat/<room>            the demo's chat: {"from","text"} as
//	                                 JSON to /topic/room.<room>, from the
//	                                 sender's login
//	SEND /topic/<name>               to every subscriber (but /topic/room.*,
//	                                 which only /app/chat writes, so that
//	                                 nobody speaks under another's name)
//	SEND /queue/<name>               to one subscriber of the queue, by
//	                                 turns; kept until one comes
//	SEND /user/<login>/queue/<name>  to that user's subscriptions to
//	                                 /user/queue/<name>
//
// CONNECTED offers and asks for heart-beats every -heartbeat (25 s by
// default), as the SockJS heartbeat it replaces.
//
// CONNECT's login header is the user's name (passcode is not checked:
// the demo's nickname, a name by the nickname rule); without one the
// session is anonymous and /app/chat refuses it. In a cluster the topics
// and user destinations are on the cluster's broker, so they reach every
// node, and a topic subscription resumes on any node; queues are each
// node's own.

import (
	"encoding/json"
	"strings"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
	"github.com/sockjsd/sockjsd/sockjs/stomp"
)

// stompRoomPrefix is the demo chat's topics: /topic/room.<name>.
const stompRoomPrefix = "/topic/room."

// newStomp returns the builder of the STOMP service with its topics on
// b; nil b means in this process's memory.
func newStomp(b hub.Broker) func(prefix string, opts *sockjs.Options) *sockjs.Server {
	return func(prefix string, opts *sockjs.Options) *sockjs.Server {
		// Every topic keeps what stomp.DefaultTopics keeps, for
		// subscriptions that resume.
		h := hub.New(&hub.Options{Broker: b, History: func(string) hub.HistoryPolicy {
			return hub.HistoryPolicy{Size: stomp.DefaultHistorySize, TTL: stomp.DefaultHistoryTTL}
		}})
		srv := stomp.New(prefix, &stomp.Options{
			SockJS: opts,
			Topics: stomp.HubTopics(h),
			// STOMP heart-beats replace the SockJS ones once negotiated
			// (the session's h frames stop), at the same interval:
			// -heartbeat's.
			HeartbeatSend:   opts.Heartbeat,
			HeartbeatExpect: opts.Heartbeat,
			Authenticate:    stompLogin,
			Authorize:       stompAuthorize,
		})
		srv.Handle("/echo", stompEcho)
		srv.Handle("/chat/{room}", stompChat)
		return srv.SockJS()
	}
}

// stompLogin makes CONNECT's login the user; none is anonymous.
func stompLogin(_ *sockjs.Session, connect *stomp.Frame) (string, error) {
	login, ok := connect.Lookup("login")
	if !ok || login == "" {
		return "", nil
	}
	if !validNick(login) {
		return "", &stomp.Error{Message: "login: " + nickRule}
	}
	return login, nil
}

// stompAuthorize keeps the chat's rooms written by /app/chat alone.
func stompAuthorize(_ *stomp.Session, command, dest string) error {
	if command == "SEND" && strings.HasPrefix(dest, stompRoomPrefix) {
		return &stomp.Error{Message: "send to /app/chat/<room>, not to " + dest}
	}
	return nil
}

// stompEcho answers a SEND to /app/echo on the sender's /user/queue/echo,
// with the body and content-type it came with.
func stompEcho(m *stomp.Message) error {
	var hs []stomp.Header
	if ct, ok := m.Lookup("content-type"); ok {
		hs = append(hs, stomp.Header{Name: "content-type", Value: ct})
	}
	return m.Reply("/user/queue/echo", m.Body, hs...)
}

// stompChatLine is what /app/chat/<room> publishes to the room's topic.
type stompChatLine struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// stompChat publishes what a logged-in user says in a room.
func stompChat(m *stomp.Message) error {
	room := m.Param("room")
	switch {
	case m.User() == "":
		return &stomp.Error{Message: "the chat needs a login (CONNECT's login header): " + nickRule}
	case !validRoom(room):
		return &stomp.Error{Message: roomRule}
	case m.Body == "" || len(m.Body) > maxTextLen:
		return &stomp.Error{Message: "say 1 to 2000 bytes"}
	}
	b, _ := json.Marshal(stompChatLine{From: m.User(), Text: m.Body}) // strings: it cannot fail
	return m.Publish(stompRoomPrefix+room, string(b), stomp.Header{Name: "content-type", Value: "application/json"})
}
