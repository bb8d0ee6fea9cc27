package hub

import (
	"cmp"
	"context"
	"crypto/rand"
	"slices"
	"sync"
	"time"
)

// NewMemoryBroker returns a Broker that keeps everything in the memory of
// this process, for one hub: the default of New.
func NewMemoryBroker() Broker {
	return &memoryBroker{streams: map[string]*stream{}, presence: map[string]map[string]int{}}
}

type memoryBroker struct {
	h Handler // set once by Bind

	mu       sync.Mutex // guards the fields below and every stream's state; leaf lock
	streams  map[string]*stream
	presence map[string]map[string]int // topic → user → sessions present
}

// stream is a topic's sequence of messages.
type stream struct {
	// pub is held (a token in a channel of one) from the moment a
	// publisher takes the next offset until its delivery has returned,
	// so that deliveries go in offset order. It is a channel, not a
	// mutex, because it is held across a delivery that waits for slow
	// subscribers, and a publisher waits for it with its context.
	pub chan struct{}

	// Guarded by memoryBroker.mu.
	epoch  string
	offset uint64
	refs   int       // subscribed nodes, and publishers under way
	ring   []Message // kept messages, a circular buffer of the policy's Size
	times  []int64   // when each ring entry was published (for TTL), same indexes
	head   int       // index of the oldest kept message
	n      int       // kept messages
	ttl    time.Duration
}

func (b *memoryBroker) Bind(h Handler) { b.h = h }

// acquire returns topic's stream, making it first, and counts a user of it.
func (b *memoryBroker) acquire(topic string) *stream {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.streams[topic]
	if st != nil && st.refs == 0 {
		st.expireLocked(time.Now())
		if st.n == 0 {
			st = nil // everything expired: a new stream
		}
	}
	if st == nil {
		st = &stream{pub: make(chan struct{}, 1), epoch: newEpoch()}
		b.streams[topic] = st
	}
	st.refs++
	return st
}

// releaseLocked drops a user of st, forgetting the stream when nobody
// uses it and it keeps nothing: its next incarnation gets a new epoch.
func (b *memoryBroker) releaseLocked(topic string, st *stream) {
	st.refs--
	if st.refs == 0 && st.n == 0 {
		delete(b.streams, topic)
	}
}

func (b *memoryBroker) Publish(ctx context.Context, topic, data string, policy HistoryPolicy) (Position, error) {
	st := b.acquire(topic)
	if err := take(ctx, st.pub); err != nil {
		b.mu.Lock()
		b.releaseLocked(topic, st)
		b.mu.Unlock()
		return Position{}, err
	}
	b.mu.Lock()
	st.offset++
	m := Message{Topic: topic, Data: data, Offset: st.offset, Epoch: st.epoch}
	st.keepLocked(m, policy, time.Now())
	b.mu.Unlock()

	b.h.Deliver(ctx, m)

	<-st.pub
	b.mu.Lock()
	st.expireLocked(time.Now())
	b.releaseLocked(topic, st)
	b.mu.Unlock()
	return m.Position(), nil
}

// keepLocked appends m to the history as policy says, resizing the ring
// when the policy changed.
func (st *stream) keepLocked(m Message, policy HistoryPolicy, now time.Time) {
	st.ttl = policy.TTL
	if policy.Size <= 0 {
		st.ring, st.times, st.head, st.n = nil, nil, 0, 0
		return
	}
	if len(st.ring) != policy.Size {
		ring := make([]Message, policy.Size)
		times := make([]int64, policy.Size)
		keep := min(st.n, policy.Size)
		for i := range keep {
			j := (st.head + st.n - keep + i) % len(st.ring)
			ring[i], times[i] = st.ring[j], st.times[j]
		}
		st.ring, st.times, st.head, st.n = ring, times, 0, keep
	}
	i := (st.head + st.n) % len(st.ring)
	if st.n == len(st.ring) {
		st.head = (st.head + 1) % len(st.ring) // overwrite the oldest
	} else {
		st.n++
	}
	st.ring[i], st.times[i] = m, now.UnixNano()
}

// expireLocked drops the messages older than the TTL.
func (st *stream) expireLocked(now time.Time) {
	if st.ttl <= 0 {
		return
	}
	limit := now.Add(-st.ttl).UnixNano()
	for st.n > 0 && st.times[st.head] < limit {
		st.ring[st.head] = Message{}
		st.head = (st.head + 1) % len(st.ring)
		st.n--
	}
}

func (b *memoryBroker) Subscribe(ctx context.Context, topic string) error {
	b.acquire(topic)
	return nil
}

func (b *memoryBroker) Unsubscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st := b.streams[topic]; st != nil {
		b.releaseLocked(topic, st)
	}
	return nil
}

func (b *memoryBroker) History(ctx context.Context, topic string, since Position) ([]Message, Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.streams[topic]
	if st != nil {
		st.expireLocked(time.Now())
		if st.refs == 0 && st.n == 0 {
			delete(b.streams, topic) // everything expired: the stream is gone
			st = nil
		}
	}
	if st == nil {
		// No stream: nothing was ever kept, or it is gone with its epoch.
		if since.Epoch != "" {
			return nil, Position{}, ErrUnrecoverable
		}
		return nil, Position{}, nil
	}
	cur := Position{st.offset, st.epoch}
	if since.Epoch != "" {
		oldest := st.offset + 1 - uint64(st.n) // offset of the oldest kept message, or the next one
		if since.Epoch != st.epoch || since.Offset > st.offset || since.Offset+1 < oldest {
			return nil, cur, ErrUnrecoverable
		}
	}
	var out []Message
	for i := range st.n {
		m := st.ring[(st.head+i)%len(st.ring)]
		if m.Offset > since.Offset {
			out = append(out, m)
		}
	}
	return out, cur, nil
}

func (b *memoryBroker) SendToUser(ctx context.Context, user, data string) error {
	b.h.DeliverUser(ctx, user, data)
	return nil
}

func (b *memoryBroker) CloseUser(ctx context.Context, user string, code int, reason string) error {
	b.h.CloseUser(ctx, user, code, reason)
	return nil
}

func (b *memoryBroker) Join(ctx context.Context, topic string, c Client) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users := b.presence[topic]
	if users == nil {
		users = map[string]int{}
		b.presence[topic] = users
	}
	users[c.User]++
	return users[c.User], nil
}

func (b *memoryBroker) Leave(ctx context.Context, topic string, c Client) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users := b.presence[topic]
	n := users[c.User] - 1
	if n > 0 {
		users[c.User] = n
		return n, nil
	}
	delete(users, c.User)
	if len(users) == 0 {
		delete(b.presence, topic)
	}
	return max(n, 0), nil
}

func (b *memoryBroker) Presence(ctx context.Context, topic string) ([]Member, error) {
	b.mu.Lock()
	out := make([]Member, 0, len(b.presence[topic]))
	for u, n := range b.presence[topic] {
		out = append(out, Member{u, n})
	}
	b.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.User, b.User) })
	return out, nil
}

// newEpoch names a new stream: random, so that it differs from every
// stream this process or an earlier one had under the same topic.
func newEpoch() string { return rand.Text()[:10] }

// take puts the token in c, a channel of one, waiting for room unless ctx
// ends first; a free token is taken even when ctx is done.
func take(ctx context.Context, c chan struct{}) error {
	select {
	case c <- struct{}{}:
		return nil
	default:
	}
	select {
	case c <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
