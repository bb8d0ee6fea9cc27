package stomp

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// QueueOptions configures NewMemoryQueues. A nil *QueueOptions means
// every default.
type QueueOptions struct {
	// MaxLength bounds the messages a queue holds waiting for a
	// consumer; beyond it the oldest waiting one is dropped, as
	// RabbitMQ's default overflow does. Zero means 10000.
	MaxLength int
	// MaxQueues bounds how many queues exist at once (a queue exists
	// while it holds messages or has consumers); a Send that would make
	// one more fails with ErrTooManyQueues. Zero means 10000.
	MaxQueues int
	// MaxBytes bounds the data of every message held, waiting or
	// unacked, in all queues together; a Send past it fails with
	// ErrQueuesFull. Zero means 64 MiB.
	MaxBytes int
	// MaxDeliveries bounds how often one message is delivered without
	// being acked; a message NACKed or left unacked that many times is
	// dropped, so that a message no consumer can handle does not go round
	// forever. Zero means 10.
	MaxDeliveries int
	// Logger receives a line for each message dropped. Nil means none.
	Logger *slog.Logger
}

// Errors of the memory queues' limits.
var (
	// ErrTooManyQueues: a Send would make more queues than
	// QueueOptions.MaxQueues.
	ErrTooManyQueues = errors.New("stomp: too many queues")
	// ErrQueuesFull: the queues hold QueueOptions.MaxBytes already.
	ErrQueuesFull = errors.New("stomp: queues full")
)

// NewMemoryQueues returns a Queues engine in the memory of this process.
func NewMemoryQueues(opts *QueueOptions) Queues {
	var o QueueOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxLength <= 0 {
		o.MaxLength = 10000
	}
	if o.MaxQueues <= 0 {
		o.MaxQueues = 10000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 10
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &memQueues{opts: o, queues: map[string]*memQueue{}}
}

// memQueues is every queue of the process. One lock guards them all: its
// critical sections are a few slice operations, and deliveries happen
// outside it.
type memQueues struct {
	opts QueueOptions

	mu     sync.Mutex // guards queues, bytes, and every memQueue and memConsumer field marked so; leaf lock
	queues map[string]*memQueue
	bytes  int // data of the messages held, waiting or unacked
}

type memQueue struct {
	name string
	// Guarded by memQueues.mu.
	ready       []*qmsg // waiting for a consumer, oldest first
	consumers   []*memConsumer
	turn        int        // the consumer whose turn is next
	dispatching bool       // a goroutine is handing out messages; others leave it to it
	again       bool       // something changed while it was
	dropped     int        // messages dropped after MaxDeliveries, not logged yet
	delivering  bool       // the dispatcher is handing out a batch, with the lock released
	round       uint64     // counts the batches handed out
	batchDone   *sync.Cond // on memQueues.mu: a batch was handed out
}

// qmsg is one message in a queue.
type qmsg struct {
	data       string
	deliveries int          // how often it was handed out; guarded by memQueues.mu
	last       *memConsumer // who had it last; guarded by memQueues.mu
}

type memConsumer struct {
	e       *memQueues
	q       *memQueue
	o       ConsumeOptions
	deliver func(QueueMessage) error
	// Guarded by memQueues.mu.
	tag     uint64     // the last tag given
	unacked []inflight // by tag
	gone    bool
	// cancelled is set by Cancel before it takes the lock, so that a
	// batch being handed out skips the consumer at once.
	cancelled atomic.Bool
}

type inflight struct {
	tag uint64
	m   *qmsg
}

// delivery is a message handed to a consumer, to deliver with no lock held.
type delivery struct {
	c  *memConsumer
	qm QueueMessage
	m  *qmsg
}

func (e *memQueues) Send(ctx context.Context, queue, data string) error {
	e.mu.Lock()
	if e.bytes+len(data) > e.opts.MaxBytes {
		e.mu.Unlock()
		return ErrQueuesFull
	}
	q := e.queues[queue]
	if q == nil {
		if len(e.queues) >= e.opts.MaxQueues {
			e.mu.Unlock()
			return ErrTooManyQueues
		}
		q = e.newQueueLocked(queue)
	}
	var dropped bool
	if len(q.ready) >= e.opts.MaxLength {
		e.bytes -= len(q.ready[0].data)
		q.ready[0] = nil
		q.ready = q.ready[1:]
		dropped = true
	}
	e.bytes += len(data)
	q.ready = append(q.ready, &qmsg{data: data})
	e.mu.Unlock()
	if dropped {
		e.opts.Logger.Warn("stomp: queue full; its oldest message dropped", "queue", queue)
	}
	e.dispatch(q)
	return nil
}

func (e *memQueues) Consume(queue string, o ConsumeOptions, deliver func(QueueMessage) error) (QueueConsumer, error) {
	e.mu.Lock()
	q := e.queues[queue]
	if q == nil {
		if len(e.queues) >= e.opts.MaxQueues {
			e.mu.Unlock()
			return nil, ErrTooManyQueues
		}
		q = e.newQueueLocked(queue)
	}
	c := &memConsumer{e: e, q: q, o: o, deliver: deliver}
	q.consumers = append(q.consumers, c)
	e.mu.Unlock()
	e.dispatch(q)
	return c, nil
}

func (e *memQueues) newQueueLocked(name string) *memQueue {
	q := &memQueue{name: name, batchDone: sync.NewCond(&e.mu)}
	e.queues[name] = q
	return q
}

// dispatch hands q's waiting messages to consumers with room. One
// goroutine at a time does it for a queue, so that each consumer gets its
// messages in the order they were handed out; a goroutine that finds it
// under way leaves the work to it.
func (e *memQueues) dispatch(q *memQueue) {
	e.mu.Lock()
	if q.dispatching {
		q.again = true
		e.mu.Unlock()
		return
	}
	q.dispatching = true
	for {
		q.again = false
		batch := e.pickLocked(q)
		if len(batch) == 0 && !q.again {
			break
		}
		q.delivering = true
		q.round++
		e.mu.Unlock()
		var failed []delivery
		for _, d := range batch {
			if d.c.cancelled.Load() {
				failed = append(failed, d)
			} else if err := d.c.deliver(d.qm); err != nil {
				failed = append(failed, d)
			}
		}
		e.mu.Lock()
		q.delivering = false
		q.batchDone.Broadcast()
		for _, d := range failed {
			if d.c.gone && d.c.o.Manual {
				continue // given back with the rest of what it held
			}
			// Never reached the client: back to the front, not counted.
			d.m.deliveries--
			if d.c.o.Manual {
				d.c.unacked = slices.DeleteFunc(d.c.unacked, func(f inflight) bool { return f.m == d.m })
			} else {
				e.bytes += len(d.m.data) // counted out when handed out
			}
			e.requeueLocked(q, d.m)
			e.removeLocked(d.c)
		}
	}
	q.dispatching = false
	dropped := q.dropped
	q.dropped = 0
	e.forgetIdleLocked(q)
	e.mu.Unlock()
	if dropped > 0 {
		e.opts.Logger.Warn("stomp: messages dropped after too many deliveries", "queue", q.name,
			"messages", dropped, "deliveries", e.opts.MaxDeliveries)
	}
}

// pickLocked takes the messages that consumers have room for, by turns.
// A message given back is offered first to a consumer other than the one
// that had it.
func (e *memQueues) pickLocked(q *memQueue) []delivery {
	var batch []delivery
	for len(q.ready) > 0 {
		m := q.ready[0]
		c := q.nextLocked(m)
		if c == nil {
			break
		}
		q.ready[0] = nil
		q.ready = q.ready[1:]
		c.tag++
		if c.o.Manual {
			c.unacked = append(c.unacked, inflight{c.tag, m})
		} else {
			e.bytes -= len(m.data) // done once delivered
		}
		batch = append(batch, delivery{c, QueueMessage{Tag: c.tag, Data: m.data, Redelivered: m.deliveries > 0}, m})
		m.deliveries++
		m.last = c
	}
	if len(q.ready) == 0 {
		q.ready = nil // let the backing array go
	}
	return batch
}

// nextLocked returns the consumer whose turn it is among those with room,
// avoiding m's last consumer when another has room; nil when none has.
func (q *memQueue) nextLocked(m *qmsg) *memConsumer {
	var fallback *memConsumer
	n := len(q.consumers)
	for i := range n {
		k := (q.turn + i) % n
		c := q.consumers[k]
		if !c.roomLocked() {
			continue
		}
		if c == m.last && n > 1 {
			if fallback == nil {
				fallback = c
			}
			continue
		}
		q.turn = k + 1
		return c
	}
	return fallback
}

func (c *memConsumer) roomLocked() bool {
	return !c.gone && (!c.o.Manual || c.o.Prefetch <= 0 || len(c.unacked) < c.o.Prefetch)
}

// requeueLocked puts m back at the front of q, or drops it once it was
// delivered MaxDeliveries times. m.last stays, so that the next delivery
// prefers another consumer.
func (e *memQueues) requeueLocked(q *memQueue, m *qmsg) {
	if m.deliveries >= e.opts.MaxDeliveries {
		e.bytes -= len(m.data)
		q.dropped++ // logged by dispatch, which follows every requeue, once the lock is released
		return
	}
	q.ready = slices.Insert(q.ready, 0, m)
}

// removeLocked takes c out of its queue, giving back what it held.
func (e *memQueues) removeLocked(c *memConsumer) {
	if c.gone {
		return
	}
	c.gone = true
	q := c.q
	if i := slices.Index(q.consumers, c); i >= 0 {
		q.consumers = slices.Delete(q.consumers, i, i+1)
	}
	for i := len(c.unacked) - 1; i >= 0; i-- { // so that the oldest ends first
		e.requeueLocked(q, c.unacked[i].m)
	}
	c.unacked = nil
	q.again = true
}

// forgetIdleLocked drops q when it holds nothing and nobody consumes it.
func (e *memQueues) forgetIdleLocked(q *memQueue) {
	if len(q.ready) == 0 && len(q.consumers) == 0 && e.queues[q.name] == q {
		delete(e.queues, q.name)
	}
}

func (c *memConsumer) Ack(tag uint64, cumulative bool) bool {
	return c.settle(tag, cumulative, false)
}

func (c *memConsumer) Nack(tag uint64, cumulative bool) bool {
	return c.settle(tag, cumulative, true)
}

// settle acks or nacks the messages tag names.
func (c *memConsumer) settle(tag uint64, cumulative, nack bool) bool {
	e := c.e
	e.mu.Lock()
	i, found := slices.BinarySearchFunc(c.unacked, tag, func(f inflight, t uint64) int {
		switch {
		case f.tag < t:
			return -1
		case f.tag > t:
			return 1
		}
		return 0
	})
	if !found || c.gone {
		e.mu.Unlock()
		return false
	}
	from := i
	if cumulative {
		from = 0
	}
	for k := i; k >= from; k-- {
		if nack {
			e.requeueLocked(c.q, c.unacked[k].m)
		} else {
			e.bytes -= len(c.unacked[k].m.data)
		}
	}
	c.unacked = slices.Delete(c.unacked, from, i+1)
	e.mu.Unlock()
	e.dispatch(c.q)
	return true
}

// Cancel returns once no delivery to the consumer is under way, so that
// nothing reaches the client after it (an UNSUBSCRIBE's RECEIPT is the
// subscription's last frame).
func (c *memConsumer) Cancel() {
	c.cancelled.Store(true)
	e, q := c.e, c.q
	e.mu.Lock()
	e.removeLocked(c)
	// Wait for the batch being handed out, if any, not for later ones:
	// they skip c.
	for r := q.round; q.delivering && q.round == r; {
		q.batchDone.Wait()
	}
	e.mu.Unlock()
	e.dispatch(q)
}
