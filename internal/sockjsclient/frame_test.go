package sockjsclient

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Frame
		err  bool
	}{
		{name: "open", in: "o", want: Frame{Type: FrameOpen}},
		{name: "heartbeat", in: "h", want: Frame{Type: FrameHeartbeat}},
		{name: "open with payload", in: "oo", err: true},
		{name: "heartbeat with newline", in: "h\n", err: true},
		{name: "empty", in: "", err: true},
		{name: "unknown type", in: "x[]", err: true},
		{name: "empty array", in: "a[]", want: Frame{Type: FrameArray, Messages: []string{}}},
		{name: "one message", in: `a["x"]`, want: Frame{Type: FrameArray, Messages: []string{"x"}}},
		{name: "two messages", in: `a["a","bc"]`, want: Frame{Type: FrameArray, Messages: []string{"a", "bc"}}},
		{name: "empty message", in: `a[""]`, want: Frame{Type: FrameArray, Messages: []string{""}}},
		{name: "whitespace", in: "a[ \"a\" ,\n\"b\" ] ", want: Frame{Type: FrameArray, Messages: []string{"a", "b"}}},
		{name: "escapes", in: `a["\"\\\/\b\f\n\r\t"]`, want: Frame{Type: FrameArray, Messages: []string{"\"\\/\b\f\n\r\t"}}},
		{name: "unicode escape", in: `a["\u00e9\u2028\ud83d\ude00"]`, want: Frame{Type: FrameArray, Messages: []string{"é\u2028😀"}}},
		{name: "raw utf-8", in: `a["héllo"]`, want: Frame{Type: FrameArray, Messages: []string{"héllo"}}},
		{name: "lone surrogate", in: `a["\ud800"]`, want: Frame{Type: FrameArray, Messages: []string{"\ufffd"}}},
		{name: "array without bracket", in: `a"x"`, err: true},
		{name: "unterminated array", in: `a["x"`, err: true},
		{name: "unterminated string", in: `a["x]`, err: true},
		{name: "trailing comma", in: `a["x",]`, err: true},
		{name: "number element", in: `a[1]`, err: true},
		{name: "null element", in: `a[null]`, err: true},
		{name: "null array", in: `anull`, err: true},
		{name: "nested array", in: `a[["x"]]`, err: true},
		{name: "trailing data", in: `a["x"]x`, err: true},
		{name: "two frames", in: "a[\"x\"]\na[\"y\"]", err: true},
		{name: "control char", in: "a[\"\x01\"]", err: true},
		{name: "bad escape", in: `a["\x"]`, err: true},
		{name: "short unicode escape", in: `a["\u12"]`, err: true},
		{name: "single message", in: `m"hi"`, want: Frame{Type: FrameMessage, Messages: []string{"hi"}}},
		{name: "single message not string", in: `m1`, err: true},
		{name: "close", in: `c[3000,"Go away!"]`, want: Frame{Type: FrameClose, Code: 3000, Reason: "Go away!"}},
		{name: "close 2010", in: `c[2010,"Another connection still open"]`, want: Frame{Type: FrameClose, Code: 2010, Reason: "Another connection still open"}},
		{name: "close spaces", in: `c[ 1002 , "x" ]`, want: Frame{Type: FrameClose, Code: 1002, Reason: "x"}},
		{name: "close empty reason", in: `c[1000,""]`, want: Frame{Type: FrameClose, Code: 1000}},
		{name: "close negative", in: `c[-1,"x"]`, err: true},
		{name: "close leading zero", in: `c[01,"x"]`, err: true},
		{name: "close without reason", in: `c[1000]`, err: true},
		{name: "close reason not string", in: `c[1000,1]`, err: true},
		{name: "close extra element", in: `c[1000,"x","y"]`, err: true},
		{name: "close string code", in: `c["1000","x"]`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFrame([]byte(tt.in))
			if tt.err {
				if err == nil {
					t.Fatalf("ParseFrame(%q) = %+v, want error", tt.in, got)
				}
				if !errors.Is(err, ErrBadFrame) {
					t.Fatalf("error %v does not wrap ErrBadFrame", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFrame(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseFrame(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendSendBody(t *testing.T) {
	tests := []struct {
		msgs []string
		want string
	}{
		{nil, `[]`},
		{[]string{"x"}, `["x"]`},
		{[]string{"a", "b c"}, `["a","b c"]`},
		{[]string{"q\"b\\n\n"}, `["q\"b\\n\n"]`},
		{[]string{"é"}, `["é"]`},
	}
	for _, tt := range tests {
		got := string(AppendSendBody(nil, tt.msgs))
		if got != tt.want {
			t.Errorf("AppendSendBody(%q) = %s, want %s", tt.msgs, got, tt.want)
		}
		// What we send must parse back to what we meant.
		back, err := parseStringArray([]byte(got), nil)
		if err != nil || len(back) != len(tt.msgs) {
			t.Errorf("round trip of %q: %q, %v", tt.msgs, back, err)
		}
	}
}

// FuzzParseFrame checks the array parser against encoding/json: both must
// accept the same arrays of strings with the same result, and the parser
// must never panic on any frame.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		"o", "h", `a[]`, `a["x"]`, `a["a","b"]`, `a["\u0041\n"]`, `a[ "x" ]`,
		`c[3000,"Go away!"]`, `m"x"`, `a["\ud83d\ude00"]`, `a["é"]`, "a[\"\xff\"]", `a[1]`,
		`a["MESSAGE\ndestination:/topic/a\n\nbody\u0000","\"\\\/\b\f\r\t"]`, `a["\ud800"]`, `a["\u00e9\u20AC"]`,
		`a["\u12"]`, `a["\u12g4"]`, `a["\x"]`, `a["\`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err == nil && fr.Type == FrameArray && fr.Messages == nil {
			t.Fatalf("array frame %q parsed to nil messages", b)
		}
		if len(b) == 0 || b[0] != 'a' {
			return
		}
		var ref []any
		refErr := json.Unmarshal(b[1:], &ref)
		allStrings := refErr == nil && ref != nil
		for _, v := range ref {
			if _, ok := v.(string); !ok {
				allStrings = false
			}
		}
		if allStrings != (err == nil) {
			t.Fatalf("ParseFrame(%q) err=%v, encoding/json err=%v value=%#v", b, err, refErr, ref)
		}
		if err != nil {
			return
		}
		if len(ref) != len(fr.Messages) {
			t.Fatalf("ParseFrame(%q) = %q, encoding/json %q", b, fr.Messages, ref)
		}
		for i := range ref {
			if ref[i].(string) != fr.Messages[i] {
				t.Fatalf("ParseFrame(%q)[%d] = %q, encoding/json %q", b, i, fr.Messages[i], ref[i])
			}
		}
		// Re-encoding what we parsed must give the same messages back.
		again, err := parseStringArray(AppendSendBody(nil, fr.Messages), nil)
		if err != nil || !reflect.DeepEqual(again, fr.Messages) {
			t.Fatalf("re-encode of %q: %q, %v", fr.Messages, again, err)
		}
	})
}
