package stomp

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// HubTopics returns the Topics engine of h: STOMP topics are hub topics
// of the same name ("/topic/news"), and the topics of a user's
// destinations are named "/user/<name>/queue/x" (the name with "/" and
// "%" percent-escaped). What h's History option keeps is what resumable
// subscriptions can recover.
func HubTopics(h *hub.Hub) Topics { return hubTopics{h} }

// DefaultTopics returns the engine a Server uses when Options.Topics is
// nil: a hub of its own in this process's memory that keeps the last
// DefaultHistorySize messages of each topic under the TopicPrefix or
// UserPrefix for DefaultHistoryTTL, so that a client that reconnects within
// that time gets what it missed.
func DefaultTopics() Topics {
	return HubTopics(hub.New(&hub.Options{History: func(string) hub.HistoryPolicy {
		return hub.HistoryPolicy{Size: DefaultHistorySize, TTL: DefaultHistoryTTL}
	}}))
}

// What DefaultTopics keeps of each topic.
const (
	DefaultHistorySize = 100
	DefaultHistoryTTL  = 5 * time.Minute
)

type hubTopics struct{ h *hub.Hub }

func (t hubTopics) Subscribe(ctx context.Context, s *sockjs.Session, topic string, since *Position, format func(TopicMessage) string) (TopicSubscription, error) {
	o := &hub.SubscribeOptions{Format: func(m hub.Message) string {
		return format(TopicMessage{Topic: m.Topic, Data: m.Data, Offset: m.Offset, Epoch: m.Epoch})
	}}
	if since != nil {
		o.Since = &hub.Position{Offset: since.Offset, Epoch: since.Epoch}
	}
	sub, err := t.h.Subscribe(ctx, s, topic, o)
	switch {
	case errors.Is(err, hub.ErrUnrecoverable):
		return nil, ErrUnrecoverable
	case errors.Is(err, hub.ErrBadTopic):
		return nil, errBadDestination
	case err != nil:
		return nil, err
	}
	return sub, nil
}

func (t hubTopics) Publish(ctx context.Context, topic, data string) (Position, error) {
	p, err := t.h.Publish(ctx, topic, data)
	if errors.Is(err, hub.ErrBadTopic) {
		return Position{}, errBadDestination
	}
	return Position{Offset: p.Offset, Epoch: p.Epoch}, err
}

var errBadDestination = frameErr("invalid destination")

// checkDestination refuses destinations no engine could carry: empty,
// not starting with "/", over hub.MaxTopicLen bytes, with control
// characters or invalid UTF-8.
func checkDestination(d string) error {
	if !strings.HasPrefix(d, "/") || hub.CheckTopic(d) != nil {
		return errBadDestination
	}
	return nil
}
