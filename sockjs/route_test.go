package sockjs

import (
	"strings"
	"testing"
)

func TestParseSessionPath(t *testing.T) {
	tests := []struct {
		path, session, transport string
		ok                       bool
	}{
		{"/000/abc/xhr", "abc", "xhr", true},
		{"/a/a1024/xhr_send", "a1024", "xhr_send", true},
		{"/_/_/websocket", "_", "websocket", true},
		{"/abcdefgh_i-j /abcdefg_i-j 1/xhr", "abcdefg_i-j 1", "xhr", true},
		{"/0/0/", "0", "", true}, // an empty transport is simply unknown
		{"//xhr", "", "", false},
		{"/a./a/xhr", "", "", false},
		{"/a/a./xhr", "", "", false},
		{"/./././xhr", "", "", false},
		{"///xhr", "", "", false},
		{"/a//xhr", "", "", false},
		{"/a/a/xhr/more", "", "", false},
		{"/a/a", "", "", false},
		{"a/a/xhr", "", "", false},
		{"", "", "", false},
		{"/" + strings.Repeat("s", 128) + "/" + strings.Repeat("i", 128) + "/xhr", strings.Repeat("i", 128), "xhr", true},
		{"/" + strings.Repeat("s", 129) + "/abc/xhr", "", "", false},
		{"/000/" + strings.Repeat("i", 129) + "/xhr", "", "", false},
	}
	for _, tt := range tests {
		session, transport, ok := parseSessionPath(tt.path)
		if ok != tt.ok || session != tt.session || transport != tt.transport {
			t.Errorf("parseSessionPath(%q) = %q, %q, %v; want %q, %q, %v",
				tt.path, session, transport, ok, tt.session, tt.transport, tt.ok)
		}
	}
}

func FuzzParseSessionPath(f *testing.F) {
	for _, s := range []string{"/000/abc/xhr", "//xhr", "/a./a/xhr", "/a/a/xhr/x", "/0/0/", "/%2e/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		session, transport, ok := parseSessionPath(path)
		if !ok {
			return
		}
		// Accepted paths are exactly /<server>/<session>/<transport> with
		// non-empty, dot-free ids.
		parts := strings.Split(path, "/")
		if len(parts) != 4 || parts[0] != "" || parts[1] == "" || parts[2] != session || parts[3] != transport {
			t.Fatalf("parseSessionPath(%q) accepted a malformed path: %q %q", path, session, transport)
		}
		if session == "" || strings.Contains(parts[1]+session, ".") || len(parts[1]) > maxIDLen || len(session) > maxIDLen {
			t.Fatalf("parseSessionPath(%q) accepted an empty or dotted id", path)
		}
	})
}

func TestIsIframePath(t *testing.T) {
	for path, want := range map[string]bool{
		"/iframe.html":                     true,
		"/iframe-a.html":                   true,
		"/iframe-.html":                    true,
		"/iframe-0.1.2abc-dirty.2144.html": true,
		"/iframe.htm":                      false,
		"/iframe":                          false,
		"/IFRAME.HTML":                     false,
		"/iframe.HTML":                     false,
		"/iframe.xml":                      false,
		"/iframe-/.html":                   false,
		"/iframe-a.html/x":                 false,
		"/xiframe.html":                    false,
	} {
		if got := isIframePath(path); got != want {
			t.Errorf("isIframePath(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestPatternPath(t *testing.T) {
	for pattern, want := range map[string]string{
		"/echo/":                          "/echo",
		"/echo":                           "/echo",
		"/rooms/{room}/chat/":             "/rooms/{room}/chat",
		"GET /rooms/{room}/chat/":         "/rooms/{room}/chat",
		"GET example.com/rooms/{room}/x/": "/rooms/{room}/x",
		"/files/{rest...}":                "/files",
		"/exact/{$}":                      "/exact",
		"/":                               "",
		"example.com/":                    "",
		"POST  /a/{b}/":                   "/a/{b}",
	} {
		if got := patternPath(pattern); got != want {
			t.Errorf("patternPath(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestCutSegments(t *testing.T) {
	tests := []struct {
		path, prefix, rest string
		ok                 bool
	}{
		{"/echo/info", "/echo", "/info", true},
		{"/echo", "/echo", "", true},
		{"/echoes/info", "/echo", "", false},
		{"/rooms/blue/chat/info", "/rooms/{room}/chat", "/info", true},
		{"/rooms/blue/chat", "/rooms/{room}/chat", "", true},
		{"/rooms//chat/info", "/rooms/{room}/chat", "", false},
		{"/rooms/blue/talk/info", "/rooms/{room}/chat", "", false},
		{"/rooms/blue", "/rooms/{room}/chat", "", false},
		{"/a/b/c", "", "/a/b/c", true},
		{"/x", "/{a}", "", true},
		{"x", "/{a}", "", false},
	}
	for _, tt := range tests {
		rest, ok := cutSegments(tt.path, tt.prefix)
		if ok != tt.ok || rest != tt.rest {
			t.Errorf("cutSegments(%q, %q) = %q, %v; want %q, %v", tt.path, tt.prefix, rest, ok, tt.rest, tt.ok)
		}
	}
}
