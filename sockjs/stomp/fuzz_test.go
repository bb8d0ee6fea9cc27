package stomp

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzDecode: decoding never panics, and a stream split into messages
// anywhere decodes to the frames of the stream in one message.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"CONNECT\naccept-version:1.2\nhost:h\n\n\x00",
		"SEND\ndestination:/a\ncontent-length:3\n\na\x00b\x00\n\nSEND\n\nx\x00",
		"SUBSCRIBE\r\nid:0\r\ndestination:/topic/a\\c\\n\r\n\r\n\x00\r\n",
		"\n\n\r\nACK\nid:1\n\n\x00",
		"SEND\ncontent-length:5\n\nab\x00",
		"SEND\nk:\\t\n\n\x00",
	} {
		f.Add(s, uint16(3), uint8(2))
	}
	f.Fuzz(func(t *testing.T, stream string, chunk uint16, ver uint8) {
		v := version(ver % 3)
		const max = 512
		whole, wholeErr, _ := decodeAll(v, max, stream)
		n := int(chunk%64) + 1
		var msgs []string
		for s := stream; s != ""; {
			k := min(n, len(s))
			msgs = append(msgs, s[:k])
			s = s[k:]
		}
		split, splitErr, _ := decodeAll(v, max, msgs...)
		for i := range min(len(whole), len(split)) {
			if !reflect.DeepEqual(whole[i], split[i]) {
				t.Fatalf("frame %d: whole %q, split %q", i, whole[i], split[i])
			}
		}
		if wholeErr == nil && (splitErr != nil || len(split) != len(whole)) {
			t.Fatalf("whole: %d frames; split: %d frames, error %v", len(whole), len(split), splitErr)
		}
		for _, f := range whole {
			if len(f.Body) > max {
				t.Fatalf("a %d-byte body passed the %d-byte limit", len(f.Body), max)
			}
		}
	})
}

// FuzzRoundTrip: what the encoder writes in STOMP 1.2 decodes to the same
// frame.
func FuzzRoundTrip(f *testing.F) {
	f.Add("MESSAGE", "destination", "/topic/a:b\\c\n\r", "body\x00with NUL")
	f.Add("SEND", "a:b", "", "")
	f.Fuzz(func(t *testing.T, cmd, name, value, body string) {
		if cmd == "" || strings.ContainsAny(cmd, "\r\n\x00") || name == "" ||
			strings.ContainsRune(name+value, 0) || name == "content-length" || len(cmd)+len(name)+len(value)+len(body) > 4096 {
			t.Skip()
		}
		in := Frame{Command: cmd, Headers: []Header{{name, value}, {"x", "y"}}, Body: body}
		if cmd == cmdConnect || cmd == cmdStomp || cmd == cmdConnected {
			t.Skip() // not escaped: LF and CR cannot be carried
		}
		enc := appendFrame(nil, v12, &in)
		out, err, pending := decodeAll(v12, DefaultMaxFrameSize, string(enc))
		if err != nil || pending || len(out) != 1 {
			t.Fatalf("decoding %q: %d frames, error %v, pending %v", enc, len(out), err, pending)
		}
		got := out[0]
		if body != "" {
			if got.Headers[len(got.Headers)-1].Name != "content-length" {
				t.Fatalf("no content-length last in %q", enc)
			}
			got.Headers = got.Headers[:len(got.Headers)-1]
		}
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("encoded %q, decoded %q, want %q", enc, got, in)
		}
	})
}

// FuzzEnvelope: what goes through an engine comes out as it went in: the
// body, and the headers that pass on, in order.
func FuzzEnvelope(f *testing.F) {
	f.Add("content-type", "text/plain", "x", "a:b\\c\n", "body")
	f.Add("destination", "/topic/a", "receipt", "1", "\x00body")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, body string) {
		if n1 == "" || n2 == "" || strings.ContainsRune(n1+v1+n2+v2, 0) {
			t.Skip()
		}
		in := []Header{{n1, v1}, {n2, v2}}
		lines, got := unwrap(wrap(in, body))
		if got != body {
			t.Fatalf("body %q, want %q", got, body)
		}
		var want []Header
		for _, h := range in {
			if passOn(h.Name) {
				want = append(want, h)
			}
		}
		var back []Header
		for lines != "" {
			line, rest, _ := strings.Cut(lines, "\n")
			lines = rest
			h, err := parseHeader(line, v12, true)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			back = append(back, h)
		}
		if !reflect.DeepEqual(back, want) {
			t.Fatalf("headers %q, want %q", back, want)
		}
	})
}
