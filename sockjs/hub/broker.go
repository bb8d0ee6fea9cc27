package hub

import (
	"context"
	"errors"
	"time"
)

// Position is a place in a topic's stream: the offset of a message and
// the epoch of the stream it belongs to. Offsets count a stream's
// messages from 1; a stream that loses its storage starts again under a
// new epoch, so a position from an older epoch is never mistaken for one
// of the new stream.
type Position struct {
	Offset uint64
	Epoch  string
}

// Message is one message of a topic, with its place in the stream.
type Message struct {
	Topic  string
	Data   string
	Offset uint64
	Epoch  string
}

// Position returns m's place in its stream.
func (m Message) Position() Position { return Position{m.Offset, m.Epoch} }

// HistoryPolicy says which of a topic's messages the broker keeps for
// subscribers that ask for what they missed. The zero policy keeps none.
type HistoryPolicy struct {
	// Size is how many of the last messages are kept.
	Size int
	// TTL, when positive, also drops messages older than TTL, and the
	// whole stream once it holds no message and nobody subscribes to it.
	TTL time.Duration
}

// Client is one session as the broker knows it, for presence.
type Client struct {
	// ID is unique among the hub's sessions while they live (sockjs
	// session ids are chosen by clients, so they are not).
	ID string
	// User is the session's user; empty for an anonymous one.
	User string
}

// Member is a user present in a topic, with how many of its sessions are.
type Member struct {
	User     string
	Sessions int
}

// ErrUnrecoverable is returned by Broker.History and Hub.Subscribe when
// the messages after a position can no longer be delivered: the stream's
// epoch changed, or they are no longer kept. The subscriber must then
// reload its state and subscribe without a position.
var ErrUnrecoverable = errors.New("hub: cannot recover the messages since that position")

// Broker carries a hub's topics, users, presence and history. The
// in-memory broker (NewMemoryBroker), the default, serves one process; a
// broker on Redis or NATS lets the hubs of several processes share them
// without any change to the application, which only ever talks to its
// Hub.
//
// What a distributed broker must provide:
//
//   - Publish appends to the topic's stream and assigns the next offset
//     atomically with the append to its history (Redis: a script doing
//     XADD and PUBLISH; NATS: a JetStream publish), then delivers the
//     message to every node subscribed to the topic, in offset order per
//     topic, by calling that node's Handler.Deliver. Delivery may be at
//     most once: subscribers that care recover the gaps from history.
//   - Subscribe and Unsubscribe start and stop a node's deliveries for a
//     topic; the hub calls Subscribe when its first local subscriber of a
//     topic arrives, before reading history, and Unsubscribe when the
//     last leaves. Subscribe returns once deliveries are flowing.
//   - History answers from the stream, atomically with the current
//     position, so that nothing falls between what it returns and the
//     deliveries that follow.
//   - SendToUser and CloseUser reach every node (a per-user or a
//     broadcast channel), which call Handler.DeliverUser and
//     Handler.CloseUser for their own sessions.
//   - Join, Leave and Presence keep who is in a topic across nodes, and
//     the topic "" as the list of every session of the hub, for
//     Hub.Users. Entries of a node that dies must expire on their own (a
//     per-node key with a TTL the node refreshes, or per-entry expiry).
//
// Every method may be called from many goroutines at once. The hub holds
// a topic's delivery lock while it calls History, Join and Leave for that
// topic, and Deliver may wait for it: a broker must not call Deliver for
// a topic from within those calls.
type Broker interface {
	// Bind gives the broker the hub to deliver to. New calls it once,
	// before any other method.
	Bind(h Handler)
	// Publish appends data to topic's stream, keeping it as policy says,
	// delivers it, and returns its position.
	Publish(ctx context.Context, topic, data string, policy HistoryPolicy) (Position, error)
	// Subscribe starts deliveries of topic to this node.
	Subscribe(ctx context.Context, topic string) error
	// Unsubscribe stops them.
	Unsubscribe(ctx context.Context, topic string) error
	// History returns the kept messages of topic after since, oldest
	// first, and the stream's current position. A since with an empty
	// Epoch means the current epoch, whatever it is, and is never
	// unrecoverable. Otherwise it returns ErrUnrecoverable when since's
	// epoch is not the stream's, since is ahead of the stream, or
	// messages after since are no longer kept.
	History(ctx context.Context, topic string, since Position) ([]Message, Position, error)
	// SendToUser delivers data to every session of user, on every node.
	SendToUser(ctx context.Context, user, data string) error
	// CloseUser closes every session of user, on every node.
	CloseUser(ctx context.Context, user string, code int, reason string) error
	// Join records c as present in topic and returns how many sessions
	// of c.User are present there now.
	Join(ctx context.Context, topic string, c Client) (sessions int, err error)
	// Leave removes c from topic and returns how many sessions of c.User
	// remain there.
	Leave(ctx context.Context, topic string, c Client) (sessions int, err error)
	// Presence returns the users present in topic, sorted by name.
	Presence(ctx context.Context, topic string) ([]Member, error)
}

// Handler is the hub's side of a Broker, which calls it to deliver what
// arrives for this node. The Hub is the only implementation.
type Handler interface {
	// Deliver fans m out to this node's subscribers of m.Topic. It
	// returns once every subscriber has it queued (or was closed as too
	// slow), waiting for slow subscribers: the broker is slowed down with
	// them. Deliveries of one topic must not overlap.
	Deliver(ctx context.Context, m Message)
	// DeliverUser sends data to this node's sessions of user.
	DeliverUser(ctx context.Context, user, data string)
	// CloseUser closes this node's sessions of user.
	CloseUser(ctx context.Context, user string, code int, reason string)
}
