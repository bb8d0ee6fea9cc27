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
		if session == "" || strings.Contains(parts[1]+session, ".") {
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
