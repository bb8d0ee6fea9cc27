package session

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := NewRegistry()
	lim := testLimits()
	calls := 0
	mk := func(id string) func() *Session {
		return func() *Session { calls++; return New(id, "", lim, nil) }
	}
	a, created := r.GetOrCreate("a", 0, mk("a"))
	if a == nil || !created || calls != 1 {
		t.Fatalf("GetOrCreate new: %v, %v, calls %d", a, created, calls)
	}
	if a.ID() != "a" {
		t.Fatalf("ID %q", a.ID())
	}
	again, created := r.GetOrCreate("a", 0, mk("a"))
	if again != a || created || calls != 1 {
		t.Fatalf("GetOrCreate existing: same=%v created=%v calls=%d", again == a, created, calls)
	}
	if r.Get("a") != a || r.Get("nope") != nil {
		t.Fatal("Get")
	}
	ws := New("", "", lim, nil)
	if !r.Add(ws, 0) {
		t.Fatal("Add refused")
	}
	if r.Len() != 2 {
		t.Fatalf("Len %d, want 2", r.Len())
	}
	if r.Get("") != nil {
		t.Fatal("websocket session found by id")
	}

	// The limit counts every session, websocket ones included.
	if s, created := r.GetOrCreate("b", 2, mk("b")); s != nil || created {
		t.Fatal("GetOrCreate past the limit created a session")
	}
	if r.Add(New("", "", lim, nil), 2) {
		t.Fatal("Add past the limit")
	}
	// An existing session is still found at the limit.
	if s, _ := r.GetOrCreate("a", 2, mk("a")); s != a {
		t.Fatal("existing session not returned at the limit")
	}
	b, created := r.GetOrCreate("b", 3, mk("b"))
	if b == nil || !created {
		t.Fatal("GetOrCreate under the limit refused")
	}

	// Remove forgets; removing a stale session keeps its successor.
	r.Remove(a)
	if r.Get("a") != nil || r.Len() != 2 {
		t.Fatalf("after Remove: Get=%v Len=%d", r.Get("a"), r.Len())
	}
	a2, created := r.GetOrCreate("a", 0, mk("a"))
	if !created || a2 == a {
		t.Fatal("id not reusable after Remove")
	}
	r.Remove(a) // stale: a2 has the id now
	if r.Get("a") != a2 {
		t.Fatal("Remove of a stale session removed its successor")
	}
	r.Remove(a) // twice: harmless
	r.Remove(ws)
	if r.Len() != 2 {
		t.Fatalf("Len %d, want 2", r.Len())
	}

	// Close returns everything and refuses later sessions.
	all := r.Close()
	if len(all) != 2 {
		t.Fatalf("Close returned %d sessions, want 2", len(all))
	}
	got := map[*Session]bool{all[0]: true, all[1]: true}
	if !got[a2] || !got[b] {
		t.Fatal("Close did not return every session")
	}
	if s, created := r.GetOrCreate("new", 0, mk("new")); s != nil || created {
		t.Fatal("GetOrCreate after Close")
	}
	if r.Add(New("", "", lim, nil), 0) {
		t.Fatal("Add after Close")
	}
	for _, s := range all {
		r.Remove(s)
	}
	if r.Len() != 0 {
		t.Fatalf("Len %d after removing all", r.Len())
	}
	if len(r.Close()) != 0 {
		t.Fatal("second Close returned sessions")
	}
}

// Concurrent GetOrCreate of one id creates exactly one session; the limit
// holds under concurrency.
func TestRegistryConcurrent(t *testing.T) {
	r := NewRegistry()
	lim := testLimits()
	var creates atomic.Int32
	var wg sync.WaitGroup
	results := make([]*Session, 50)
	for i := range results {
		wg.Go(func() {
			results[i], _ = r.GetOrCreate("same", 0, func() *Session {
				creates.Add(1)
				return New("same", "", lim, nil)
			})
		})
	}
	wg.Wait()
	if creates.Load() != 1 {
		t.Fatalf("%d sessions created for one id", creates.Load())
	}
	for _, s := range results {
		if s != results[0] {
			t.Fatal("different sessions returned for one id")
		}
	}
	var made atomic.Int32
	for i := range 100 {
		wg.Go(func() {
			id := fmt.Sprint(i)
			if s, created := r.GetOrCreate(id, 10, func() *Session { return New(id, "", lim, nil) }); created && s != nil {
				made.Add(1)
			}
			if i%2 == 0 {
				if r.Add(New("", "", lim, nil), 10) {
					made.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if made.Load() != 9 || r.Len() != 10 {
		t.Fatalf("limit 10: made %d more (want 9), Len %d", made.Load(), r.Len())
	}
}
