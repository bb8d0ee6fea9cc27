package sockjsclient

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeURI(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "", want: ""},
		{in: `a["x"]`, want: `a["x"]`},
		{in: "%25", want: "%"},
		{in: "%0A%0d%00", want: "\n\r\x00"},
		{in: "a%41b", want: "aAb"},
		{in: "%C3%A9", want: "é"},
		{in: "%c3%a9", want: "é"},
		{in: "%F0%9F%98%80", want: "😀"},
		{in: "é raw", want: "é raw"},
		{in: "%3B%2F%3F%3A%40%26%3D%2B%24%2C%23", want: "%3B%2F%3F%3A%40%26%3D%2B%24%2C%23"}, // reserved: kept
		{in: "%", err: true},
		{in: "%4", err: true},
		{in: "%zz", err: true},
		{in: "%C3", err: true},          // truncated sequence
		{in: "%C3%41", err: true},       // not a continuation byte
		{in: "%80", err: true},          // lone continuation byte
		{in: "%C0%AF", err: true},       // overlong
		{in: "%ED%A0%80", err: true},    // surrogate
		{in: "%F4%90%80%80", err: true}, // above U+10FFFF
	}
	for _, tt := range tests {
		got, err := decodeURI([]byte(tt.in))
		if tt.err {
			if err == nil || !errors.Is(err, ErrBadFrame) {
				t.Errorf("decodeURI(%q) = %q, %v; want an ErrBadFrame", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("decodeURI(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzDecodeURI: never a panic, and what a server percent-encodes the way
// sockjs does (and more) decodes back to the original.
func FuzzDecodeURI(f *testing.F) {
	for _, s := range []string{"", "a", "%", "%25", "é", "\n\r\x00", "😀", "%C3%A9", ";"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = decodeURI([]byte(s))
		if !utf8.ValidString(s) {
			return
		}
		var enc []byte
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '%' || c < 0x20 || c >= utf8.RuneSelf {
				enc = append(enc, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
			} else {
				enc = append(enc, c)
			}
		}
		got, err := decodeURI(enc)
		if err != nil || string(got) != s {
			t.Fatalf("decodeURI(%q) = %q, %v; want %q", enc, got, err, s)
		}
	})
}

// streamOver is a stream reading body, with callback cb.
func streamOver(body, cb string) *stream {
	return &stream{body: bufio.NewReaderSize(strings.NewReader(body), 16), cb: cb}
}

// frames reads every frame of st with next until the body ends.
func frames(st *stream, next func(*stream) ([]byte, error)) ([]string, error) {
	var out []string
	for {
		f, err := next(st)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(f))
	}
}

func TestNextEvent(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      bool
	}{
		{name: "sockjs", in: "\r\ndata: o\r\n\r\ndata: a[\"x\"]\r\n\r\n", want: []string{"o", `a["x"]`}},
		{name: "escapes", in: "data: a[\"100%25 %0A\"]\r\n\r\n", want: []string{"a[\"100% \n\"]"}},
		{name: "bare LF, no space", in: "data:h\n\n", want: []string{"h"}},
		{name: "comments and other fields", in: ": hi\nevent: x\nid: 1\nretry: 10\ndata: o\n\n", want: []string{"o"}},
		{name: "two data lines", in: "data: a\ndata: b\n\n", want: []string{"a\nb"}},
		{name: "empty events skipped", in: "\n\n\ndata: o\n\n", want: []string{"o"}},
		{name: "data-like field", in: "datax: no\ndata: o\n\n", want: []string{"o"}},
		{name: "long line", in: "data: a[\"" + strings.Repeat("z", 100) + "\"]\n\n", want: []string{`a["` + strings.Repeat("z", 100) + `"]`}},
		{name: "ends inside an event", in: "data: o\n", err: true},
		{name: "ends inside a line", in: "data: o", err: true},
		{name: "bad escape", in: "data: a[\"%zz\"]\n\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := frames(streamOver(tt.in, ""), nextEvent)
			if (err != nil) != tt.err || !equal(got, tt.want) {
				t.Fatalf("frames %q, %v; want %q (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestHTMLFile(t *testing.T) {
	head := "<!doctype html>\n<html><head>\n</head><body><h2>Don't panic!</h2>\n  <script>\n    document.domain = document.domain;\n" +
		"    var c = parent._jp.cb;\n    c.start();\n    function p(d) {c.message(d);};\n" +
		"    window.onload = function() {c.stop();};\n  </script>" + strings.Repeat(" ", 600) + "\r\n\r\n"
	script := func(lit string) string { return "<script>\np(" + lit + ");\n</script>\r\n" }
	tests := []struct {
		name, cb, in string
		want         []string
		err          bool
	}{
		{name: "sockjs", cb: "_jp.cb", in: head + script(`"o"`) + script(`"a[\"\u003c/script\u003e\"]"`), want: []string{"o", `a["</script>"]`}},
		{name: "wrong callback", cb: "_jp.other", in: head + script(`"o"`), err: true},
		{name: "no head end", cb: "_jp.cb", in: "<html>", err: true},
		{name: "not a script", cb: "_jp.cb", in: head + "<div>\n", err: true},
		{name: "not a call", cb: "_jp.cb", in: head + "<script>\nalert(1);\n</script>\r\n", err: true},
		{name: "bad literal", cb: "_jp.cb", in: head + script(`"o" + "h"`), err: true},
		{name: "unterminated script", cb: "_jp.cb", in: head + "<script>\np(\"o\");\n", err: true},
		{name: "script not closed", cb: "_jp.cb", in: head + "<script>\np(\"o\");\n<script>\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := streamOver(tt.in, tt.cb)
			err := htmlFilePrelude(st)
			var got []string
			if err == nil {
				got, err = frames(st, nextScript)
			}
			if (err != nil) != tt.err || !equal(got, tt.want) {
				t.Fatalf("frames %q, %v; want %q (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestJSONPUnwrap(t *testing.T) {
	tests := []struct {
		in, want string
		err      bool
	}{
		{in: "/**/_jp.a1(\"o\");\r\n", want: "o"},
		{in: "/**/_jp.a1(\"a[\\\"\\u003cb\\u003e\\\"]\");\r\n", want: `a["<b>"]`},
		{in: "_jp.a1(\"o\");\r\n", err: true},     // no /**/
		{in: "/**/_jp.b2(\"o\");\r\n", err: true}, // another callback
		{in: "/**/_jp.a1(\"o\");", err: true},
		{in: "/**/_jp.a1(o);\r\n", err: true},
	}
	for _, tt := range tests {
		got, err := jsonpPollingKind.unwrap([]byte(tt.in), "_jp.a1")
		if (err != nil) != tt.err || (!tt.err && string(got) != tt.want) {
			t.Errorf("unwrap(%q) = %q, %v; want %q (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestXHRStreamingPrelude(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{strings.Repeat("h", 2048) + "\no\n", true},
		{strings.Repeat("h", 2047) + "\no\n", false},
		{strings.Repeat("h", 100), false},
	} {
		err := xhrStreamingPrelude(streamOver(tt.in, ""))
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrHandshake)) {
			t.Errorf("prelude of %d bytes: %v, want ok %v", len(tt.in), err, tt.ok)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWebsocketFraming(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		payload := strings.Repeat("z", n)
		b := append(make([]byte, 3), make([]byte, 14)...) // 3 bytes of earlier frames
		b = append(b, payload...)
		b = wsFrameInPlace(b, 3, wsOpText)
		f := b[3:]
		if f[0] != 0x81 || f[1]&0x80 == 0 {
			t.Fatalf("n=%d: header %x", n, f[:2])
		}
		h, ln := 2, int(f[1]&0x7F)
		switch ln {
		case 126:
			ln, h = int(f[2])<<8|int(f[3]), 4
		case 127:
			ln, h = 0, 10
			for i := 2; i < 10; i++ {
				ln = ln<<8 | int(f[i])
			}
		}
		if ln != n || len(f) != h+4+n {
			t.Fatalf("n=%d: length %d, frame %d bytes", n, ln, len(f))
		}
		mask := f[h : h+4]
		for i, c := range f[h+4:] {
			if c^mask[i&3] != 'z' {
				t.Fatalf("n=%d: byte %d unmasks to %q", n, i, c^mask[i&3])
			}
		}
	}
}
