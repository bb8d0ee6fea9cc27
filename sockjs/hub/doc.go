// Package hub routes messages between the sessions of package sockjs: by
// topic (rooms), by user, with presence and history.
//
//	h := hub.New(nil)
//	srv := sockjs.New("/chat", func(s *sockjs.Session) {
//		h.Subscribe(s.Context(), s, "lobby", nil)
//		for {
//			msg, err := s.Recv(s.Context())
//			if err != nil {
//				return // the session is closed, and out of its topics
//			}
//			h.Publish(s.Context(), "lobby", s.User()+": "+msg)
//		}
//	}, &sockjs.Options{Authenticate: login})
//
// # Topics
//
// Subscribe adds a session to a topic, Unsubscribe takes it out, and a
// session leaves its topics when it closes. Publish sends to every
// subscriber; each receives one publisher's messages in the order they
// were published, and the messages of publishers racing each other in
// one order that all subscribers share. A publish costs O(subscribers)
// and, unless a subscription has a Format, no allocation per subscriber.
// Topic names are 1 to MaxTopicLen bytes of UTF-8 with no control
// characters (CheckTopic); the hub gives no character a meaning.
//
//	sub, err := h.Subscribe(ctx, s, "room:42", nil)
//	pos, err := h.Publish(ctx, "room:42", "hello") // to every subscriber, on every node
//	err = sub.Unsubscribe(ctx)                     // or h.Unsubscribe(ctx, s, "room:42")
//
// # Backpressure
//
// Publish waits while a subscriber's send queue is full
// (sockjs.Session.SendContext): a producer is slowed to the pace of its
// subscribers instead of outrunning them, and a client whose queue stays
// full for the server's Options.SendTimeout is closed as a slow client
// (sockjs.CodeSlowClient), so one stalled client holds a topic up for at
// most that long. A publishing handler that waits reads its own client
// more slowly, which slows that client down in turn (its receive queue,
// the answers to its xhr_send requests, TCP). Use sockjs.Session.Send, which
// never waits and closes a session whose queue is full, for a reply to
// one client from its own handler; use the hub for fan-out.
//
// # Users
//
// A session's user is the one sockjs.Options.Authenticate gave it. Once
// the hub knows a session (Subscribe, or Add for a session in no topic),
// SendToUser reaches every session of its user, CloseUser closes them
// (logout), UserSessions lists them and Users counts every user's.
//
//	h.Add(ctx, s) // s is in no topic, yet reachable by user
//	h.SendToUser(ctx, "ann", `{"from":"bob","text":"psst"}`) // every tab of ann's
//	h.CloseUser(ctx, "ann", 4000, "Logged out")              // all of them
//
// # Presence
//
// Presence lists the users in a topic with how many of their sessions
// are there. Options.OnPresence is called on every join and leave; the
// Event's Sessions count tells a user's arrival (1 on a join) and
// departure (0 on a leave) from a second tab coming or going:
//
//	OnPresence: func(e hub.Event) {
//		if e.Joined && e.Sessions == 1 {
//			h.Publish(context.Background(), e.Topic, e.User+" joined")
//		}
//	}
//
// # History and recovery
//
// A topic keeps its last messages when Options.History says so (none by
// default). Every message has a Position: an offset, increasing by one
// per message of the topic, and the epoch of the topic's stream, which
// changes when the stream is lost (in memory: once a topic has no
// subscriber and keeps nothing). A subscriber passes the last Position it
// saw as SubscribeOptions.Since and gets what it missed and then the live
// messages, nothing lost or repeated in between, or ErrUnrecoverable. A
// Position with no epoch asks for whatever the topic keeps: history on
// join. Clients learn positions through a Format that sends them along.
//
//	h := hub.New(&hub.Options{History: func(topic string) hub.HistoryPolicy {
//		return hub.HistoryPolicy{Size: 50, TTL: time.Hour}
//	}})
//	// A client back after a drop, with the last position it saw:
//	_, err := h.Subscribe(ctx, s, "news", &hub.SubscribeOptions{
//		Since:  &hub.Position{Offset: 41, Epoch: epoch},
//		Format: func(m hub.Message) string { return fmt.Sprintf("%d %s %s", m.Offset, m.Epoch, m.Data) },
//	})
//	if errors.Is(err, hub.ErrUnrecoverable) {
//		// too old, or the stream was lost: reload, subscribe without Since
//	}
//
// # Brokers
//
// The Broker carries topics, users, presence and history. The default is
// in memory, for one process; a Broker on Redis or NATS (see the Broker
// documentation for what it must do) spreads them over several processes
// with no change to the application.
//
// # The demo
//
// cmd/sockjsd's /chat service (cmd/sockjsd/chat.go) is a chat on a hub,
// with its protocol: rooms, who is here, "X joined" and "X left", the
// last 50 messages of a room on join, and private messages. The demo page
// sockjsd serves is its client.
//
// # Concurrency
//
// Every method is safe for concurrent use. Publish, Subscribe,
// Unsubscribe, SendToUser and Subscription.Unsubscribe may wait (for a
// topic's delivery under way, or for slow subscribers) and take a
// context. No lock is held while they wait or while Options.OnPresence
// runs.
package hub
