package hub_test

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// An idle session's handler waits in Recv for its whole life; whatever
// Subscribe did must not leave that goroutine with a larger stack, which
// would cost every idle subscribed session its size.
func TestSubscribeLeavesCallersStackSmall(t *testing.T) {
	const n = 200
	e := newEnv(t, nil)
	h := hub.New(nil)
	t.Cleanup(h.Close)
	sessions := make([]*sockjs.Session, n)
	for i := range n {
		url := fmt.Sprintf("%s/hub/000/stack%d/xhr", e.url, i)
		resp, err := http.Post(url, "text/plain", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		sessions[i] = e.session()
	}

	// stackPerGoroutine parks n goroutines after each ran before on its
	// session, and returns the stack they hold, per goroutine.
	stackInUse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.StackInuse
	}
	stackPerGoroutine := func(before func(s *sockjs.Session)) float64 {
		base := stackInUse()
		release := make(chan struct{})
		var started, ended sync.WaitGroup
		for _, s := range sessions {
			started.Add(1)
			ended.Add(1)
			go func() {
				defer ended.Done()
				before(s)
				started.Done()
				<-release
			}()
		}
		started.Wait()
		inUse := stackInUse()
		close(release)
		ended.Wait()
		return (float64(inUse) - float64(base)) / n
	}
	plain := stackPerGoroutine(func(*sockjs.Session) {})
	subscribed := stackPerGoroutine(func(s *sockjs.Session) {
		if _, err := h.Subscribe(bg, s, "room", nil); err != nil {
			t.Error(err)
		}
	})
	t.Logf("stack per parked goroutine: %.0f B plain, %.0f B after Subscribe", plain, subscribed)
	if subscribed > plain+1024 {
		t.Errorf("a goroutine that called Subscribe holds %.0f B of stack, one that did not %.0f B", subscribed, plain)
	}
}
