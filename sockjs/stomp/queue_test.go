package stomp

import (
	"errors"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recorder is a queue consumer's client: what it was handed.
type recorder struct {
	mu   sync.Mutex
	got  []QueueMessage
	fail bool // deliveries fail, as to a closed session
}

func (r *recorder) deliver(m QueueMessage) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("closed")
	}
	r.got = append(r.got, m)
	return nil
}

func (r *recorder) data() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		s := m.Data
		if m.Redelivered {
			s += "!"
		}
		out = append(out, s)
	}
	return out
}

func (r *recorder) last() QueueMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

func send(t *testing.T, q Queues, queue string, data ...string) {
	t.Helper()
	for _, d := range data {
		if err := q.Send(t.Context(), queue, d); err != nil {
			t.Fatal(err)
		}
	}
}

func consume(t *testing.T, q Queues, queue string, o ConsumeOptions, r *recorder) QueueConsumer {
	t.Helper()
	c, err := q.Consume(queue, o, r.deliver)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func want(t *testing.T, r *recorder, data ...string) {
	t.Helper()
	if got := r.data(); !reflect.DeepEqual(got, data) && !(len(got) == 0 && len(data) == 0) {
		t.Fatalf("consumer got %q, want %q", got, data)
	}
}

func TestQueueWaitsForConsumer(t *testing.T) {
	q := NewMemoryQueues(nil)
	send(t, q, "/queue/a", "1", "2")
	var r recorder
	consume(t, q, "/queue/a", ConsumeOptions{}, &r)
	want(t, &r, "1", "2")
	send(t, q, "/queue/a", "3")
	want(t, &r, "1", "2", "3")
}

func TestQueueTurns(t *testing.T) {
	q := NewMemoryQueues(nil)
	var a, b recorder
	consume(t, q, "/queue/a", ConsumeOptions{}, &a)
	consume(t, q, "/queue/a", ConsumeOptions{}, &b)
	send(t, q, "/queue/a", "1", "2", "3", "4")
	want(t, &a, "1", "3")
	want(t, &b, "2", "4")
}

func TestQueuePrefetchAndAcks(t *testing.T) {
	q := NewMemoryQueues(nil)
	var a recorder
	c := consume(t, q, "/queue/a", ConsumeOptions{Manual: true, Prefetch: 2}, &a)
	send(t, q, "/queue/a", "1", "2", "3", "4", "5")
	want(t, &a, "1", "2")
	if c.Ack(3, false) {
		t.Fatal("acked a tag never given")
	}
	if !c.Ack(1, false) {
		t.Fatal("ack of tag 1 failed")
	}
	want(t, &a, "1", "2", "3")
	if c.Ack(1, false) {
		t.Fatal("acked tag 1 twice")
	}
	if !c.Ack(3, true) { // cumulative: 2 and 3
		t.Fatal("cumulative ack failed")
	}
	want(t, &a, "1", "2", "3", "4", "5")
	if c.Ack(2, false) {
		t.Fatal("tag 2 still held after a cumulative ack past it")
	}
}

func TestQueueNackGoesToAnother(t *testing.T) {
	q := NewMemoryQueues(nil)
	var a, b recorder
	ca := consume(t, q, "/queue/a", ConsumeOptions{Manual: true}, &a)
	send(t, q, "/queue/a", "1")
	consume(t, q, "/queue/a", ConsumeOptions{Manual: true}, &b)
	if !ca.Nack(1, false) {
		t.Fatal("nack failed")
	}
	want(t, &a, "1")
	want(t, &b, "1!")
}

func TestQueueNackSoleConsumer(t *testing.T) {
	q := NewMemoryQueues(&QueueOptions{MaxDeliveries: 3})
	var a recorder
	c := consume(t, q, "/queue/a", ConsumeOptions{Manual: true}, &a)
	send(t, q, "/queue/a", "1")
	for i := 0; c.Nack(a.last().Tag, false); i++ {
		if i > 5 {
			t.Fatal("message redelivered without end")
		}
	}
	want(t, &a, "1", "1!", "1!")
}

func TestQueueCancelGivesBack(t *testing.T) {
	q := NewMemoryQueues(nil)
	var a, b recorder
	ca := consume(t, q, "/queue/a", ConsumeOptions{Manual: true}, &a)
	send(t, q, "/queue/a", "1", "2", "3")
	ca.Ack(2, false)
	ca.Cancel()
	consume(t, q, "/queue/a", ConsumeOptions{}, &b)
	want(t, &b, "1!", "3!")
	if ca.Ack(1, false) {
		t.Fatal("ack after cancel")
	}
}

func TestQueueFailedDelivery(t *testing.T) {
	q := NewMemoryQueues(nil)
	a := recorder{fail: true}
	var b recorder
	consume(t, q, "/queue/a", ConsumeOptions{}, &a)
	send(t, q, "/queue/a", "1")
	consume(t, q, "/queue/a", ConsumeOptions{}, &b)
	want(t, &b, "1") // never reached a: not a redelivery
	send(t, q, "/queue/a", "2")
	want(t, &b, "1", "2") // a is gone
}

func TestQueueFailedBatch(t *testing.T) {
	q := NewMemoryQueues(nil)
	send(t, q, "/queue/a", "1", "2", "3")
	a := recorder{fail: true}
	consume(t, q, "/queue/a", ConsumeOptions{Manual: true}, &a) // all three fail in one batch
	var b recorder
	consume(t, q, "/queue/a", ConsumeOptions{}, &b)
	send(t, q, "/queue/a", "4")
	got := b.data()
	seen := map[string]int{}
	for _, d := range got {
		seen[strings.TrimSuffix(d, "!")]++
	}
	if len(got) != 4 || seen["1"] != 1 || seen["2"] != 1 || seen["3"] != 1 || seen["4"] != 1 {
		t.Fatalf("second consumer got %q, want each of 1-4 once", got)
	}
}

func TestQueueCancelWaitsForDelivery(t *testing.T) {
	q := NewMemoryQueues(nil)
	entered, release := make(chan struct{}), make(chan struct{})
	var after atomic.Bool // a delivery began after Cancel returned
	var cancelled atomic.Bool
	c, err := q.Consume("/queue/a", ConsumeOptions{}, func(m QueueMessage) error {
		if cancelled.Load() {
			after.Store(true)
		}
		if m.Data == "1" {
			close(entered)
			<-release // a slow delivery under way
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { send(t, q, "/queue/a", "1") })
	<-entered
	done := make(chan struct{})
	wg.Go(func() {
		c.Cancel()
		cancelled.Store(true)
		close(done)
	})
	mc := c.(*memConsumer)
	for gone := false; !gone; runtime.Gosched() { // Cancel is waiting
		mc.e.mu.Lock()
		gone = mc.gone
		mc.e.mu.Unlock()
	}
	send(t, q, "/queue/a", "2") // left to the dispatcher, which is busy
	select {
	case <-done:
		t.Fatal("Cancel returned while a delivery to the consumer was under way")
	default:
	}
	close(release)
	wg.Wait()
	send(t, q, "/queue/a", "3")
	if after.Load() {
		t.Fatal("a delivery began after Cancel returned")
	}
	var r recorder
	consume(t, q, "/queue/a", ConsumeOptions{}, &r)
	want(t, &r, "2", "3") // 2 skipped the cancelled consumer
}

func TestQueueLimits(t *testing.T) {
	q := NewMemoryQueues(&QueueOptions{MaxLength: 2, MaxQueues: 2})
	send(t, q, "/queue/a", "1", "2", "3")
	send(t, q, "/queue/b", "1")
	if err := q.Send(t.Context(), "/queue/c", "1"); !errors.Is(err, ErrTooManyQueues) {
		t.Fatalf("third queue: %v", err)
	}
	var r recorder
	consume(t, q, "/queue/a", ConsumeOptions{}, &r)
	want(t, &r, "2", "3") // the oldest dropped
	// A drained queue with no consumer is forgotten, making room.
	var rb recorder
	cb := consume(t, q, "/queue/b", ConsumeOptions{}, &rb)
	cb.Cancel()
	send(t, q, "/queue/c", "1")
}

func TestQueueBytes(t *testing.T) {
	q := NewMemoryQueues(&QueueOptions{MaxBytes: 10})
	send(t, q, "/queue/a", "12345", "12345")
	if err := q.Send(t.Context(), "/queue/b", "1"); !errors.Is(err, ErrQueuesFull) {
		t.Fatalf("past MaxBytes: %v", err)
	}
	var r recorder
	c := consume(t, q, "/queue/a", ConsumeOptions{Manual: true}, &r)
	want(t, &r, "12345", "12345")
	if err := q.Send(t.Context(), "/queue/b", "1"); !errors.Is(err, ErrQueuesFull) {
		t.Fatalf("unacked messages count: %v", err)
	}
	c.Nack(1, false) // back in the queue, still counted
	if err := q.Send(t.Context(), "/queue/b", "1"); !errors.Is(err, ErrQueuesFull) {
		t.Fatalf("nacked messages count: %v", err)
	}
	c.Ack(2, false)
	c.Ack(3, false) // the redelivery of 1
	send(t, q, "/queue/b", "1234567890")
	var a recorder
	consume(t, q, "/queue/b", ConsumeOptions{}, &a) // auto: done once delivered
	send(t, q, "/queue/b", "1234567890")
}

func TestQueueConcurrentOrder(t *testing.T) {
	// Each consumer gets its messages in the order handed out, with
	// senders and ackers on many goroutines.
	q := NewMemoryQueues(nil)
	var rs [3]recorder
	var cs [3]QueueConsumer
	for i := range rs {
		cs[i] = consume(t, q, "/queue/a", ConsumeOptions{Manual: true, Prefetch: 5}, &rs[i])
	}
	var wg sync.WaitGroup
	for s := range 4 {
		wg.Go(func() {
			for i := range 200 {
				_ = q.Send(t.Context(), "/queue/a", strconv.Itoa(s*1000+i))
			}
		})
	}
	done := make(chan struct{})
	for i := range cs {
		wg.Go(func() {
			var next uint64 = 1
			for {
				rs[i].mu.Lock()
				n := uint64(len(rs[i].got))
				if n >= next && rs[i].got[next-1].Tag != next {
					t.Errorf("consumer %d: message %d has tag %d", i, next, rs[i].got[next-1].Tag)
				}
				rs[i].mu.Unlock()
				if n >= next {
					cs[i].Ack(next, false)
					next++
					continue
				}
				select {
				case <-done:
					return
				default:
					runtime.Gosched()
				}
			}
		})
	}
	waitFor := func() bool {
		total := 0
		for i := range rs {
			rs[i].mu.Lock()
			total += len(rs[i].got)
			rs[i].mu.Unlock()
		}
		return total == 800
	}
	for !waitFor() {
		runtime.Gosched()
	}
	close(done)
	wg.Wait()
	seen := map[string]bool{}
	for i := range rs {
		for _, d := range rs[i].data() {
			if seen[d] {
				t.Fatalf("%s delivered twice", d)
			}
			seen[d] = true
		}
	}
}
