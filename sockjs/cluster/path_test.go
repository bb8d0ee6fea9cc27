package cluster

import (
	"strings"
	"testing"
)

func TestSessionPath(t *testing.T) {
	cases := []struct {
		path, id, transport string
		ok                  bool
	}{
		{"/echo/000/abc/xhr", "abc", "xhr", true},
		{"/rooms/r1/chat/123/x-y_z/xhr_send", "x-y_z", "xhr_send", true},
		{"/000/abc/jsonp", "abc", "jsonp", true},
		{"/echo/info", "", "", false},
		{"/echo/000/a.b/xhr", "", "", false},
		{"/echo/0.0/ab/xhr", "", "", false},
		{"/echo//abc/xhr", "", "", false},
		{"/echo/000//xhr", "", "", false},
		{"abc/xhr", "", "", false},
		{"/echo/000/" + strings.Repeat("a", 129) + "/xhr", "", "", false},
	}
	for _, c := range cases {
		id, tr, ok := sessionPath(c.path)
		if id != c.id || tr != c.transport || ok != c.ok {
			t.Errorf("sessionPath(%q) = %q, %q, %v; want %q, %q, %v", c.path, id, tr, ok, c.id, c.transport, c.ok)
		}
	}
}

func FuzzSessionPath(f *testing.F) {
	for _, s := range []string{"/echo/000/abc/xhr", "/a/b/c", "///", "/x/../y/z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		id, tr, ok := sessionPath(p)
		if !ok {
			return
		}
		if !validID(id) || strings.Contains(tr, "/") || !strings.HasSuffix(p, "/"+id+"/"+tr) {
			t.Fatalf("sessionPath(%q) = %q, %q", p, id, tr)
		}
	})
}
