package cluster

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Every engine keeps the same contract: one owner per key, refresh and
// release only by the owner.
func TestEngineContract(t *testing.T) {
	ctx := context.Background()
	for _, ec := range engineCases {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.make(t, time.Minute)
			// Session ids are the client's choice: any character but a dot.
			for _, key := range []string{"echo:abc", "echo:a b*>%:/~\u00e9", "chat:" + string(make([]byte, 128))} {
				if got, err := e.Owner(ctx, key); err != nil || got != "" {
					t.Fatalf("%q: Owner of a new key = %q, %v", key, got, err)
				}
				steps := []struct {
					name string
					do   func() (any, error)
					want any
				}{
					{"A claims", func() (any, error) { return e.Claim(ctx, key, "A") }, "A"},
					{"B claims", func() (any, error) { return e.Claim(ctx, key, "B") }, "A"},
					{"owner", func() (any, error) { return e.Owner(ctx, key) }, "A"},
					{"B refreshes", func() (any, error) { return e.Refresh(ctx, key, "B") }, false},
					{"A refreshes", func() (any, error) { return e.Refresh(ctx, key, "A") }, true},
					{"B releases", func() (any, error) { return e.Release(ctx, key, "B") }, false},
					{"owner still", func() (any, error) { return e.Owner(ctx, key) }, "A"},
					{"A releases", func() (any, error) { return e.Release(ctx, key, "A") }, true},
					{"owner gone", func() (any, error) { return e.Owner(ctx, key) }, ""},
					{"A releases again", func() (any, error) { return e.Release(ctx, key, "A") }, false},
					{"A refreshes gone", func() (any, error) { return e.Refresh(ctx, key, "A") }, false},
					{"B claims freed", func() (any, error) { return e.Claim(ctx, key, "B") }, "B"},
					{"owner B", func() (any, error) { return e.Owner(ctx, key) }, "B"},
					{"B releases", func() (any, error) { return e.Release(ctx, key, "B") }, true},
				}
				for _, s := range steps {
					got, err := s.do()
					if err != nil || got != s.want {
						t.Fatalf("%q: %s: got %v, %v; want %v", key, s.name, got, err, s.want)
					}
				}
			}
		})
	}
}

// Claims racing for one key get one owner.
func TestEngineClaimRace(t *testing.T) {
	ctx := context.Background()
	for _, ec := range engineCases {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.make(t, time.Minute)
			const n = 8
			got := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					owner, err := e.Claim(ctx, "echo:race", string(rune('A'+i)))
					if err != nil {
						t.Error(err)
					}
					got[i] = owner
				})
			}
			wg.Wait()
			for i := range got {
				if got[i] != got[0] || got[i] == "" {
					t.Fatalf("owners seen: %q", got)
				}
			}
		})
	}
}

// A claim nobody refreshes expires in the real engines.
func TestEngineExpiry(t *testing.T) {
	ctx := context.Background()
	for _, ec := range engineCases[1:] {
		t.Run(ec.name, func(t *testing.T) {
			e := ec.make(t, 500*time.Millisecond)
			if owner, err := e.Claim(ctx, "echo:x", "A"); err != nil || owner != "A" {
				t.Fatal(owner, err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				owner, err := e.Owner(ctx, "echo:x")
				if err != nil {
					t.Fatal(err)
				}
				if owner == "" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the claim never expired")
				}
				time.Sleep(100 * time.Millisecond)
			}
			if owner, err := e.Claim(ctx, "echo:x", "B"); err != nil || owner != "B" {
				t.Fatalf("claim after expiry: %q, %v", owner, err)
			}
		})
	}
}

// The memory engine's TTL, on a fake clock.
func TestMemoryExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m := NewMemory(time.Second)
		_, _ = m.Claim(ctx, "k", "A")
		time.Sleep(900 * time.Millisecond)
		if ok, _ := m.Refresh(ctx, "k", "A"); !ok {
			t.Fatal("refresh before the TTL failed")
		}
		time.Sleep(900 * time.Millisecond)
		if owner, _ := m.Owner(ctx, "k"); owner != "A" {
			t.Fatalf("owner after a refresh = %q", owner)
		}
		time.Sleep(100 * time.Millisecond)
		if owner, _ := m.Owner(ctx, "k"); owner != "" || m.Len() != 0 {
			t.Fatalf("owner after the TTL = %q, %d claims", owner, m.Len())
		}
	})
}
