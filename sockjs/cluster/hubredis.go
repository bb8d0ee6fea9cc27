package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// HubOptions configures a hub broker on Redis or NATS. The zero value is
// usable.
type HubOptions struct {
	// Name tells apart the hubs that share one Redis or NATS server: one
	// per hub (sockjsd uses the service's name). It must be the same on
	// every node and hold only letters, digits, '-' and '_'. Empty means
	// "hub".
	Name string

	// PresenceTTL bounds how long the presence of a node's sessions
	// outlives the node: a node rewrites its entries every PresenceTTL/3,
	// and those of a node that stopped doing so are gone PresenceTTL
	// after the last time it did. Zero means DefaultPresenceTTL.
	PresenceTTL time.Duration

	// Logger receives the broker's logs (lost connections, dropped
	// deliveries). Nil means none.
	Logger *slog.Logger
}

// DefaultPresenceTTL is the PresenceTTL of HubOptions with none.
const DefaultPresenceTTL = 30 * time.Second

func (o *HubOptions) withDefaults() (HubOptions, error) {
	var c HubOptions
	if o != nil {
		c = *o
	}
	if c.Name == "" {
		c.Name = "hub"
	}
	for _, r := range c.Name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return c, fmt.Errorf("sockjs/cluster: HubOptions.Name %q: only letters, digits, '-' and '_'", c.Name)
		}
	}
	if c.PresenceTTL <= 0 {
		c.PresenceTTL = DefaultPresenceTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// newNodeID names one broker instance in presence entries: random, so
// that a restarted node never takes its predecessor's entries for its own.
func newNodeID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RedisHub is a hub.Broker on a Redis server, for the hubs of one name on
// every node. Create it with NewRedisHub, pass it as hub.Options.Broker,
// and Close it after the hub.
//
// A topic's stream is a hash (its epoch and last offset) and a Redis
// stream (its kept messages, entry ids being offsets); Publish is one
// script that takes the next offset, appends, trims and publishes the
// message on the topic's channel, so that every node receives the
// messages of a topic in offset order. A node subscribes to a topic's
// channel while it has a local subscriber. Pub/sub is at most once: a
// message published while a node's connection to Redis is down does not
// reach it (subscribers that pass a Position recover from history).
// Users' messages and closes go on one channel every node subscribes to.
// Presence is a hash of node+user → sessions and a sorted set of each
// node's expiry, per topic.
type RedisHub struct {
	client redis.UniversalClient
	opts   HubOptions
	prefix string // "sockjsd:hub:<name>:"
	node   string
	log    *slog.Logger
	ps     *redis.PubSub
	h      hub.Handler // set once by Bind, before any other method

	presence presenceBook

	mu      sync.Mutex // guards the fields below; leaf lock
	topics  map[string]*redisTopic
	waiters map[string][]chan struct{} // channel → Subscribe calls awaiting its confirmation
	closed  bool

	work     sync.WaitGroup // the reader, the refresher and every topic's drainer
	stopping chan struct{}  // closed by Close
}

// redisTopic is a topic this node receives. Guarded by RedisHub.mu.
type redisTopic struct {
	subscribed bool
	queue      []hub.Message // received, not yet delivered
	draining   bool          // a goroutine delivers the queue
}

// maxQueue is how many received messages of one topic wait for delivery
// before more are dropped (and logged): the hub delivers as fast as the
// slowest subscriber allows, and closes those that stall.
const maxQueue = 1 << 14

// NewRedisHub returns a hub broker on the Redis server client talks to,
// after checking that it answers. The client stays the caller's to close,
// after Close.
func NewRedisHub(ctx context.Context, client redis.UniversalClient, opts *HubOptions) (*RedisHub, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("sockjs/cluster: redis: %w", err)
	}
	b := &RedisHub{
		client:   client,
		opts:     o,
		prefix:   "sockjsd:hub:" + o.Name + ":",
		node:     newNodeID(),
		log:      o.Logger,
		topics:   map[string]*redisTopic{},
		waiters:  map[string][]chan struct{}{},
		stopping: make(chan struct{}),
	}
	b.presence.init()
	b.ps = client.Subscribe(ctx) // no channel yet: the reader gets the confirmations
	ch := b.ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	b.work.Add(2)
	go b.read(ch)
	go b.refreshLoop()
	if err := b.subscribe(ctx, b.usersChannel()); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("sockjs/cluster: redis: %w", err)
	}
	return b, nil
}

func (b *RedisHub) usersChannel() string         { return b.prefix + "users" }
func (b *RedisHub) topicChannel(t string) string { return b.prefix + "t:" + t }

// tag keeps every key of a topic in one Redis Cluster slot.
func (b *RedisHub) topicKey(topic, kind string) string {
	return b.prefix + "{" + topic + "}:" + kind
}

// Bind implements hub.Broker.
func (b *RedisHub) Bind(h hub.Handler) { b.h = h }

// Close stops deliveries and the presence refresh, deletes this node's
// presence entries, and waits for deliveries under way.
func (b *RedisHub) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.stopping)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, topic := range b.presence.topics() {
		errs = append(errs, b.client.HDel(ctx, b.topicKey(topic, "p"), b.presence.fields(topic, b.node)...).Err(),
			b.client.ZRem(ctx, b.topicKey(topic, "pn"), b.node).Err())
	}
	errs = append(errs, b.ps.Close()) // ends the reader
	b.work.Wait()
	return errors.Join(errs...)
}

// subscribe subscribes the pub/sub connection to channel and waits for
// Redis to confirm it: from then on, every message published there
// reaches this node.
func (b *RedisHub) subscribe(ctx context.Context, channel string) error {
	done := make(chan struct{})
	b.mu.Lock()
	b.waiters[channel] = append(b.waiters[channel], done)
	b.mu.Unlock()
	err := b.ps.Subscribe(ctx, channel)
	if err == nil {
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(10 * time.Second):
			err = errors.New("no confirmation from redis within 10 s")
		}
	}
	b.mu.Lock()
	ws := b.waiters[channel]
	for i, w := range ws {
		if w == done {
			b.waiters[channel] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(b.waiters[channel]) == 0 {
		delete(b.waiters, channel)
	}
	b.mu.Unlock()
	return err
}

// read dispatches everything the pub/sub connection receives, until
// Close closes it. go-redis reconnects and resubscribes on its own.
func (b *RedisHub) read(ch <-chan any) {
	defer b.work.Done()
	for v := range ch {
		switch v := v.(type) {
		case *redis.Subscription:
			if v.Kind == "subscribe" {
				b.mu.Lock()
				for _, w := range b.waiters[v.Channel] {
					close(w)
				}
				delete(b.waiters, v.Channel)
				b.mu.Unlock()
			}
		case *redis.Message:
			if v.Channel == b.usersChannel() {
				b.userMessage(v.Payload)
				continue
			}
			if topic, ok := strings.CutPrefix(v.Channel, b.prefix+"t:"); ok {
				b.topicMessage(topic, v.Payload)
			}
		}
	}
}

// topicMessage queues a topic's message, "<offset> <epoch> <data>", for
// delivery by the topic's drainer.
func (b *RedisHub) topicMessage(topic, payload string) {
	offs, rest, _ := strings.Cut(payload, " ")
	epoch, data, ok := strings.Cut(rest, " ")
	off, err := strconv.ParseUint(offs, 10, 64)
	if !ok || err != nil {
		b.log.Warn("sockjs/cluster: malformed hub message", "topic", topic)
		return
	}
	m := hub.Message{Topic: topic, Data: data, Offset: off, Epoch: epoch}
	b.mu.Lock()
	t := b.topics[topic]
	switch {
	case t == nil || !t.subscribed || b.closed:
	case len(t.queue) >= maxQueue:
		b.log.Warn("sockjs/cluster: hub delivery queue full, message dropped", "topic", topic, "offset", off)
	default:
		t.queue = append(t.queue, m)
		if !t.draining {
			t.draining = true
			b.work.Add(1)
			go b.drain(topic, t)
		}
	}
	b.mu.Unlock()
}

// drain delivers t's queue in order, then ends; one runs per topic at a
// time, so deliveries of a topic never overlap.
func (b *RedisHub) drain(topic string, t *redisTopic) {
	defer b.work.Done()
	ctx := context.Background()
	for {
		b.mu.Lock()
		if len(t.queue) == 0 || b.closed {
			t.queue = nil
			t.draining = false
			if !t.subscribed && b.topics[topic] == t {
				delete(b.topics, topic)
			}
			b.mu.Unlock()
			return
		}
		m := t.queue[0]
		t.queue[0] = hub.Message{}
		t.queue = t.queue[1:]
		b.mu.Unlock()
		b.h.Deliver(ctx, m)
	}
}

// userMessage handles "s <user>\x00<data>" and "c <code> <user>\x00<reason>".
func (b *RedisHub) userMessage(payload string) {
	ctx := context.Background()
	kind, rest, _ := strings.Cut(payload, " ")
	switch kind {
	case "s":
		user, data, ok := strings.Cut(rest, "\x00")
		if ok {
			b.h.DeliverUser(ctx, user, data)
		}
	case "c":
		codes, rest, _ := strings.Cut(rest, " ")
		user, reason, ok := strings.Cut(rest, "\x00")
		code, err := strconv.Atoi(codes)
		if ok && err == nil {
			b.h.CloseUser(ctx, user, code, reason)
		}
	}
}

// publishScript: KEYS[1] the topic's hash, KEYS[2] its stream; ARGV[1] a
// new epoch (used if the topic has none), ARGV[2] how many messages to
// keep, ARGV[3] their TTL in ms (0: none), ARGV[4] the data, ARGV[5] the
// channel, ARGV[6] the time in ms. Returns {offset, epoch}.
var publishScript = redis.NewScript(`
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
	epoch = ARGV[1]
	redis.call('HSET', KEYS[1], 'e', epoch)
end
local off = redis.call('HINCRBY', KEYS[1], 'o', 1)
local size = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'k', size, 't', ttl)
if size > 0 then
	redis.call('XADD', KEYS[2], 'MAXLEN', size, off .. '-1', 'd', ARGV[4], 't', ARGV[6])
else
	redis.call('DEL', KEYS[2])
end
if ttl > 0 then
	redis.call('PEXPIRE', KEYS[1], ttl)
	if size > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
else
	redis.call('PERSIST', KEYS[1])
	if size > 0 then redis.call('PERSIST', KEYS[2]) end
end
redis.call('PUBLISH', ARGV[5], off .. ' ' .. epoch .. ' ' .. ARGV[4])
return {off, epoch}`)

// Publish implements hub.Broker: one round trip, which appends, trims and
// publishes atomically. It returns when Redis has the message; deliveries
// follow on every subscribed node, this one included.
func (b *RedisHub) Publish(ctx context.Context, topic, data string, policy hub.HistoryPolicy) (hub.Position, error) {
	res, err := publishScript.Run(ctx, b.client,
		[]string{b.topicKey(topic, "m"), b.topicKey(topic, "s")},
		rand.Text()[:10], max(policy.Size, 0), max(policy.TTL.Milliseconds(), 0), data, b.topicChannel(topic),
		time.Now().UnixMilli()).Slice()
	if err != nil {
		return hub.Position{}, fmt.Errorf("sockjs/cluster: redis publish: %w", err)
	}
	if len(res) != 2 {
		return hub.Position{}, errors.New("sockjs/cluster: redis publish: unexpected reply")
	}
	off, _ := res[0].(int64)
	epoch, _ := res[1].(string)
	return hub.Position{Offset: uint64(off), Epoch: epoch}, nil
}

// Subscribe implements hub.Broker.
func (b *RedisHub) Subscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return hub.ErrClosed
	}
	t := b.topics[topic]
	if t == nil {
		t = &redisTopic{}
		b.topics[topic] = t
	}
	t.subscribed = true
	b.mu.Unlock()
	if err := b.subscribe(ctx, b.topicChannel(topic)); err != nil {
		_ = b.Unsubscribe(context.WithoutCancel(ctx), topic)
		return fmt.Errorf("sockjs/cluster: redis subscribe: %w", err)
	}
	return nil
}

// Unsubscribe implements hub.Broker. Messages already received are still
// delivered.
func (b *RedisHub) Unsubscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	if t := b.topics[topic]; t != nil {
		t.subscribed = false
		if !t.draining {
			delete(b.topics, topic)
		}
	}
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil
	}
	return b.ps.Unsubscribe(ctx, b.topicChannel(topic))
}

// historyScript: KEYS[1] the topic's hash, KEYS[2] its stream. Returns
// {epoch or false, offset, ttl, entries}, read at one instant.
var historyScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[1], 'e', 'o', 't')
if not m[1] then return {false, 0, 0, {}} end
return {m[1], tonumber(m[2]), tonumber(m[3]), redis.call('XRANGE', KEYS[2], '-', '+')}`)

// History implements hub.Broker.
func (b *RedisHub) History(ctx context.Context, topic string, since hub.Position) ([]hub.Message, hub.Position, error) {
	res, err := historyScript.Run(ctx, b.client, []string{b.topicKey(topic, "m"), b.topicKey(topic, "s")}).Slice()
	if err != nil {
		return nil, hub.Position{}, fmt.Errorf("sockjs/cluster: redis history: %w", err)
	}
	if len(res) != 4 {
		return nil, hub.Position{}, errors.New("sockjs/cluster: redis history: unexpected reply")
	}
	epoch, _ := res[0].(string)
	if epoch == "" { // no stream: never written, or gone with its epoch
		if since.Epoch != "" {
			return nil, hub.Position{}, hub.ErrUnrecoverable
		}
		return nil, hub.Position{}, nil
	}
	off, _ := res[1].(int64)
	ttl, _ := res[2].(int64)
	cur := hub.Position{Offset: uint64(off), Epoch: epoch}
	entries, _ := res[3].([]any)
	var limit int64
	if ttl > 0 {
		limit = time.Now().UnixMilli() - ttl
	}
	msgs := make([]hub.Message, 0, len(entries))
	for _, e := range entries {
		m, ok := redisEntry(topic, epoch, e, limit)
		if ok {
			msgs = append(msgs, m)
		}
	}
	oldest := cur.Offset + 1
	if len(msgs) > 0 {
		oldest = msgs[0].Offset
	}
	if since.Epoch != "" && (since.Epoch != epoch || since.Offset > cur.Offset || since.Offset+1 < oldest) {
		return nil, cur, hub.ErrUnrecoverable
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m.Offset > since.Offset {
			out = append(out, m)
		}
	}
	return out, cur, nil
}

// redisEntry reads one XRANGE entry, [id, [field, value, ...]], dropping
// one published before limit (ms).
func redisEntry(topic, epoch string, e any, limit int64) (hub.Message, bool) {
	pair, _ := e.([]any)
	if len(pair) != 2 {
		return hub.Message{}, false
	}
	id, _ := pair[0].(string)
	offs, _, _ := strings.Cut(id, "-")
	off, err := strconv.ParseUint(offs, 10, 64)
	if err != nil {
		return hub.Message{}, false
	}
	fields, _ := pair[1].([]any)
	m := hub.Message{Topic: topic, Offset: off, Epoch: epoch}
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		v, _ := fields[i+1].(string)
		switch k {
		case "d":
			m.Data = v
		case "t":
			if t, _ := strconv.ParseInt(v, 10, 64); t < limit {
				return hub.Message{}, false
			}
		}
	}
	return m, true
}

// SendToUser implements hub.Broker.
func (b *RedisHub) SendToUser(ctx context.Context, user, data string) error {
	return b.client.Publish(ctx, b.usersChannel(), "s "+user+"\x00"+data).Err()
}

// CloseUser implements hub.Broker.
func (b *RedisHub) CloseUser(ctx context.Context, user string, code int, reason string) error {
	return b.client.Publish(ctx, b.usersChannel(), "c "+strconv.Itoa(code)+" "+user+"\x00"+reason).Err()
}

// presenceScript: KEYS[1] the topic's hash of node+"\0"+user → sessions,
// KEYS[2] its sorted set of node → expiry (ms); ARGV[1] this node,
// ARGV[2] now, ARGV[3] this node's new expiry, ARGV[4] the key TTL (ms),
// ARGV[5] the user whose sessions to count (or false), then pairs of
// user, sessions of this node to write (0 deletes). Forgets expired
// nodes, writes, and returns the hash's live fields, or only the counts
// of ARGV[5] when given.
var presenceScript = redis.NewScript(`
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if #dead > 0 then
	local gone = {}
	for _, n in ipairs(dead) do gone[n] = true end
	redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
	local all = redis.call('HKEYS', KEYS[1])
	for _, f in ipairs(all) do
		local n = string.match(f, '^([^%z]*)%z')
		if n and gone[n] then redis.call('HDEL', KEYS[1], f) end
	end
end
for i = 6, #ARGV, 2 do
	local f = ARGV[1] .. '\0' .. ARGV[i]
	if tonumber(ARGV[i+1]) > 0 then
		redis.call('HSET', KEYS[1], f, ARGV[i+1])
	else
		redis.call('HDEL', KEYS[1], f)
	end
end
if #ARGV >= 6 then
	redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
	redis.call('PEXPIRE', KEYS[1], ARGV[4])
	redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
if ARGV[5] ~= '' then
	local nodes = redis.call('ZRANGE', KEYS[2], 0, -1)
	local out = {}
	for _, n in ipairs(nodes) do
		local v = redis.call('HGET', KEYS[1], n .. '\0' .. string.sub(ARGV[5], 2))
		if v then table.insert(out, v) end
	end
	return out
end
return redis.call('HGETALL', KEYS[1])`)

// presenceCall runs presenceScript for topic with this node's writes
// (user → sessions), counting user's sessions when count.
func (b *RedisHub) presenceCall(ctx context.Context, topic string, writes map[string]int, count bool, user string) ([]any, error) {
	now := time.Now()
	args := []any{b.node, now.UnixMilli(), now.Add(b.opts.PresenceTTL).UnixMilli(), b.opts.PresenceTTL.Milliseconds()}
	if count {
		args = append(args, "u"+user) // never empty: "" asks for no count
	} else {
		args = append(args, "")
	}
	for u, n := range writes {
		args = append(args, u, n)
	}
	return presenceScript.Run(ctx, b.client, []string{b.topicKey(topic, "p"), b.topicKey(topic, "pn")}, args...).Slice()
}

// Join implements hub.Broker.
func (b *RedisHub) Join(ctx context.Context, topic string, c hub.Client) (int, error) {
	n := b.presence.add(topic, c.User, 1)
	res, err := b.presenceCall(ctx, topic, map[string]int{c.User: n}, true, c.User)
	if err != nil {
		return 0, fmt.Errorf("sockjs/cluster: redis presence: %w", err)
	}
	return sumCounts(res), nil
}

// Leave implements hub.Broker.
func (b *RedisHub) Leave(ctx context.Context, topic string, c hub.Client) (int, error) {
	n := b.presence.add(topic, c.User, -1)
	res, err := b.presenceCall(ctx, topic, map[string]int{c.User: n}, true, c.User)
	if err != nil {
		return 0, fmt.Errorf("sockjs/cluster: redis presence: %w", err)
	}
	return sumCounts(res), nil
}

func sumCounts(res []any) int {
	total := 0
	for _, v := range res {
		s, _ := v.(string)
		n, _ := strconv.Atoi(s)
		total += n
	}
	return total
}

// Presence implements hub.Broker.
func (b *RedisHub) Presence(ctx context.Context, topic string) ([]hub.Member, error) {
	res, err := b.presenceCall(ctx, topic, nil, false, "")
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: redis presence: %w", err)
	}
	users := map[string]int{}
	for i := 0; i+1 < len(res); i += 2 {
		f, _ := res[i].(string)
		v, _ := res[i+1].(string)
		_, user, ok := strings.Cut(f, "\x00")
		n, _ := strconv.Atoi(v)
		if ok && n > 0 {
			users[user] += n
		}
	}
	return members(users), nil
}

// refreshLoop rewrites this node's presence every PresenceTTL/3, so that
// it outlives a Redis restart and expires only with the node.
func (b *RedisHub) refreshLoop() {
	defer b.work.Done()
	t := time.NewTicker(b.opts.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-b.stopping:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.PresenceTTL/3)
		for _, topic := range b.presence.topics() {
			if _, err := b.presenceCall(ctx, topic, b.presence.snapshot(topic), false, ""); err != nil {
				b.log.Warn("sockjs/cluster: presence refresh failed", "topic", topic, "err", err)
				break
			}
		}
		cancel()
	}
}

// abandon stops b as a killed process would: no more deliveries or
// presence refreshes, nothing deleted. For tests.
func (b *RedisHub) abandon() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.stopping)
	b.mu.Unlock()
	_ = b.ps.Close()
	b.work.Wait()
}
