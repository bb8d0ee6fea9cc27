package session

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

func TestFrameEncoders(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"open", AppendOpen(nil), "o"},
		{"heartbeat", AppendHeartbeat(nil), "h"},
		{"messages nil", AppendMessages(nil, nil), "a[]"},
		{"messages empty", AppendMessages(nil, []string{}), "a[]"},
		{"messages one", AppendMessages(nil, []string{"x"}), `a["x"]`},
		{"messages empty string", AppendMessages(nil, []string{""}), `a[""]`},
		{"messages many", AppendMessages(nil, []string{"a", "b", "c"}), `a["a","b","c"]`},
		{"messages escaped", AppendMessages(nil, []string{"\"\\\n", "\u2028<"}), `a["\"\\\n","\u2028<"]`},
		{"close", AppendClose(nil, 3000, "Go away!"), `c[3000,"Go away!"]`},
		{"close 2010", AppendClose(nil, closecode.AnotherReceiver, "Another connection still open"), `c[2010,"Another connection still open"]`},
		{"close empty reason", AppendClose(nil, 1000, ""), `c[1000,""]`},
		{"close escaped reason", AppendClose(nil, 4000, "a\"b\x00"), `c[4000,"a\"b\u0000"]`},
		{"close negative code", AppendClose(nil, -1, "x"), `c[-1,"x"]`},
		{"appends to dst", AppendClose([]byte("prefix:"), 1, "r"), `prefix:c[1,"r"]`},
		{"open appends", AppendOpen([]byte("xx")), "xxo"},
		{"messages appends", AppendMessages([]byte("p"), []string{"m"}), `pa["m"]`},
		{"batch open", AppendBatch(nil, &Batch{Kind: FrameOpen}), "o"},
		{"batch heartbeat", AppendBatch(nil, &Batch{Kind: FrameHeartbeat}), "h"},
		{"batch messages", AppendBatch(nil, &Batch{Kind: FrameMessages, Messages: []string{"a", "b"}}), `a["a","b"]`},
		{"batch close", AppendBatch(nil, &Batch{Kind: FrameClose, Code: 3000, Reason: "Go away!"}), `c[3000,"Go away!"]`},
		{"quoted", AppendQuoted(nil, "plain"), `"plain"`},
		{"quoted html", AppendQuotedHTML(nil, "<a&b>"), `"\u003ca\u0026b\u003e"`},
		{"quoted html escapes like plain", AppendQuotedHTML(nil, "\"\\\t\u2028\ufff0"), `"\"\\\t\u2028\ufff0"`},
		{"invalid utf8", AppendQuoted(nil, "a\xffb"), `"a\ufffdb"`},
		{"encoded surrogate", AppendQuoted(nil, "\xed\xa0\x80"), `"\ufffd\ufffd\ufffd"`},
		{"truncated rune", AppendQuoted(nil, "\xe2\x80"), `"\ufffd\ufffd"`},
		{"astral", AppendQuoted(nil, "\U0001F600"), "\"\U0001F600\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got %s, want %s", tt.got, tt.want)
			}
		})
	}
}

// mustEscape is the set the brief (and the protocol suite's
// escapable_by_server, plus JSON's own '"' and '\\') requires.
func mustEscape(r rune) bool {
	switch {
	case r == '"', r == '\\', r <= 0x1f:
		return true
	case r >= 0x200c && r <= 0x200f, r >= 0x2028 && r <= 0x202f, r >= 0x2060 && r <= 0x206f:
		return true
	case r >= 0xfff0 && r <= 0xffff:
		return true
	}
	return false
}

func isSurrogate(r rune) bool { return r >= 0xd800 && r <= 0xdfff }

// allowedEscapes lists the spellings accepted for an escaped rune: the
// lowercase \uXXXX form, and the short forms JSON has for some.
func allowedEscapes(r rune) []string {
	out := []string{fmt.Sprintf(`\u%04x`, r)}
	switch r {
	case '\b':
		out = append(out, `\b`)
	case '\f':
		out = append(out, `\f`)
	case '\n':
		out = append(out, `\n`)
	case '\r':
		out = append(out, `\r`)
	case '\t':
		out = append(out, `\t`)
	case '"':
		out = append(out, `\"`)
	case '\\':
		out = append(out, `\\`)
	}
	return out
}

// TestEscapingExhaustive checks every rune: exactly the required set is
// escaped, as lowercase \uXXXX (or a short escape), and everything else is
// copied verbatim. The HTML-safe variant additionally escapes < > &.
func TestEscapingExhaustive(t *testing.T) {
	t.Parallel()
	var buf []byte
	fails := 0
	for r := rune(0); r <= utf8.MaxRune && fails < 20; r++ {
		if isSurrogate(r) {
			continue
		}
		s := string(r)
		for _, html := range []bool{false, true} {
			if html {
				buf = AppendQuotedHTML(buf[:0], s)
			} else {
				buf = AppendQuoted(buf[:0], s)
			}
			got := string(buf)
			esc := mustEscape(r) || html && (r == '<' || r == '>' || r == '&')
			var want []string
			if esc {
				for _, e := range allowedEscapes(r) {
					want = append(want, `"`+e+`"`)
				}
			} else {
				want = []string{`"` + s + `"`}
			}
			ok := false
			for _, w := range want {
				ok = ok || got == w
			}
			if !ok {
				fails++
				t.Errorf("U+%04X (html=%v): got %q, want one of %q", r, html, got, want)
			}
		}
	}
}

// TestEscapingDecodes encodes every valid rune in one string (and the
// surrogate code points as raw bytes) and decodes it with encoding/json.
func TestEscapingDecodes(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !isSurrogate(r) {
			sb.WriteRune(r)
		}
	}
	all := sb.String()
	for _, html := range []bool{false, true} {
		var enc []byte
		if html {
			enc = AppendQuotedHTML(nil, all)
		} else {
			enc = AppendQuoted(nil, all)
		}
		if html && strings.ContainsAny(string(enc), "<>&") {
			t.Errorf("html variant emits < > or &")
		}
		var dec string
		if err := json.Unmarshal(enc, &dec); err != nil {
			t.Fatalf("html=%v: json.Unmarshal: %v", html, err)
		}
		if dec != all {
			t.Errorf("html=%v: decoded string differs from the input", html)
		}
	}
}

// fixUTF8 replaces each byte of an invalid UTF-8 sequence by U+FFFD, as
// encoding/json does (unlike strings.ToValidUTF8, which merges runs).
func fixUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for a bad byte
		i += size
	}
	return b.String()
}

func TestEscapingInvalidUTF8(t *testing.T) {
	inputs := []string{
		"\xff", "\xfe\xff", "a\x80b", "\xc0\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf4\x90\x80\x80", "\xe2\x80", "\xe2\x80\xa8\xe2", "ok\xf0\x9f\x98", "<\xff>",
	}
	for _, in := range inputs {
		for _, html := range []bool{false, true} {
			var enc []byte
			if html {
				enc = AppendQuotedHTML(nil, in)
			} else {
				enc = AppendQuoted(nil, in)
			}
			if !utf8.Valid(enc) {
				t.Errorf("%q html=%v: output %q is not valid UTF-8", in, html, enc)
			}
			var dec string
			if err := json.Unmarshal(enc, &dec); err != nil {
				t.Errorf("%q html=%v: json.Unmarshal(%s): %v", in, html, enc, err)
				continue
			}
			if want := fixUTF8(in); dec != want {
				t.Errorf("%q html=%v: decoded %q, want %q", in, html, dec, want)
			}
		}
	}
}

// TestMessagesFrameLen checks the length a streaming lease counts against
// the real frame's.
func TestMessagesFrameLen(t *testing.T) {
	for _, msgs := range [][]string{{"a"}, {"a", "bb", "ccc"}, {""}, {"", ""}, {strings.Repeat("x", 100)},
		{`"quoted"`, `back\slash`, "\x00\x1f\n\t"}, {"\u2028\u200c\ufff0\U0001F600é", "\xff\xfe", "</script>"}} {
		n, bytes := len(msgs), 0
		for _, m := range msgs {
			bytes += escapedLen(m)
		}
		if got, want := messagesFrameLen(n, bytes), len(AppendMessages(nil, msgs)); got != want {
			t.Errorf("%q: counted %d, real frame %d", msgs, got, want)
		}
	}
}

func FuzzEscapedLen(f *testing.F) {
	for _, s := range []string{"", "plain", `"\`, "\x00\x7f", "\u2028\u206f\uffff", "\xc3", "\xed\xa0\x80", "é\U0010FFFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := escapedLen(s), len(AppendQuoted(nil, s))-2; got != want {
			t.Fatalf("escapedLen(%q) = %d, AppendQuoted writes %d", s, got, want)
		}
	})
}

func BenchmarkAppendMessages(b *testing.B) {
	msgs := []string{"hello world", strings.Repeat("x", 200), "with \"quotes\" and \u2028"}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessages(buf[:0], msgs)
	}
}
