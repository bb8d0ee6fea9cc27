package cluster

import (
	"cmp"
	"slices"
	"sync"

	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// presenceBook is what this node has written into a broker's presence:
// per topic, per user, how many of this node's sessions are present. It
// is the truth the node rewrites the broker's entries from.
type presenceBook struct {
	mu      sync.Mutex // guards byTopic; leaf lock
	byTopic map[string]map[string]int
}

func (p *presenceBook) init() { p.byTopic = map[string]map[string]int{} }

// add changes user's count in topic by delta and returns the new count.
func (p *presenceBook) add(topic, user string, delta int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.byTopic[topic]
	if users == nil {
		users = map[string]int{}
		p.byTopic[topic] = users
	}
	n := max(users[user]+delta, 0)
	if n == 0 {
		delete(users, user)
		if len(users) == 0 {
			delete(p.byTopic, topic)
		}
	} else {
		users[user] = n
	}
	return n
}

func (p *presenceBook) topics() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.byTopic))
	for t := range p.byTopic {
		out = append(out, t)
	}
	return out
}

func (p *presenceBook) snapshot(topic string) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.byTopic[topic]))
	for u, n := range p.byTopic[topic] {
		out[u] = n
	}
	return out
}

// fields returns the Redis hash fields of node's entries in topic.
func (p *presenceBook) fields(topic, node string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.byTopic[topic]))
	for u := range p.byTopic[topic] {
		out = append(out, node+"\x00"+u)
	}
	return out
}

// members turns user → sessions into hub.Members sorted by user.
func members(users map[string]int) []hub.Member {
	out := make([]hub.Member, 0, len(users))
	for u, n := range users {
		out = append(out, hub.Member{User: u, Sessions: n})
	}
	slices.SortFunc(out, func(a, b hub.Member) int { return cmp.Compare(a.User, b.User) })
	return out
}
