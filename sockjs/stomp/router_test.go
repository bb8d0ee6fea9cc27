package stomp

import (
	"reflect"
	"testing"
)

func TestRouter(t *testing.T) {
	var r router
	names := map[string]*int{}
	for _, p := range []string{"/chat", "/chat/{room}", "/chat/lobby", "/chat/{room}/typing", "/{any}/x"} {
		n := new(int)
		names[p] = n
		r.handle(p, func(*Message) error { *n++; return nil })
	}
	tests := []struct {
		path    string
		pattern string // "" when nothing matches
		params  []string
	}{
		{"/chat", "/chat", nil},
		{"/chat/42", "/chat/{room}", []string{"room", "42"}},
		{"/chat/lobby", "/chat/lobby", nil},
		{"/chat/42/typing", "/chat/{room}/typing", []string{"room", "42"}},
		{"/chat/x", "/chat/{room}", []string{"room", "x"}},
		{"/a/x", "/{any}/x", []string{"any", "a"}},
		{"/chat/", "", nil},
		{"/chat/42/other", "", nil},
		{"chat", "", nil},
		{"/", "", nil},
	}
	for _, tt := range tests {
		h, params := r.match(tt.path)
		if tt.pattern == "" {
			if h != nil {
				t.Errorf("%s matched a route", tt.path)
			}
			continue
		}
		if h == nil {
			t.Errorf("%s matched nothing, want %s", tt.path, tt.pattern)
			continue
		}
		before := *names[tt.pattern]
		_ = h(nil)
		if *names[tt.pattern] != before+1 {
			t.Errorf("%s went to another route than %s", tt.path, tt.pattern)
		}
		if !reflect.DeepEqual(params, tt.params) {
			t.Errorf("%s: params %q, want %q", tt.path, params, tt.params)
		}
	}
}

func TestRouterPanics(t *testing.T) {
	for _, p := range []string{"chat", "/a/{b", "/a/{}", "/a/x{b}", "/dup"} {
		var r router
		r.handle("/dup", func(*Message) error { return nil })
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("pattern %q accepted", p)
				}
			}()
			r.handle(p, func(*Message) error { return nil })
		}()
	}
}

func TestEnvelope(t *testing.T) {
	tests := []struct {
		name string
		h    []Header
		body string
		data string // what engines carry
	}{
		{"body alone", hs("destination", "/topic/a", "content-length", "2", "receipt", "1"), "hi", "hi"},
		{"headers passed on", hs("destination", "/topic/a", "content-type", "text/plain", "x:y", "a\nb"), "hi",
			"\x00content-type:text/plain\nx\\cy:a\\nb\n\nhi"},
		{"body starting with NUL", nil, "\x00x", "\x00\n\x00x"},
		{"forged headers dropped", hs("message-id", "1", "subscription", "s", "ack", "1", "x-offset", "9", "redelivered", "true"), "b", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := wrap(tt.h, tt.body)
			if d != tt.data {
				t.Fatalf("wrap = %q, want %q", d, tt.data)
			}
			_, body := unwrap(d)
			if body != tt.body {
				t.Fatalf("unwrap body %q, want %q", body, tt.body)
			}
		})
	}
	// The lines of an envelope, for each version.
	lines, _ := unwrap("\x00k:a\\cb\\r\n\n")
	for v, want := range map[version]string{v12: "k:a\\cb\\r\n", v11: "k:a\\cb \n", v10: "k:a:b \n"} {
		if got := string(appendLines(nil, v, lines)); got != want {
			t.Errorf("%v: %q, want %q", v, got, want)
		}
	}
}

func TestUserTopic(t *testing.T) {
	s := New("", nil)
	for user, want := range map[string]string{
		"ann":   "/user/ann/queue/x",
		"a/b":   "/user/a%2Fb/queue/x",
		"50%":   "/user/50%25/queue/x",
		"a%2Fb": "/user/a%252Fb/queue/x",
	} {
		if got := s.userTopic(user, "/queue/x"); got != want {
			t.Errorf("userTopic(%q) = %q, want %q", user, got, want)
		}
	}
}
