package session

import "sync"

// Registry holds the live sessions: by id for the HTTP transports, whose
// requests find their session by the id in the URL, and as a set of all
// sessions (websocket ones included) for Shutdown and the session cap.
type Registry struct {
	mu     sync.Mutex // guards the maps; leaf lock, held for map operations only
	byID   map[string]*Session
	all    map[*Session]struct{}
	closed bool // set by Close: no session may be added any more
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byID: make(map[string]*Session), all: make(map[*Session]struct{})}
}

// Get returns the session with id, or nil.
func (r *Registry) Get(id string) *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byID[id]
}

// GetOrCreate returns the session with id, or creates one with create and
// registers it. create runs with the registry locked, so it must only
// construct; limit caps the number of sessions (0 means none) and when it
// is reached no session is created and GetOrCreate returns nil, false.
func (r *Registry) GetOrCreate(id string, limit int, create func() *Session) (s *Session, created bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.byID[id]; s != nil {
		return s, false
	}
	if r.closed || limit > 0 && len(r.all) >= limit {
		return nil, false
	}
	s = create()
	r.byID[id] = s
	r.all[s] = struct{}{}
	return s, true
}

// Add registers a session that is not found by id (websocket), unless
// limit (0 means none) is reached.
func (r *Registry) Add(s *Session, limit int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || limit > 0 && len(r.all) >= limit {
		return false
	}
	r.all[s] = struct{}{}
	return true
}

// Remove forgets s; an id since taken by another session is left alone.
func (r *Registry) Remove(s *Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID[s.id] == s {
		delete(r.byID, s.id)
	}
	delete(r.all, s)
}

// Closed reports whether Close has been called.
func (r *Registry) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Len returns how many sessions are registered.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// Close refuses every later GetOrCreate and Add, and returns the sessions
// registered until then: after it, that list is all there will ever be.
func (r *Registry) Close() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	out := make([]*Session, 0, len(r.all))
	for s := range r.all {
		out = append(out, s)
	}
	return out
}
