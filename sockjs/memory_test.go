package sockjs

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ended reports a release when the count has fallen by minDrop or more
// and to half the peak or less, once until the release is done.
func TestMemoryReleaseThreshold(t *testing.T) {
	for _, tc := range []struct {
		peak, endTo int
		want        bool
	}{
		{peak: 10, endTo: 9},
		{peak: 10, endTo: 6}, // fell by 4 but not to half
		{peak: 10, endTo: 5, want: true},
		{peak: 6, endTo: 3}, // to half, but by fewer than 4
		{peak: 8, endTo: 0, want: true},
	} {
		t.Run(fmt.Sprintf("%d_to_%d", tc.peak, tc.endTo), func(t *testing.T) {
			m := newMemoryRelease()
			m.minDrop = 4
			for range tc.peak {
				m.opened()
			}
			due := 0
			for range tc.peak - tc.endTo {
				if m.ended() {
					due++
				}
			}
			if want := map[bool]int{false: 0, true: 1}[tc.want]; due != want {
				t.Fatalf("release due %d times, want %d", due, want)
			}
		})
	}
}

// newReleaseServer is a Server whose release frees nothing but counts,
// with sessions that end when end is closed.
func newReleaseServer(t *testing.T, settle, every time.Duration) (srv *Server, url string, end chan struct{}, frees *atomic.Int64) {
	t.Helper()
	end = make(chan struct{})
	srv = New("/s", func(s *Session) {
		select {
		case <-end:
		case <-s.Context().Done():
		}
	}, nil)
	frees = new(atomic.Int64)
	srv.mem.minDrop, srv.mem.settle, srv.mem.every = 4, settle, every
	srv.mem.free = func() { frees.Add(1) }
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return srv, ts.URL + "/s", end, frees
}

// openXHR opens n xhr sessions.
func openXHR(t *testing.T, url string, n int) {
	t.Helper()
	for i := range n {
		resp, err := http.Post(fmt.Sprintf("%s/000/m%d/xhr", url, i), "text/plain", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var releaseTests sync.Mutex // the tests below share osRelease

// Sessions ending all at once release memory once; a release waits for
// the process's rate limit.
func TestMemoryReleaseAfterFall(t *testing.T) {
	releaseTests.Lock()
	defer releaseTests.Unlock()
	const every = 100 * time.Millisecond
	srv, url, end, frees := newReleaseServer(t, 0, every)
	openXHR(t, url, 8)
	osRelease.mu.Lock()
	last := time.Now()
	osRelease.last = last
	osRelease.mu.Unlock()
	close(end)
	waitFor(t, "a release", func() bool { return frees.Load() > 0 })
	osRelease.mu.Lock()
	at := osRelease.last
	osRelease.mu.Unlock()
	if at.Sub(last) < every {
		t.Fatalf("released %v after the previous release, want at least %v", at.Sub(last), every)
	}
	waitFor(t, "the release goroutine to end", func() bool { return !srv.mem.pending.Load() })
	if n := frees.Load(); n != 1 {
		t.Fatalf("%d releases, want 1", n)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A small fall releases nothing.
func TestMemoryReleaseNotForFewSessions(t *testing.T) {
	releaseTests.Lock()
	defer releaseTests.Unlock()
	srv, url, end, frees := newReleaseServer(t, 0, 0)
	openXHR(t, url, 3)
	close(end)
	waitFor(t, "the handlers to return", func() bool { return srv.mem.open.Load() == 0 })
	if srv.mem.pending.Load() || frees.Load() != 0 {
		t.Fatalf("a release for 3 sessions (pending %v, %d done)", srv.mem.pending.Load(), frees.Load())
	}
}

// Shutdown ends a release still waiting, without releasing.
func TestMemoryReleaseEndsAtShutdown(t *testing.T) {
	releaseTests.Lock()
	defer releaseTests.Unlock()
	srv, url, end, frees := newReleaseServer(t, time.Hour, 0)
	openXHR(t, url, 8)
	close(end)
	waitFor(t, "a release to be scheduled", func() bool { return srv.mem.pending.Load() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (the release goroutine did not end)", err)
	}
	if frees.Load() != 0 {
		t.Fatal("released during Shutdown")
	}
}
