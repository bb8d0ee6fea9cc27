package hub

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/sockjsd/sockjsd/sockjs"
)

// Errors of the hub, besides a broker's own and ErrUnrecoverable.
var (
	// ErrClosed: the hub was closed.
	ErrClosed = errors.New("hub: closed")
	// ErrSessionClosed: the session is closed; it cannot join a topic.
	ErrSessionClosed = sockjs.ErrSessionClosed
	// ErrNoUser: a user-directed call was given the empty user.
	ErrNoUser = errors.New("hub: empty user name")
)

// Options configures a Hub. A nil *Options means every default.
type Options struct {
	// Broker carries topics, users, presence and history. Nil means a
	// broker in the memory of this process (NewMemoryBroker).
	Broker Broker

	// History says which messages each topic keeps, for subscribers that
	// ask for what they missed (SubscribeOptions.Since). It is called on
	// every publish and must be fast. Nil means no topic keeps any.
	History func(topic string) HistoryPolicy

	// OnPresence, when set, is called after a session joins or leaves a
	// topic (by Subscribe, Unsubscribe, or the session's end), on the
	// goroutine that made the change, with no lock held: it may call the
	// hub, to publish a "joined" notice for instance. Calls for one
	// topic may overlap, and a join and a leave made on two goroutines
	// at once may arrive in either order.
	OnPresence func(Event)
}

// Event says that a session joined or left a topic.
type Event struct {
	Topic   string
	Session *sockjs.Session
	User    string
	// Joined is true when the session joined, false when it left.
	Joined bool
	// Sessions is how many sessions of User are in Topic after the
	// change, counting every node: 1 on a join means the user just
	// arrived, 0 on a leave that the user is gone.
	Sessions int
}

// SubscribeOptions are the choices of one subscription. A nil
// *SubscribeOptions means every default.
type SubscribeOptions struct {
	// Since, when set, first delivers the messages the topic kept after
	// that position, then the live ones, with nothing lost or repeated
	// in between. A Position with no Epoch asks for every message kept
	// ("history on join"). When the messages since a Position with an
	// epoch cannot all be delivered (the epoch changed, or they are no
	// longer kept), Subscribe fails with ErrUnrecoverable.
	Since *Position

	// Format, when set, makes the text the session receives for each
	// message, such as an envelope with the topic and position. It runs
	// while the topic's deliveries wait for it, so it must be fast and
	// must not call the hub. Nil means the message's data as it is,
	// which costs no allocation per subscriber.
	Format func(Message) string
}

// Hub routes messages to sessions by topic and by user, and keeps
// presence and history through its Broker. Its methods are safe for
// concurrent use.
type Hub struct {
	broker     Broker
	history    func(string) HistoryPolicy
	onPresence func(Event)
	seq        atomic.Uint64 // numbers members, for Client.ID

	mu      sync.Mutex // guards the fields below; leaf lock, held for map operations only
	closed  bool
	topics  map[string]*topic
	members map[*sockjs.Session]*member
	users   map[string][]*member // a user's members, this node only
}

// topic is this node's side of a topic: its local subscribers.
type topic struct {
	name string
	// token is held, as the one value a channel of one can hold, by
	// whoever delivers to the topic's subscribers or changes them, so that
	// deliveries do not overlap and a subscriber joins between two of
	// them. It is a channel, not a mutex, because it is held while
	// deliveries wait for slow subscribers (the backpressure that slows a
	// publisher down); those waits are bounded by Options.SendTimeout of
	// each session, so whoever waits for the token waits a bounded time.
	token chan struct{}
	// Owned by the token's holder.
	live    bool            // the broker delivers this topic to this node
	scratch []*Subscription // the subscribers a delivery goes to

	mu   sync.Mutex // guards subs and every Subscription's idx and removed; leaf lock
	subs []*Subscription

	refs int // subscriptions and subscribes under way; guarded by Hub.mu
}

func (t *topic) lock()   { t.token <- struct{}{} }
func (t *topic) unlock() { <-t.token }

// lockContext takes the token unless ctx ends first.
func (t *topic) lockContext(ctx context.Context) error { return take(ctx, t.token) }

// member is a session the hub knows.
type member struct {
	s      *sockjs.Session
	client Client

	mu     sync.Mutex // guards the fields below; leaf lock
	gone   bool       // dropped: the session ended or the hub closed
	stop   func() bool
	subs   []*Subscription
	counts []topicCount // subscriptions per topic, for presence
}

type topicCount struct {
	t *topic
	n int
}

// countLocked adds d to the member's count of subscriptions to t and
// returns the new count.
func (m *member) countLocked(t *topic, d int) int {
	for i := range m.counts {
		if m.counts[i].t == t {
			m.counts[i].n += d
			n := m.counts[i].n
			if n == 0 {
				m.counts = slices.Delete(m.counts, i, i+1)
			}
			return n
		}
	}
	m.counts = append(m.counts, topicCount{t, d})
	return d
}

// Subscription is one session's subscription to one topic. A session may
// hold several to one topic (each gets every message, with its own
// Format); it counts once in presence.
type Subscription struct {
	h      *Hub
	t      *topic
	m      *member
	format func(Message) string
	skip   uint64 // deliveries up to this offset are skipped (they came from history); owned by the token's holder

	idx     int  // index in t.subs; guarded by t.mu
	removed bool // guarded by t.mu
}

// Topic returns the subscription's topic.
func (sub *Subscription) Topic() string { return sub.t.name }

// Session returns the subscribed session.
func (sub *Subscription) Session() *sockjs.Session { return sub.m.s }

// Unsubscribe ends the subscription. It waits for a delivery to the
// topic under way, or for ctx. Ending an ended subscription does nothing.
func (sub *Subscription) Unsubscribe(ctx context.Context) error {
	ev, err := sub.h.leave(ctx, sub)
	sub.h.notify(ev)
	return err
}

// New returns a Hub. A nil opts means every default.
func New(opts *Options) *Hub {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Broker == nil {
		o.Broker = NewMemoryBroker()
	}
	h := &Hub{
		broker:     o.Broker,
		history:    o.History,
		onPresence: o.OnPresence,
		topics:     map[string]*topic{},
		members:    map[*sockjs.Session]*member{},
		users:      map[string][]*member{},
	}
	o.Broker.Bind(handler{h})
	return h
}

// Add makes s known to the hub, so that SendToUser, CloseUser and Users
// reach it without it being in a topic; Subscribe does it too. The hub
// forgets s when it closes. Adding a session twice does nothing.
func (h *Hub) Add(ctx context.Context, s *sockjs.Session) error {
	_, err := onOwnStack(func() (*member, error) { return h.add(ctx, s) })
	return err
}

func (h *Hub) add(ctx context.Context, s *sockjs.Session) (*member, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if m := h.members[s]; m != nil {
		h.mu.Unlock()
		return m, nil
	}
	if s.Context().Err() != nil {
		h.mu.Unlock()
		return nil, ErrSessionClosed
	}
	m := &member{s: s, client: Client{ID: strconv.FormatUint(h.seq.Add(1), 36), User: s.User()}}
	h.members[s] = m
	h.users[m.client.User] = append(h.users[m.client.User], m)
	h.mu.Unlock()

	// Join before the end can be watched, so that the end's Leave follows.
	if _, err := h.broker.Join(ctx, "", m.client); err != nil {
		h.forget(m)
		return nil, err
	}
	m.mu.Lock()
	m.stop = s.AfterClose(func() { h.drop(m) })
	m.mu.Unlock()
	return m, nil
}

// forget removes m from the hub's maps.
func (h *Hub) forget(m *member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.members[m.s] == m {
		delete(h.members, m.s)
	}
	u := m.client.User
	if i := slices.Index(h.users[u], m); i >= 0 {
		h.users[u] = slices.Delete(h.users[u], i, i+1)
		if len(h.users[u]) == 0 {
			delete(h.users, u)
		}
	}
}

// drop takes a session that ended (or a closing hub's) out of its topics
// and of the hub.
func (h *Hub) drop(m *member) {
	m.mu.Lock()
	if m.gone {
		m.mu.Unlock()
		return
	}
	m.gone = true
	subs := m.subs
	m.subs = nil
	m.mu.Unlock()
	for _, sub := range subs {
		ev, _ := h.leave(context.Background(), sub)
		h.notify(ev)
	}
	h.forget(m)
	_, _ = h.broker.Leave(context.Background(), "", m.client)
}

// Subscribe subscribes s to topic: from its return on, s receives every
// message published to topic, each publisher's in the order published,
// until it unsubscribes or closes. It waits for a delivery to the topic
// under way, and with opts.Since for the missed messages to be queued.
func (h *Hub) Subscribe(ctx context.Context, s *sockjs.Session, topic string, opts *SubscribeOptions) (*Subscription, error) {
	return onOwnStack(func() (*Subscription, error) { return h.subscribe(ctx, s, topic, opts) })
}

// onOwnStack runs f on a goroutine of its own and waits for it, handing
// its panic, if any, on to the caller. Subscribe's work (the broker,
// presence, history) goes deeper than an idle session's handler ever
// does again, and a goroutine's stack, once grown, stays grown while the
// handler waits in Recv: run on the caller's stack it cost every idle
// subscribed session a doubled stack, about 2 KiB.
func onOwnStack[T any](f func() (T, error)) (T, error) {
	type result struct {
		v     T
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.panic = p
			}
			done <- r
		}()
		r.v, r.err = f()
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.v, r.err
}

func (h *Hub) subscribe(ctx context.Context, s *sockjs.Session, topic string, opts *SubscribeOptions) (*Subscription, error) {
	if err := CheckTopic(topic); err != nil {
		return nil, err
	}
	var o SubscribeOptions
	if opts != nil {
		o = *opts
	}
	m, err := h.add(ctx, s)
	if err != nil {
		return nil, err
	}
	t := h.pin(topic)
	if t == nil {
		return nil, ErrClosed
	}
	sub := &Subscription{h: h, t: t, m: m, format: o.Format}
	if err := t.lockContext(ctx); err != nil {
		h.unpin(t)
		return nil, err
	}
	ev, err := h.subscribeLocked(ctx, sub, o.Since)
	t.unlock()
	if err != nil {
		h.unpin(t)
		return nil, err
	}
	h.notify(ev)
	return sub, nil
}

// subscribeLocked does Subscribe's work with the topic's token held.
func (h *Hub) subscribeLocked(ctx context.Context, sub *Subscription, since *Position) (*Event, error) {
	t, m := sub.t, sub.m
	if !t.live {
		if err := h.broker.Subscribe(ctx, t.name); err != nil {
			return nil, err
		}
		t.live = true
	}
	if since != nil {
		msgs, pos, err := h.broker.History(ctx, t.name, *since)
		if err != nil {
			h.idleLocked(ctx, t)
			return nil, err
		}
		for _, msg := range msgs {
			if err := m.s.SendContext(ctx, sub.text(msg)); err != nil {
				h.idleLocked(ctx, t)
				return nil, err
			}
		}
		sub.skip = pos.Offset // a delivery of those is on its way: skip it
	}
	m.mu.Lock()
	if m.gone {
		m.mu.Unlock()
		h.idleLocked(ctx, t)
		return nil, ErrSessionClosed
	}
	m.subs = append(m.subs, sub)
	first := m.countLocked(t, 1) == 1
	m.mu.Unlock()
	t.mu.Lock()
	sub.idx = len(t.subs)
	t.subs = append(t.subs, sub)
	t.mu.Unlock()
	if !first {
		return nil, nil
	}
	n, err := h.broker.Join(ctx, t.name, m.client)
	if err != nil {
		// The subscription stands; only presence failed to record it.
		return nil, nil
	}
	return &Event{Topic: t.name, Session: m.s, User: m.client.User, Joined: true, Sessions: n}, nil
}

// Unsubscribe ends every subscription of s to topic.
func (h *Hub) Unsubscribe(ctx context.Context, s *sockjs.Session, topic string) error {
	if err := CheckTopic(topic); err != nil {
		return err
	}
	h.mu.Lock()
	m := h.members[s]
	h.mu.Unlock()
	if m == nil {
		return nil
	}
	m.mu.Lock()
	var subs []*Subscription
	for _, sub := range m.subs {
		if sub.t.name == topic {
			subs = append(subs, sub)
		}
	}
	m.mu.Unlock()
	for _, sub := range subs {
		if err := sub.Unsubscribe(ctx); err != nil {
			return err
		}
	}
	return nil
}

// leave ends sub, returning the leave event if it was its session's last
// subscription to the topic.
func (h *Hub) leave(ctx context.Context, sub *Subscription) (*Event, error) {
	t, m := sub.t, sub.m
	if err := t.lockContext(ctx); err != nil {
		return nil, err
	}
	defer t.unlock()
	t.mu.Lock()
	if sub.removed {
		t.mu.Unlock()
		return nil, nil
	}
	sub.removed = true
	last := len(t.subs) - 1
	t.subs[sub.idx] = t.subs[last]
	t.subs[sub.idx].idx = sub.idx
	t.subs[last] = nil
	t.subs = t.subs[:last]
	t.mu.Unlock()
	defer h.unpin(t) // after the token is released: unpin may forget t

	m.mu.Lock()
	if i := slices.Index(m.subs, sub); i >= 0 {
		m.subs = slices.Delete(m.subs, i, i+1)
	}
	gone := m.countLocked(t, -1) == 0
	m.mu.Unlock()
	var ev *Event
	var err error
	if gone {
		var n int
		if n, err = h.broker.Leave(ctx, t.name, m.client); err == nil {
			ev = &Event{Topic: t.name, Session: m.s, User: m.client.User, Sessions: n}
		}
	}
	if e := h.idleLocked(ctx, t); err == nil {
		err = e
	}
	return ev, err
}

// idleLocked stops the broker's deliveries of t once it has no local
// subscriber. The caller holds t's token.
func (h *Hub) idleLocked(ctx context.Context, t *topic) error {
	t.mu.Lock()
	empty := len(t.subs) == 0
	t.mu.Unlock()
	if !empty || !t.live {
		return nil
	}
	t.live = false
	return h.broker.Unsubscribe(ctx, t.name)
}

// pin returns the local topic named name, making it first, and counts a
// reference to it; nil once the hub is closed.
func (h *Hub) pin(name string) *topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	t := h.topics[name]
	if t == nil {
		t = &topic{name: name, token: make(chan struct{}, 1)}
		h.topics[name] = t
	}
	t.refs++
	return t
}

// unpin drops a reference to t, forgetting t with the last.
func (h *Hub) unpin(t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.refs--
	if t.refs == 0 && h.topics[t.name] == t {
		delete(h.topics, t.name)
	}
}

func (h *Hub) notify(ev *Event) {
	if ev != nil && h.onPresence != nil {
		h.onPresence(*ev)
	}
}

// Publish sends data to every subscriber of topic, on every node, and
// returns its position in the topic's stream. Each subscriber receives
// one publisher's messages in the order they were published; the
// messages of concurrent publishers are put in one order, the same for
// every subscriber.
//
// Publish waits while a subscriber's send queue is full, until it has
// room: a publisher is slowed down to the pace of its slowest healthy
// subscriber, and a subscriber that stays full for its server's
// Options.SendTimeout is closed as a slow client (CodeSlowClient). If ctx
// ends while Publish waits for its turn, nothing is published and ctx's
// error is returned; once the message has its position, it is delivered
// to every subscriber, and those that have no room left when ctx ends
// are closed as slow clients. To publish without ever waiting, pass a
// context that is done: the message is published at once if no other
// publish of the topic is under way.
func (h *Hub) Publish(ctx context.Context, topic, data string) (Position, error) {
	if err := CheckTopic(topic); err != nil {
		return Position{}, err
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return Position{}, ErrClosed
	}
	var policy HistoryPolicy
	if h.history != nil {
		policy = h.history(topic)
	}
	return h.broker.Publish(ctx, topic, data, policy)
}

// handler is the Handler a hub gives its broker.
type handler struct{ h *Hub }

func (x handler) Deliver(ctx context.Context, m Message) { x.h.deliver(ctx, m) }

func (x handler) DeliverUser(ctx context.Context, user, data string) {
	for _, s := range x.h.UserSessions(user) {
		send(ctx, s, data)
	}
}

func (x handler) CloseUser(ctx context.Context, user string, code int, reason string) {
	for _, s := range x.h.UserSessions(user) {
		_ = s.Close(code, reason)
	}
}

// deliver fans m out to this node's subscribers of m.Topic.
func (h *Hub) deliver(ctx context.Context, m Message) {
	h.mu.Lock()
	t := h.topics[m.Topic]
	h.mu.Unlock()
	if t == nil {
		return
	}
	// Not lockContext: a message that has its position reaches every
	// subscriber, and the wait is bounded (see topic.token).
	t.lock()
	defer t.unlock()
	t.mu.Lock()
	t.scratch = append(t.scratch[:0], t.subs...)
	t.mu.Unlock()
	for _, sub := range t.scratch {
		sub.deliver(ctx, m)
	}
	clear(t.scratch) // keep no closed session reachable
}

// deliver sends m to sub's session. The caller holds the topic's token.
func (sub *Subscription) deliver(ctx context.Context, m Message) {
	if sub.skip != 0 {
		if m.Offset <= sub.skip {
			return
		}
		sub.skip = 0
	}
	send(ctx, sub.m.s, sub.text(m))
}

func (sub *Subscription) text(m Message) string {
	if sub.format != nil {
		return sub.format(m)
	}
	return m.Data
}

// send queues msg for s, waiting for room as long as ctx lasts; once ctx
// is done, a session with no room left is closed as a slow client.
func send(ctx context.Context, s *sockjs.Session, msg string) {
	if ctx.Err() == nil {
		if err := s.SendContext(ctx, msg); err == nil || ctx.Err() == nil {
			return // sent, or the session closed
		}
	}
	_ = s.Send(msg)
}

// SendToUser sends data to every session of user, on every node, with
// Publish's waiting.
func (h *Hub) SendToUser(ctx context.Context, user, data string) error {
	if user == "" {
		return ErrNoUser
	}
	if h.isClosed() {
		return ErrClosed
	}
	return h.broker.SendToUser(ctx, user, data)
}

// CloseUser closes every session of user, on every node, with code and
// reason (logging a user out everywhere).
func (h *Hub) CloseUser(ctx context.Context, user string, code int, reason string) error {
	if user == "" {
		return ErrNoUser
	}
	if h.isClosed() {
		return ErrClosed
	}
	return h.broker.CloseUser(ctx, user, code, reason)
}

// UserSessions returns this node's sessions of user (the anonymous ones
// for "").
func (h *Hub) UserSessions(user string) []*sockjs.Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := h.users[user]
	out := make([]*sockjs.Session, len(ms))
	for i, m := range ms {
		out[i] = m.s
	}
	return out
}

// Users returns every user with sessions in the hub, on every node, with
// how many; anonymous sessions count under "".
func (h *Hub) Users(ctx context.Context) ([]Member, error) {
	return h.broker.Presence(ctx, "")
}

// Presence returns the users subscribed to topic, on every node, with
// how many of their sessions are.
func (h *Hub) Presence(ctx context.Context, topic string) ([]Member, error) {
	if err := CheckTopic(topic); err != nil {
		return nil, err
	}
	return h.broker.Presence(ctx, topic)
}

// Close takes every session out of the hub (without closing them) and
// makes every later call fail with ErrClosed.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	ms := make([]*member, 0, len(h.members))
	for _, m := range h.members {
		ms = append(ms, m)
	}
	h.mu.Unlock()
	for _, m := range ms {
		m.mu.Lock()
		stop := m.stop
		m.mu.Unlock()
		if stop != nil {
			stop()
		}
		h.drop(m)
	}
}

func (h *Hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}
