package cluster

import (
	"context"
	"sync"
	"time"
)

// An Engine is the owner registry the nodes share: for every session, the
// node that holds it. Keys expire TTL after they were claimed or last
// refreshed, so the claims of a node that died vanish on their own; a Node
// refreshes each of its claims every TTL/3 while the session lives with it.
//
// Every method is atomic in the engine (one Redis script, one JetStream
// KV operation with a revision check): two nodes claiming one key at once
// get one owner, and a node never refreshes or deletes a claim that has
// passed to another. Owners are opaque strings; the empty string means
// none.
type Engine interface {
	// Claim makes owner the owner of key unless the key has one, and
	// returns the owner the key has after the call: owner when the claim
	// succeeded.
	Claim(ctx context.Context, key, owner string) (string, error)
	// Owner returns the owner of key, or "" when it has none.
	Owner(ctx context.Context, key string) (string, error)
	// Refresh restarts the key's TTL if owner still owns it, and reports
	// whether it does.
	Refresh(ctx context.Context, key, owner string) (bool, error)
	// Release deletes key if owner still owns it, and reports whether it
	// did.
	Release(ctx context.Context, key, owner string) (bool, error)
	// TTL is how long a claim lives unrefreshed.
	TTL() time.Duration
}

// DefaultTTL is the TTL of an engine configured with none.
const DefaultTTL = 30 * time.Second

// Memory is an Engine in the memory of one process: for tests, and for
// several Nodes in one process. Create it with NewMemory.
type Memory struct {
	ttl time.Duration

	mu   sync.Mutex // guards keys; leaf lock
	keys map[string]memoryClaim
}

type memoryClaim struct {
	owner   string
	expires time.Time
}

// NewMemory returns an empty Memory engine whose claims live ttl (zero
// means DefaultTTL).
func NewMemory(ttl time.Duration) *Memory {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Memory{ttl: ttl, keys: make(map[string]memoryClaim)}
}

// getLocked returns the live owner of key, forgetting an expired claim.
func (m *Memory) getLocked(key string, now time.Time) string {
	c, ok := m.keys[key]
	if !ok {
		return ""
	}
	if !now.Before(c.expires) {
		delete(m.keys, key)
		return ""
	}
	return c.owner
}

// Claim implements Engine.
func (m *Memory) Claim(_ context.Context, key, owner string) (string, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.getLocked(key, now); cur != "" {
		return cur, nil
	}
	m.keys[key] = memoryClaim{owner: owner, expires: now.Add(m.ttl)}
	return owner, nil
}

// Owner implements Engine.
func (m *Memory) Owner(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.getLocked(key, time.Now()), nil
}

// Refresh implements Engine.
func (m *Memory) Refresh(_ context.Context, key, owner string) (bool, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.getLocked(key, now) != owner {
		return false, nil
	}
	m.keys[key] = memoryClaim{owner: owner, expires: now.Add(m.ttl)}
	return true, nil
}

// Release implements Engine.
func (m *Memory) Release(_ context.Context, key, owner string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.getLocked(key, time.Now()) != owner {
		return false, nil
	}
	delete(m.keys, key)
	return true, nil
}

// TTL implements Engine.
func (m *Memory) TTL() time.Duration { return m.ttl }

// Len returns how many live claims the engine holds.
func (m *Memory) Len() int {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k := range m.keys {
		if m.getLocked(k, now) != "" {
			n++
		}
	}
	return n
}
