package stomp

import (
	"context"
	"errors"

	"github.com/sockjsd/sockjsd/sockjs"
)

// Topics is what the endpoint needs of a publish/subscribe engine for
// /topic and /user destinations. HubTopics adapts a sockjs/hub Hub, which
// carries topics across nodes through its broker; DefaultTopics is one
// of this process.
//
// Data published through the endpoint is a message's body, or, when the
// SEND carried headers worth passing on (content-type, the
// application's own), an envelope: a NUL, the headers as STOMP 1.2 header
// lines, an empty line, then the body. Other publishers to the same
// topics (plain SockJS code using the hub) publish text, which STOMP
// subscribers receive as the body.
type Topics interface {
	// Subscribe delivers every message published to topic, from its
	// return on, to s as the text format makes of it, until the
	// subscription ends or s closes. With since, it first delivers the
	// messages after that position (see Position), or fails with
	// ErrUnrecoverable when they are no longer all kept.
	Subscribe(ctx context.Context, s *sockjs.Session, topic string, since *Position, format func(TopicMessage) string) (TopicSubscription, error)
	// Publish sends data to every subscriber of topic and returns its
	// position in the topic's stream.
	Publish(ctx context.Context, topic, data string) (Position, error)
}

// TopicSubscription is one subscription of a Topics engine.
type TopicSubscription interface {
	Unsubscribe(ctx context.Context) error
}

// TopicMessage is one message of a topic, with its place in the topic's
// stream.
type TopicMessage struct {
	Topic  string
	Data   string
	Offset uint64
	Epoch  string
}

// Position is a place in a topic's stream: an offset (messages count from
// 1) and the epoch of the stream, which changes when the stream's
// storage lost it. A Position with an empty Epoch means the current
// epoch, whatever it is, and is never unrecoverable; Offset 0 with it
// means every message kept.
type Position struct {
	Offset uint64
	Epoch  string
}

// ErrUnrecoverable is returned by Topics.Subscribe when the messages after
// a position can no longer all be delivered.
var ErrUnrecoverable = errors.New("stomp: the messages since that position are no longer kept")

// Queues is the engine behind /queue destinations: each message goes to
// one consumer, consumers take turns, and a message that needs an ack
// stays with its consumer until acked; a NACK, or the consumer's end,
// gives it to another consumer (or to the next to come). NewMemoryQueues
// is one in the memory of this process; an engine on a shared store lets
// several nodes share queues.
type Queues interface {
	// Send adds data to queue.
	Send(ctx context.Context, queue, data string) error
	// Consume makes a consumer of queue, whose messages deliver hands
	// to the client. deliver must not block; an error from it (the
	// session closed) ends the consumer and gives the message to another.
	Consume(queue string, o ConsumeOptions, deliver func(QueueMessage) error) (QueueConsumer, error)
}

// ConsumeOptions are the choices of one queue consumer.
type ConsumeOptions struct {
	// Manual means messages need an ack (STOMP ack modes client and
	// client-individual); otherwise a message handed to deliver is
	// done.
	Manual bool
	// Prefetch bounds the messages a Manual consumer holds unacked;
	// zero means no bound.
	Prefetch int
}

// QueueMessage is one message handed to a queue consumer.
type QueueMessage struct {
	// Tag numbers the consumer's messages from 1, in delivery order; Ack
	// and Nack name messages by it.
	Tag  uint64
	Data string
	// Redelivered is set when an earlier delivery was not acked.
	Redelivered bool
}

// QueueConsumer is one consumer of a queue.
type QueueConsumer interface {
	// Ack settles the message tagged tag (and, cumulative, every earlier
	// one it holds). It reports false when the consumer holds no such
	// message.
	Ack(tag uint64, cumulative bool) bool
	// Nack gives the message back to the queue for another consumer,
	// as Ack names it.
	Nack(tag uint64, cumulative bool) bool
	// Cancel ends the consumer, giving its unacked messages back.
	Cancel()
}
