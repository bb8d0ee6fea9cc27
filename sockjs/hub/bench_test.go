package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// pollers are xhr-polling sessions subscribed to one topic, which the
// benchmark drains (one poll each) between rounds, with the timer off.
type pollers struct {
	urls   []string
	client *http.Client
	perSub float64 // heap bytes the subscriptions hold, per session
}

// newPollers opens n sessions and subscribes them to topic, measuring the
// heap the subscriptions hold per session: what being in one topic adds
// to an idle session.
func newPollers(b *testing.B, e *env, h *hub.Hub, topic string, n int) *pollers {
	b.Helper()
	p := &pollers{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}}
	b.Cleanup(p.client.CloseIdleConnections)
	sessions := make([]*sockjs.Session, n)
	for i := range n {
		url := fmt.Sprintf("%s/hub/000/b%d-%d/xhr", e.url, ids.Add(1), i)
		p.post(b, url, "o\n")
		sessions[i] = e.session()
		p.urls = append(p.urls, url)
	}
	before := heap()
	for _, s := range sessions {
		if _, err := h.Subscribe(bg, s, topic, nil); err != nil {
			b.Fatal(err)
		}
	}
	p.perSub = float64(heap()-before) / float64(n)
	return p
}

// heap returns the bytes in use on the heap after a collection.
func heap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func (p *pollers) post(b *testing.B, url, want string) {
	resp, err := p.client.Post(url, "text/plain", nil)
	if err != nil {
		b.Error(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want != "" && string(body) != want {
		b.Errorf("poll %s: %.40q, want %q", url, body, want)
	}
}

// drain polls every session once, eight at a time: their queues are
// empty after, and keep the arrays they had (the poll swaps in a pooled
// one), as under a live receiver.
func (p *pollers) drain(b *testing.B) {
	var wg sync.WaitGroup
	next := make(chan string)
	for range 8 {
		wg.Go(func() {
			for url := range next {
				p.post(b, url, "")
			}
		})
	}
	for _, u := range p.urls {
		next <- u
	}
	close(next)
	wg.Wait()
}

// BenchmarkPublish publishes to a topic of n subscribers, each a session
// with room in its queue: the hub's fan-out and the sessions' queueing,
// without the network (drains happen with the timer stopped). ns/sub is
// the cost per subscriber; allocs/op, the allocations of one publish to
// all n; hub-B/session, the memory a session's subscription holds.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			e := newEnv(b, &sockjs.Options{SendQueueMessages: 1 << 14})
			h := hub.New(nil)
			b.Cleanup(h.Close)
			p := newPollers(b, e, h, "t", n)
			msg := strings.Repeat("x", 64)
			// A round fills the queues to at most round messages, which a
			// pooled receiver batch holds (up to 1024) without growing.
			const round = 512
			// Warm up: every queue's array grows to a round's size once.
			for range round {
				if _, err := h.Publish(bg, "t", msg); err != nil {
					b.Fatal(err)
				}
			}
			p.drain(b)
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Publish(ctx, "t", msg); err != nil {
					b.Fatal(err)
				}
				if i++; i == round {
					b.StopTimer()
					p.drain(b)
					i = 0
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/sub")
			b.ReportMetric(p.perSub, "hub-B/session")
		})
	}
}
