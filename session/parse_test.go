package session

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseMessages(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  error
	}{
		{"", nil, ErrPayloadExpected},
		{" \t\r\n", nil, ErrPayloadExpected},
		{"[]", nil, nil},
		{" [ ] ", nil, nil},
		{`["a"]`, []string{"a"}, nil},
		{`["a","b"]`, []string{"a", "b"}, nil},
		{"\n[ \"a\" ,\t\"b\" ]\r\n", []string{"a", "b"}, nil},
		{`[""]`, []string{""}, nil},
		{`["\"\\\/\b\f\n\r\t"]`, []string{"\"\\/\b\f\n\r\t"}, nil},
		{`["\u0041\u00e9\u2028"]`, []string{"A\u00e9\u2028"}, nil},
		{`["\u00E9"]`, []string{"\u00e9"}, nil},
		{`["\ud83d\ude00"]`, []string{"\U0001F600"}, nil},
		{`["\ud83d"]`, []string{"\ufffd"}, nil},
		{`["\ude00"]`, []string{"\ufffd"}, nil},
		{`["\ud83dx"]`, []string{"\ufffdx"}, nil},
		{`["\ud83d\u0041"]`, []string{"\ufffdA"}, nil},
		{`["\ud83d\ud83d\ude00"]`, []string{"\ufffd\U0001F600"}, nil},
		{"[\"\xff\"]", []string{"\ufffd"}, nil},
		{"[\"\xed\xa0\x80\"]", []string{"\ufffd\ufffd\ufffd"}, nil},
		{"[\"é\x7f\"]", []string{"é\x7f"}, nil},
		{`["\u0000"]`, []string{"\x00"}, nil},
		{"[\"a\x00\"]", nil, ErrBrokenJSON},
		{"[\"a\n\"]", nil, ErrBrokenJSON},
		{"[\"\xff\n\"]", nil, ErrBrokenJSON},
		{`["a`, nil, ErrBrokenJSON},
		{`["a"`, nil, ErrBrokenJSON},
		{`["a",]`, nil, ErrBrokenJSON},
		{`[,"a"]`, nil, ErrBrokenJSON},
		{`[,]`, nil, ErrBrokenJSON},
		{`["a" "b"]`, nil, ErrBrokenJSON},
		{`["a"]]`, nil, ErrBrokenJSON},
		{`["a"] x`, nil, ErrBrokenJSON},
		{`["a"][]`, nil, ErrBrokenJSON},
		{`[1]`, nil, ErrBrokenJSON},
		{`[null]`, nil, ErrBrokenJSON},
		{`null`, nil, ErrBrokenJSON},
		{`"a"`, nil, ErrBrokenJSON},
		{`{}`, nil, ErrBrokenJSON},
		{`[["a"]]`, nil, ErrBrokenJSON},
		{`["\x"]`, nil, ErrBrokenJSON},
		{`["\u12"]`, nil, ErrBrokenJSON},
		{`["\u12g4"]`, nil, ErrBrokenJSON},
		{`["\ud83d\uzzzz"]`, nil, ErrBrokenJSON},
		{`["\`, nil, ErrBrokenJSON},
		{`["\u`, nil, ErrBrokenJSON},
		{`["\ud83d\`, nil, ErrBrokenJSON},
		{`["\ud83d\u`, nil, ErrBrokenJSON},
		{`['a']`, nil, ErrBrokenJSON},
		{"\ufeff[]", nil, ErrBrokenJSON},
		{"[\v]", nil, ErrBrokenJSON},
		{`x`, nil, ErrBrokenJSON},
	}
	for _, tt := range tests {
		got, err := ParseMessages([]byte(tt.in))
		if !errors.Is(err, tt.err) || !slices.Equal(got, tt.want) {
			t.Errorf("ParseMessages(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseMessagesErrorText(t *testing.T) {
	// The protocol compares these bodies byte for byte.
	if ErrPayloadExpected.Error() != "Payload expected." || ErrBrokenJSON.Error() != "Broken JSON encoding." {
		t.Errorf("error texts changed: %q, %q", ErrPayloadExpected, ErrBrokenJSON)
	}
}

// jsonMessages decodes data the way the protocol means it: a JSON array of
// strings. encoding/json decoding into []string also accepts null at the
// top level and as an element (leaving nil or ""), which the protocol does
// not; a decode into any tells those apart.
func jsonMessages(data []byte) ([]string, bool) {
	var msgs []string
	if err := json.Unmarshal(data, &msgs); err != nil {
		return nil, false
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		panic("encoding/json accepted data as []string but not as any: " + string(data))
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, false // null
	}
	for _, e := range arr {
		if _, ok := e.(string); !ok {
			return nil, false // [null]
		}
	}
	return msgs, true
}

func parseSeeds() []string {
	return []string{
		``, ` `, `[]`, `["a"]`, `["a","b"]`, `null`, `[null]`, `["a",null]`, `[1]`, `{}`,
		`["\ud83d\ude00"]`, `["\ud83d"]`, `["\ud83d\u0041"]`, `["\u00e9\u2028"]`, `["\"\\\/\b\f\n\r\t"]`,
		"[\"\xff\"]", "[\"\xed\xa0\x80\"]", `["a`, `["a",]`, `["\u12"]`, "[\"a\x00\"]", " [ \"x\" ] ",
		`["\ud83d\`, `["\ud83d\u`, `[""]`, `[["a"]]`, `["a"]]`, "\t[\n]\r",
	}
}

func FuzzParseMessages(f *testing.F) {
	for _, s := range parseSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseMessages(data)
		want, ok := jsonMessages(data)
		if len(strings.Trim(string(data), " \t\r\n")) == 0 {
			if !errors.Is(err, ErrPayloadExpected) {
				t.Fatalf("ParseMessages(%q): err %v, want ErrPayloadExpected", data, err)
			}
			return
		}
		if ok != (err == nil) {
			t.Fatalf("ParseMessages(%q) = %q, %v; encoding/json accepts: %v (%q)", data, got, err, ok, want)
		}
		if err != nil {
			if !errors.Is(err, ErrBrokenJSON) {
				t.Fatalf("ParseMessages(%q): err %v, want ErrBrokenJSON", data, err)
			}
			return
		}
		if !slices.Equal(got, want) {
			t.Fatalf("ParseMessages(%q) = %q, encoding/json gives %q", data, got, want)
		}
		for _, m := range got {
			if !utf8.ValidString(m) {
				t.Fatalf("ParseMessages(%q): message %q is not valid UTF-8", data, m)
			}
		}
	})
}

func FuzzFrameRoundTrip(f *testing.F) {
	f.Add("", "", "")
	f.Add("a", "b", "c")
	f.Add("\"\\", "\x00\x1f\n", "\u2028\u2029\u200c\u206f\ufff0\uffff")
	f.Add("</script>", "<!--", "&amp;")
	f.Add("\U0001F600", "é", "\x7f")
	f.Add("\xff", "\xed\xa0\x80", "ok")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		msgs := []string{a, b, c}
		want := make([]string, len(msgs))
		for i, m := range msgs {
			want[i] = fixUTF8(m)
		}
		frame := AppendMessages(nil, msgs)
		if frame[0] != 'a' {
			t.Fatalf("frame %q does not start with a", frame)
		}
		if !utf8.Valid(frame) {
			t.Fatalf("frame %q is not valid UTF-8", frame)
		}
		var got []string
		if err := json.Unmarshal(frame[1:], &got); err != nil {
			t.Fatalf("json.Unmarshal(%q): %v", frame[1:], err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round trip of %q: got %q", want, got)
		}
		parsed, err := ParseMessages(frame[1:])
		if err != nil || !slices.Equal(parsed, want) {
			t.Fatalf("ParseMessages(%q) = %q, %v; want %q", frame[1:], parsed, err, want)
		}
		for i, m := range msgs {
			q := AppendQuotedHTML(nil, m)
			if strings.ContainsAny(string(q), "<>&\u2028\u2029") {
				t.Fatalf("AppendQuotedHTML(%q) = %q: contains a character unsafe in <script>", m, q)
			}
			var s string
			if err := json.Unmarshal(q, &s); err != nil || s != want[i] {
				t.Fatalf("AppendQuotedHTML(%q) = %q decodes to %q, %v", m, q, s, err)
			}
		}
		closeFrame := AppendClose(nil, 3000, a)
		var cl []any
		if err := json.Unmarshal(closeFrame[1:], &cl); err != nil || len(cl) != 2 || cl[0] != 3000.0 || cl[1] != want[0] {
			t.Fatalf("close frame %q decodes to %v, %v", closeFrame, cl, err)
		}
	})
}

func BenchmarkParseMessages(b *testing.B) {
	data := []byte(`["hello world","with \"escapes\" \u2028","` + strings.Repeat("x", 200) + `"]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMessages(data); err != nil {
			b.Fatal(err)
		}
	}
}
