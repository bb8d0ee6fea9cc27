package cluster

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// NATSHub is a hub.Broker on NATS with JetStream, for the hubs of one
// name on every node. Create it with NewNATSHub, pass it as
// hub.Options.Broker, and Close it after the hub.
//
// Every topic is one subject of a JetStream stream (file storage, so
// history survives a NATS restart too). Publish writes the next offset
// and the topic's epoch in the message's headers and expects the topic's
// last stream sequence, so that two nodes publishing at once get
// consecutive offsets (the loser retries); the stream republishes every
// stored message, in stream order, on a core subject that the nodes with
// local subscribers subscribe to. Core delivery is at most once, like
// Redis pub/sub. Users' messages and closes go on one core subject every
// node subscribes to. Presence is a key-value bucket whose keys expire
// PresenceTTL after this node last wrote them.
type NATSHub struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	stream   jetstream.Stream
	kv       jetstream.KeyValue
	kvStream jetstream.Stream // the presence bucket's stream, for its keys
	opts     HubOptions
	subj     string // "sockjsd.hub.<name>."
	node     string
	log      *slog.Logger
	maxKeep  int
	h        hub.Handler // set once by Bind
	userSub  *nats.Subscription
	presence presenceBook

	mu     sync.Mutex // guards the fields below; leaf lock
	topics map[string]*natsTopic
	last   map[string]natsLast // topic → what this node last published there
	closed bool

	// pubTurn serializes this node's publishes to one topic (striped by
	// the topic's hash): a token in a channel of one, waited for with the
	// publisher's context. Held across the publish's round trip, so that
	// only other nodes' publishes make a publish retry.
	pubTurn [64]chan struct{}

	work     sync.WaitGroup // the refresher
	stopping chan struct{}
}

// natsTopic is a topic this node receives.
type natsTopic struct {
	sub     *nats.Subscription
	deliver sync.Mutex // held while a delivery of the topic is under way
}

// natsLast is the last message of a topic as a publish saw it.
type natsLast struct {
	seq    uint64
	offset uint64
	epoch  string
}

// NATSHubOptions adds NATS's settings to HubOptions.
type NATSHubOptions struct {
	HubOptions
	// MaxHistory caps every topic's kept messages (the stream's
	// MaxMsgsPerSubject): hub.HistoryPolicy.Size beyond it is cut to it.
	// Zero means 1000.
	MaxHistory int
	// Replicas is the stream's and the bucket's number of replicas in a
	// JetStream cluster. Zero means 1.
	Replicas int
}

// Header names of a hub message in the stream.
const (
	hdrOffset = "Sockjsd-Offset"
	hdrEpoch  = "Sockjsd-Epoch"
	hdrKeep   = "Sockjsd-Keep"
	hdrTTL    = "Sockjsd-Ttl"
)

// NewNATSHub returns a hub broker on the NATS server nc is connected to,
// creating (or updating) its stream and presence bucket. nc stays the
// caller's to close, after Close.
func NewNATSHub(ctx context.Context, nc *nats.Conn, opts *NATSHubOptions) (*NATSHub, error) {
	var no NATSHubOptions
	if opts != nil {
		no = *opts
	}
	o, err := no.HubOptions.withDefaults()
	if err != nil {
		return nil, err
	}
	if no.MaxHistory <= 0 {
		no.MaxHistory = 1000
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: nats: %w", err)
	}
	b := &NATSHub{
		nc: nc, js: js, opts: o, log: o.Logger,
		subj:     "sockjsd.hub." + o.Name + ".",
		node:     newNodeID(),
		maxKeep:  no.MaxHistory,
		topics:   map[string]*natsTopic{},
		last:     map[string]natsLast{},
		stopping: make(chan struct{}),
	}
	b.presence.init()
	for i := range b.pubTurn {
		b.pubTurn[i] = make(chan struct{}, 1)
	}
	b.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              "SOCKJSD_HUB_" + o.Name,
		Description:       "sockjsd: the topics of hub " + o.Name,
		Subjects:          []string{b.subj + "in.>"},
		MaxMsgsPerSubject: int64(no.MaxHistory),
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
		Replicas:          max(no.Replicas, 1),
		AllowDirect:       true,
		RePublish:         &jetstream.RePublish{Source: b.subj + "in.>", Destination: b.subj + "out.>"},
	})
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: nats hub stream: %w", err)
	}
	b.kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      "sockjsd-presence-" + o.Name,
		Description: "sockjsd: who is in each topic of hub " + o.Name,
		History:     1,
		TTL:         o.PresenceTTL,
		Storage:     jetstream.MemoryStorage,
		Replicas:    max(no.Replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: nats presence bucket: %w", err)
	}
	if b.kvStream, err = js.Stream(ctx, "KV_"+b.kv.Bucket()); err != nil {
		return nil, fmt.Errorf("sockjs/cluster: nats presence bucket: %w", err)
	}
	b.userSub, err = nc.Subscribe(b.subj+"users", b.userMessage)
	if err == nil {
		err = b.flush(ctx)
	}
	if err != nil {
		if b.userSub != nil {
			_ = b.userSub.Unsubscribe()
		}
		return nil, fmt.Errorf("sockjs/cluster: nats: %w", err)
	}
	b.work.Add(1)
	go b.refreshLoop()
	return b, nil
}

// topicToken maps a topic, any UTF-8 but control characters, to one
// subject token.
func topicToken(topic string) string { return base64.RawURLEncoding.EncodeToString([]byte(topic)) }

func (b *NATSHub) inSubject(topic string) string  { return b.subj + "in." + topicToken(topic) }
func (b *NATSHub) outSubject(topic string) string { return b.subj + "out." + topicToken(topic) }

// Bind implements hub.Broker.
func (b *NATSHub) Bind(h hub.Handler) { b.h = h }

// Close stops deliveries and the presence refresh, and deletes this
// node's presence entries.
func (b *NATSHub) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.stopping)
	subs := make([]*nats.Subscription, 0, len(b.topics)+1)
	for _, t := range b.topics {
		subs = append(subs, t.sub)
	}
	clear(b.topics)
	b.mu.Unlock()
	subs = append(subs, b.userSub)
	var errs []error
	for _, s := range subs {
		if err := s.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	b.work.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, topic := range b.presence.topics() {
		for u := range b.presence.snapshot(topic) {
			if err := b.kv.Purge(ctx, b.presenceKey(topic, u)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Publish implements hub.Broker: one round trip when this node published
// the topic's last message, two otherwise, more when nodes race.
func (b *NATSHub) Publish(ctx context.Context, topic, data string, policy hub.HistoryPolicy) (hub.Position, error) {
	subject := b.inSubject(topic)
	keep := min(max(policy.Size, 0), b.maxKeep)
	ttl := max(policy.TTL.Milliseconds(), 0)
	turn := b.pubTurn[stripe(topic)]
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return hub.Position{}, ctx.Err()
	}
	defer func() { <-turn }()
	for attempt := 0; ; attempt++ {
		b.mu.Lock()
		last, known := b.last[topic]
		b.mu.Unlock()
		if !known {
			var err error
			if last, err = b.lastMessage(ctx, subject); err != nil {
				return hub.Position{}, fmt.Errorf("sockjs/cluster: nats publish: %w", err)
			}
		}
		if last.epoch == "" { // a new stream, or one whose messages all expired
			last.epoch, last.offset = rand.Text()[:10], 0
		}
		msg := nats.NewMsg(subject)
		msg.Data = []byte(data)
		msg.Header.Set(hdrOffset, strconv.FormatUint(last.offset+1, 10))
		msg.Header.Set(hdrEpoch, last.epoch)
		msg.Header.Set(hdrKeep, strconv.Itoa(keep))
		msg.Header.Set(hdrTTL, strconv.FormatInt(ttl, 10))
		ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequencePerSubject(last.seq))
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) && attempt < 50 {
			b.mu.Lock()
			delete(b.last, topic) // another node published: read the last message again
			b.mu.Unlock()
			if err := backoff(ctx, attempt); err != nil {
				return hub.Position{}, err
			}
			continue
		}
		if err != nil {
			b.mu.Lock()
			delete(b.last, topic)
			b.mu.Unlock()
			return hub.Position{}, fmt.Errorf("sockjs/cluster: nats publish: %w", err)
		}
		next := natsLast{seq: ack.Sequence, offset: last.offset + 1, epoch: last.epoch}
		b.mu.Lock()
		b.last[topic] = next
		b.mu.Unlock()
		return hub.Position{Offset: next.offset, Epoch: next.epoch}, nil
	}
}

// lastMessage reads the topic's last stored message; an empty epoch when
// there is none, or when its TTL is over (the stream is gone with its
// messages).
func (b *NATSHub) lastMessage(ctx context.Context, subject string) (natsLast, error) {
	m, err := b.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return natsLast{}, nil
	}
	if err != nil {
		return natsLast{}, err
	}
	l := natsLast{seq: m.Sequence}
	off, err := strconv.ParseUint(m.Header.Get(hdrOffset), 10, 64)
	if err != nil {
		return l, nil // not ours: start a new epoch after it
	}
	ttl, _ := strconv.ParseInt(m.Header.Get(hdrTTL), 10, 64)
	if ttl > 0 && time.Since(m.Time) > time.Duration(ttl)*time.Millisecond {
		return l, nil
	}
	l.offset, l.epoch = off, m.Header.Get(hdrEpoch)
	return l, nil
}

// Subscribe implements hub.Broker: it returns once the server has the
// subscription.
func (b *NATSHub) Subscribe(ctx context.Context, topic string) error {
	t := &natsTopic{}
	sub, err := b.nc.Subscribe(b.outSubject(topic), func(m *nats.Msg) { b.topicMessage(topic, t, m) })
	if err != nil {
		return fmt.Errorf("sockjs/cluster: nats subscribe: %w", err)
	}
	// Deliveries wait for slow subscribers: let a topic's backlog grow
	// rather than drop messages.
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	t.sub = sub
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = sub.Unsubscribe()
		return hub.ErrClosed
	}
	old := b.topics[topic]
	b.topics[topic] = t
	b.mu.Unlock()
	if old != nil {
		_ = old.sub.Unsubscribe()
	}
	if err := b.flush(ctx); err != nil {
		_ = b.Unsubscribe(context.WithoutCancel(ctx), topic)
		return fmt.Errorf("sockjs/cluster: nats subscribe: %w", err)
	}
	return nil
}

// topicMessage delivers one republished message. nats.go calls it from
// the subscription's own goroutine, in order.
func (b *NATSHub) topicMessage(topic string, t *natsTopic, m *nats.Msg) {
	off, err := strconv.ParseUint(m.Header.Get(hdrOffset), 10, 64)
	if err != nil {
		return
	}
	t.deliver.Lock()
	defer t.deliver.Unlock()
	b.h.Deliver(context.Background(), hub.Message{Topic: topic, Data: string(m.Data), Offset: off, Epoch: m.Header.Get(hdrEpoch)})
}

// Unsubscribe implements hub.Broker.
func (b *NATSHub) Unsubscribe(ctx context.Context, topic string) error {
	b.mu.Lock()
	t := b.topics[topic]
	delete(b.topics, topic)
	b.mu.Unlock()
	if t == nil {
		return nil
	}
	if err := t.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return err
	}
	return nil
}

// History implements hub.Broker: the topic's last message gives the
// current position; an ordered consumer reads the kept messages up to it.
func (b *NATSHub) History(ctx context.Context, topic string, since hub.Position) ([]hub.Message, hub.Position, error) {
	subject := b.inSubject(topic)
	last, err := b.lastMessage(ctx, subject)
	if err != nil {
		return nil, hub.Position{}, fmt.Errorf("sockjs/cluster: nats history: %w", err)
	}
	if last.epoch == "" {
		if since.Epoch != "" {
			return nil, hub.Position{}, hub.ErrUnrecoverable
		}
		return nil, hub.Position{}, nil
	}
	cur := hub.Position{Offset: last.offset, Epoch: last.epoch}
	lm, err := b.stream.GetMsg(ctx, last.seq)
	if err != nil {
		return nil, cur, fmt.Errorf("sockjs/cluster: nats history: %w", err)
	}
	keep, _ := strconv.Atoi(lm.Header.Get(hdrKeep))
	ttl, _ := strconv.ParseInt(lm.Header.Get(hdrTTL), 10, 64)
	var msgs []hub.Message
	if keep > 0 {
		if msgs, err = b.readKept(ctx, subject, last, keep, ttl); err != nil {
			return nil, cur, fmt.Errorf("sockjs/cluster: nats history: %w", err)
		}
	}
	oldest := cur.Offset + 1
	if len(msgs) > 0 {
		oldest = msgs[0].Offset
	}
	if since.Epoch != "" && (since.Epoch != cur.Epoch || since.Offset > cur.Offset || since.Offset+1 < oldest) {
		return nil, cur, hub.ErrUnrecoverable
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m.Offset > since.Offset {
			m.Topic = topic
			out = append(out, m)
		}
	}
	return out, cur, nil
}

// readKept returns the last keep messages of subject's current epoch up
// to last, younger than ttl (ms) if positive, oldest first.
func (b *NATSHub) readKept(ctx context.Context, subject string, last natsLast, keep int, ttl int64) ([]hub.Message, error) {
	c, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subject},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, err
	}
	var limit time.Time
	if ttl > 0 {
		limit = time.Now().Add(-time.Duration(ttl) * time.Millisecond)
	}
	var ring []hub.Message
	for {
		batch, err := c.Fetch(256, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			h := m.Headers()
			off, err := strconv.ParseUint(h.Get(hdrOffset), 10, 64)
			if err == nil && h.Get(hdrEpoch) == last.epoch && (limit.IsZero() || !md.Timestamp.Before(limit)) {
				ring = append(ring, hub.Message{Data: string(m.Data()), Offset: off, Epoch: last.epoch})
				if len(ring) > keep {
					ring = ring[1:]
				}
			}
			if md.Sequence.Stream >= last.seq {
				return ring, nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return nil, err
		}
		if n == 0 {
			return ring, nil // the last message went (trimmed) while reading
		}
	}
}

// SendToUser implements hub.Broker.
func (b *NATSHub) SendToUser(ctx context.Context, user, data string) error {
	return b.publishUser(ctx, "s "+user+"\x00"+data)
}

// CloseUser implements hub.Broker.
func (b *NATSHub) CloseUser(ctx context.Context, user string, code int, reason string) error {
	return b.publishUser(ctx, "c "+strconv.Itoa(code)+" "+user+"\x00"+reason)
}

// publishUser publishes on the users' subject and flushes, so that an
// error (no connection) is returned rather than the message buffered.
func (b *NATSHub) publishUser(ctx context.Context, payload string) error {
	if err := b.nc.Publish(b.subj+"users", []byte(payload)); err != nil {
		return err
	}
	return b.flush(ctx)
}

func (b *NATSHub) userMessage(m *nats.Msg) {
	ctx := context.Background()
	kind, rest, _ := strings.Cut(string(m.Data), " ")
	switch kind {
	case "s":
		if user, data, ok := strings.Cut(rest, "\x00"); ok {
			b.h.DeliverUser(ctx, user, data)
		}
	case "c":
		codes, rest, _ := strings.Cut(rest, " ")
		user, reason, ok := strings.Cut(rest, "\x00")
		if code, err := strconv.Atoi(codes); ok && err == nil {
			b.h.CloseUser(ctx, user, code, reason)
		}
	}
}

// presenceKey is "<topic>.<user>.<node>", each token encoded; "x" keeps an
// empty topic or user a valid token.
func (b *NATSHub) presenceKey(topic, user string) string {
	return "x" + topicToken(topic) + ".x" + topicToken(user) + "." + b.node
}

// Join implements hub.Broker.
func (b *NATSHub) Join(ctx context.Context, topic string, c hub.Client) (int, error) {
	return b.setPresence(ctx, topic, c.User, b.presence.add(topic, c.User, 1))
}

// Leave implements hub.Broker.
func (b *NATSHub) Leave(ctx context.Context, topic string, c hub.Client) (int, error) {
	return b.setPresence(ctx, topic, c.User, b.presence.add(topic, c.User, -1))
}

// setPresence writes this node's count of user in topic and returns the
// user's count over every node.
func (b *NATSHub) setPresence(ctx context.Context, topic, user string, n int) (int, error) {
	k := b.presenceKey(topic, user)
	var err error
	if n > 0 {
		_, err = b.kv.Put(ctx, k, []byte(strconv.Itoa(n)))
	} else {
		err = b.kv.Purge(ctx, k)
	}
	if err != nil {
		return 0, fmt.Errorf("sockjs/cluster: nats presence: %w", err)
	}
	users, err := b.readPresence(ctx, "x"+topicToken(topic)+".x"+topicToken(user)+".*")
	if err != nil {
		return 0, err
	}
	return users[user], nil
}

// Presence implements hub.Broker.
func (b *NATSHub) Presence(ctx context.Context, topic string) ([]hub.Member, error) {
	users, err := b.readPresence(ctx, "x"+topicToken(topic)+".>")
	if err != nil {
		return nil, err
	}
	return members(users), nil
}

// readPresence sums the live entries matching filter by user.
//
// A watcher's "initial values are in" marker comes after as many
// deliveries as the bucket held entries: a refresh written meanwhile
// (every node rewrites its entries every PresenceTTL/3) brings its entry
// a second time and ends the initial values before some other entry. So
// entries are kept by key, the last value winning, and the bucket's
// stream, asked which keys it holds, names any the watcher missed, read
// one by one.
func (b *NATSHub) readPresence(ctx context.Context, filter string) (map[string]int, error) {
	w, err := b.kv.WatchFiltered(ctx, []string{filter})
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: nats presence: %w", err)
	}
	defer func() { _ = w.Stop() }()
	entries := map[string]int{} // key → sessions; 0 for a deleted key
	func() {
		for {
			select {
			case e, ok := <-w.Updates():
				if !ok || e == nil { // closed, or the initial values are in
					return
				}
				n := 0
				if e.Operation() == jetstream.KeyValuePut {
					n, _ = strconv.Atoi(string(e.Value()))
				}
				entries[e.Key()] = n
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prefix := "$KV." + b.kv.Bucket() + "."
	info, err := b.kvStream.Info(ctx, jetstream.WithSubjectFilter(prefix+filter))
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: nats presence: %w", err)
	}
	for subject := range info.State.Subjects {
		key := strings.TrimPrefix(subject, prefix)
		if _, seen := entries[key]; seen {
			continue
		}
		e, err := b.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue // deleted, or expired since
		case err != nil:
			return nil, fmt.Errorf("sockjs/cluster: nats presence: %w", err)
		}
		entries[key], _ = strconv.Atoi(string(e.Value()))
	}
	users := map[string]int{}
	for key, n := range entries {
		parts := strings.Split(key, ".")
		if len(parts) != 3 || n <= 0 {
			continue
		}
		if u, err := base64.RawURLEncoding.DecodeString(parts[1][1:]); err == nil {
			users[string(u)] += n
		}
	}
	return users, nil
}

// refreshLoop rewrites this node's presence entries every PresenceTTL/3,
// before the bucket expires them.
func (b *NATSHub) refreshLoop() {
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
	topics:
		for _, topic := range b.presence.topics() {
			for u, n := range b.presence.snapshot(topic) {
				if _, err := b.kv.Put(ctx, b.presenceKey(topic, u), []byte(strconv.Itoa(n))); err != nil {
					b.log.Warn("sockjs/cluster: presence refresh failed", "topic", topic, "err", err)
					break topics
				}
			}
		}
		cancel()
	}
}

// abandon stops b as a killed process would: no more deliveries or
// presence refreshes, nothing deleted. For tests.
func (b *NATSHub) abandon() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	close(b.stopping)
	for _, t := range b.topics {
		_ = t.sub.Unsubscribe()
	}
	clear(b.topics)
	b.mu.Unlock()
	_ = b.userSub.Unsubscribe()
	b.work.Wait()
}

// flush waits until the server has processed everything sent so far,
// for at most 10 s when ctx has no deadline of its own.
func (b *NATSHub) flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return b.nc.FlushWithContext(ctx)
}

// stripe picks topic's publish token (FNV-1a).
func stripe(topic string) int {
	h := uint32(2166136261)
	for i := 0; i < len(topic); i++ {
		h = (h ^ uint32(topic[i])) * 16777619
	}
	return int(h % 64)
}

// backoff waits a random time growing with attempt (at most ~5 ms), so
// that nodes racing for a topic's next offset do not keep colliding.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(mrand.Int64N(int64(min(attempt+1, 10)) * int64(500*time.Microsecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
