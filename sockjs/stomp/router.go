package stomp

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// HandlerFunc handles a SEND to an application destination (Spring's
// @MessageMapping), or a SUBSCRIBE to one (@SubscribeMapping). It runs on the sending session's goroutine, so one
// session's messages are handled one at a time, in order, while the next
// ones wait: hand long work to a goroutine of your own. A SEND that asks
// for a receipt gets it once the handler returns nil. An error ends the
// session: ERROR (with the message of an *Error, or "Internal server
// error"), then the close.
type HandlerFunc func(m *Message) error

// Message is a SEND (or, for HandleSubscribe, a SUBSCRIBE) to an
// application destination, as a HandlerFunc gets it, with what the
// handler may do in answer.
type Message struct {
	// Frame is the SEND or SUBSCRIBE frame: its destination header,
	// headers and body.
	Frame
	// Destination is the frame's destination, prefix included
	// ("/app/chat/42").
	Destination string

	session *Session
	params  []string // name, value, name, value...
}

// Session returns the session that sent the message.
func (m *Message) Session() *Session { return m.session }

// User returns the user of the session that sent the message; "" when
// anonymous.
func (m *Message) User() string { return m.session.User() }

// Context returns the session's context, done when the session closes.
func (m *Message) Context() context.Context { return m.session.c.s.Context() }

// Param returns the value of the pattern's {name} segment the destination
// matched, or "".
func (m *Message) Param(name string) string {
	for i := 0; i+1 < len(m.params); i += 2 {
		if m.params[i] == name {
			return m.params[i+1]
		}
	}
	return ""
}

// Reply sends a MESSAGE to the sending session alone, on each of its
// subscriptions to destination (as the client wrote it, such as
// "/user/queue/reply", Spring's @SendToUser with broadcast off). It does
// nothing when the session has no such subscription.
func (m *Message) Reply(destination, body string, headers ...Header) error {
	return m.session.c.reply(destination, body, headers)
}

// Publish sends a message to a broker destination (a topic, a queue, or
// "/user/<name>/..."), as a client's SEND there would.
func (m *Message) Publish(destination, body string, headers ...Header) error {
	return m.session.c.srv.Publish(m.Context(), destination, body, headers...)
}

// SendToUser sends a message to destination (such as "/queue/reply") of
// every session of user, on every node, that subscribed to it as
// "/user/queue/reply".
func (m *Message) SendToUser(user, destination, body string, headers ...Header) error {
	return m.session.c.srv.SendToUser(m.Context(), user, destination, body, headers...)
}

// router maps application destinations (without the prefix) to handlers.
// Patterns are paths whose segments are literal or {name}; a literal
// route wins over one with a parameter at the same segment.
type router struct {
	mu     sync.RWMutex // guards routes; leaf lock
	routes []route
}

type route struct {
	pattern string
	segs    []string
	h       HandlerFunc
}

func (r *router) handle(pattern string, h HandlerFunc) {
	if !strings.HasPrefix(pattern, "/") {
		panic(fmt.Sprintf("stomp: pattern %q does not start with /", pattern))
	}
	if h == nil {
		panic("stomp: nil HandlerFunc")
	}
	segs := strings.Split(pattern[1:], "/")
	for _, s := range segs {
		if strings.ContainsAny(s, "{}") && !(len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && !strings.ContainsAny(s[1:len(s)-1], "{}")) {
			panic(fmt.Sprintf("stomp: pattern %q: a segment is literal or {name}", pattern))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rt := range r.routes {
		if rt.pattern == pattern {
			panic(fmt.Sprintf("stomp: pattern %q registered twice", pattern))
		}
	}
	r.routes = append(r.routes, route{pattern, segs, h})
}

// match finds the handler for path (the destination without the prefix)
// and the values of its parameters.
func (r *router) match(path string) (HandlerFunc, []string) {
	if !strings.HasPrefix(path, "/") {
		return nil, nil
	}
	segs := strings.Split(path[1:], "/")
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best *route
	bestScore := -1
	for i := range r.routes {
		rt := &r.routes[i]
		if score, ok := rt.matches(segs); ok && score > bestScore {
			best, bestScore = rt, score
		}
	}
	if best == nil {
		return nil, nil
	}
	var params []string
	for i, s := range best.segs {
		if strings.HasPrefix(s, "{") {
			params = append(params, s[1:len(s)-1], segs[i])
		}
	}
	return best.h, params
}

// matches reports whether segs fit the route, and a score that ranks
// literal segments, earlier ones first, above parameters.
func (rt *route) matches(segs []string) (int, bool) {
	if len(segs) != len(rt.segs) {
		return 0, false
	}
	score := 0
	for i, s := range rt.segs {
		score <<= 1
		if strings.HasPrefix(s, "{") {
			if segs[i] == "" {
				return 0, false
			}
			continue
		}
		if s != segs[i] {
			return 0, false
		}
		score |= 1
	}
	return score, true
}
