package stomp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decodeAll feeds msgs to a fresh decoder and returns every frame, the
// first error, and whether bytes of an unfinished frame remain.
func decodeAll(v version, max int, msgs ...string) (frames []Frame, err error, pending bool) {
	d := &decoder{max: max, version: v}
	for _, m := range msgs {
		d.feed(m)
		for {
			f, ok, err := d.next()
			if err != nil {
				return frames, err, false
			}
			if !ok {
				break
			}
			frames = append(frames, f)
		}
	}
	return frames, nil, len(d.buf) > 0 || d.msg != ""
}

func hs(kv ...string) []Header {
	var h []Header
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, Header{kv[i], kv[i+1]})
	}
	return h
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		v       version
		in      string
		want    []Frame
		err     error // nil: no error
		pending bool
	}{
		{name: "connect", v: v12,
			in:   "CONNECT\naccept-version:1.2,1.1\nhost:example.com\nheart-beat:10000,10000\n\n\x00",
			want: []Frame{{Command: "CONNECT", Headers: hs("accept-version", "1.2,1.1", "host", "example.com", "heart-beat", "10000,10000")}}},
		{name: "crlf", v: v12,
			in:   "SEND\r\ndestination:/topic/a\r\n\r\nhi\x00",
			want: []Frame{{Command: "SEND", Headers: hs("destination", "/topic/a"), Body: "hi"}}},
		{name: "content-length with NUL in body", v: v12,
			in:   "SEND\ndestination:/q\ncontent-length:3\n\na\x00b\x00",
			want: []Frame{{Command: "SEND", Headers: hs("destination", "/q", "content-length", "3"), Body: "a\x00b"}}},
		{name: "content-length counts bytes", v: v12,
			in:   "SEND\ncontent-length:4\n\nhé!\x00",
			want: []Frame{{Command: "SEND", Headers: hs("content-length", "4"), Body: "hé!"}}},
		{name: "zero content-length", v: v12,
			in:   "SEND\ncontent-length:0\n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs("content-length", "0")}}},
		{name: "no headers", v: v12,
			in:   "DISCONNECT\n\n\x00",
			want: []Frame{{Command: "DISCONNECT"}}},
		{name: "several frames with heart-beats between", v: v12,
			in: "\n\r\nSEND\ndestination:/a\n\nx\x00\n\nSEND\ndestination:/b\n\ny\x00\r\n\n",
			want: []Frame{
				{Command: "SEND", Headers: hs("destination", "/a"), Body: "x"},
				{Command: "SEND", Headers: hs("destination", "/b"), Body: "y"},
			}},
		{name: "heart-beats only", v: v12, in: "\n\n\r\n"},
		{name: "repeated headers kept in order", v: v12,
			in:   "SEND\nfoo:1\nfoo:2\n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs("foo", "1", "foo", "2")}}},
		{name: "1.2 escapes", v: v12,
			in:   "SEND\na\\cb:x\\\\y\\nz\\r\\c\n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs("a:b", "x\\y\nz\r:")}}},
		{name: "1.1 escapes", v: v11,
			in:   "SEND\nk:a\\cb\\nc\\\\\n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs("k", "a:b\nc\\")}}},
		{name: "1.1 has no \\r", v: v11, in: "SEND\nk:a\\rb\n\n\x00", err: errEscape},
		{name: "1.0 has no escaping", v: v10,
			in:   "SEND\nk:a\\cb\\t\n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs("k", "a\\cb\\t")}}},
		{name: "CONNECT is never unescaped", v: v12,
			in:   "CONNECT\nlogin:a\\cb\\t\n\n\x00",
			want: []Frame{{Command: "CONNECT", Headers: hs("login", "a\\cb\\t")}}},
		{name: "STOMP is never unescaped", v: v12,
			in:   "STOMP\npasscode:\\\\\n\n\x00",
			want: []Frame{{Command: "STOMP", Headers: hs("passcode", "\\\\")}}},
		{name: "raw colon in a value", v: v12,
			in:   "SUBSCRIBE\ndestination:/topic/a:b\nid:0\n\n\x00",
			want: []Frame{{Command: "SUBSCRIBE", Headers: hs("destination", "/topic/a:b", "id", "0")}}},
		{name: "empty value", v: v12,
			in:   "SEND\nk:\n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs("k", "")}}},
		{name: "spaces are kept", v: v12,
			in:   "SEND\n k : v \n\n\x00",
			want: []Frame{{Command: "SEND", Headers: hs(" k ", " v ")}}},
		{name: "undefined escape", v: v12, in: "SEND\nk:\\t\n\n\x00", err: errEscape},
		{name: "escape at the end", v: v12, in: "SEND\nk:ab\\\n\n\x00", err: errEscape},
		{name: "header without colon", v: v12, in: "SEND\nnocolon\n\n\x00", err: errNoColon},
		{name: "empty header name", v: v12, in: "SEND\n:v\n\n\x00", err: errNoName},
		{name: "negative content-length", v: v12, in: "SEND\ncontent-length:-1\n\n\x00", err: errLength},
		{name: "content-length not a number", v: v12, in: "SEND\ncontent-length:abc\n\n\x00", err: errLength},
		{name: "empty content-length", v: v12, in: "SEND\ncontent-length:\n\n\x00", err: errLength},
		{name: "content-length too short", v: v12, in: "SEND\ncontent-length:1\n\nab\x00", err: errNotTerminated},
		{name: "NUL in the command line", v: v12, in: "SE\x00ND\n\n\x00", err: errNULInHeader},
		{name: "NUL before any EOL", v: v12, in: "hello\x00", err: errNULInHeader},
		{name: "NUL in a header", v: v12, in: "SEND\nk:v\x00\n\n\x00", err: errNULInHeader},
		{name: "first content-length wins", v: v12,
			in:   "SEND\ncontent-length:1\ncontent-length:5\n\na\x00",
			want: []Frame{{Command: "SEND", Headers: hs("content-length", "1", "content-length", "5"), Body: "a"}}},
		{name: "incomplete", v: v12, in: "SEND\ndestination:/a\n\nbody", pending: true},
		{name: "frame then incomplete", v: v12,
			in:      "SEND\n\na\x00SEND\n",
			want:    []Frame{{Command: "SEND", Body: "a"}},
			pending: true},
		{name: "body over the limit", v: v12, in: "SEND\n\n" + strings.Repeat("x", 100), err: errTooLarge},
		{name: "body without NUL under the limit", v: v12, in: "SEND\n\n" + strings.Repeat("x", 50), pending: true},
		{name: "whole frame over the limit", v: v12, in: "SEND\n\n" + strings.Repeat("x", 100) + "\x00", err: errTooLarge},
		{name: "content-length over the limit", v: v12, in: "SEND\ncontent-length:200\n\n", err: errTooLarge},
		{name: "headers over the limit", v: v12, in: "SEND\nk:" + strings.Repeat("x", 100), err: errTooLarge},
		{name: "frame at the limit", v: v12, in: "SEND\n\n" + strings.Repeat("x", 63) + "\x00",
			want: []Frame{{Command: "SEND", Body: strings.Repeat("x", 63)}}},
		{name: "frame one over the limit", v: v12, in: "SEND\n\n" + strings.Repeat("x", 64) + "\x00", err: errTooLarge},
		{name: "content-length frame at the limit", v: v12, in: "SEND\ncontent-length:45\n\n" + strings.Repeat("x", 45) + "\x00",
			want: []Frame{{Command: "SEND", Headers: hs("content-length", "45"), Body: strings.Repeat("x", 45)}}},
		{name: "content-length frame one over the limit", v: v12, in: "SEND\ncontent-length:46\n\n" + strings.Repeat("x", 46) + "\x00", err: errTooLarge},
		{name: "too many headers", v: v12, in: "SEND\n" + strings.Repeat("a:b\n", maxHeaders+1) + "\n\x00", err: errTooMany},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			max := DefaultMaxFrameSize
			if strings.Contains(tt.name, "limit") {
				max = 70
			}
			check := func(t *testing.T, msgs ...string) {
				t.Helper()
				got, err, pending := decodeAll(tt.v, max, msgs...)
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if tt.err != nil {
					return
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("frames\n%q\nwant\n%q", got, tt.want)
				}
				if pending != tt.pending {
					t.Fatalf("pending %v, want %v", pending, tt.pending)
				}
			}
			check(t, tt.in)
			// The same bytes split in two at every place, and one byte
			// per message, give the same frames.
			for i := 1; i < len(tt.in); i++ {
				check(t, tt.in[:i], tt.in[i:])
			}
			check(t, strings.Split(tt.in, "")...)
		})
	}
}

func TestFrameGet(t *testing.T) {
	f := Frame{Headers: hs("a", "1", "b", "", "a", "2")}
	if f.Get("a") != "1" {
		t.Errorf("Get(a) = %q, want the first value", f.Get("a"))
	}
	if v, ok := f.Lookup("b"); !ok || v != "" {
		t.Errorf("Lookup(b) = %q, %v", v, ok)
	}
	if _, ok := f.Lookup("c"); ok {
		t.Error("Lookup(c) found a header")
	}
}

func TestDecodeVersionChange(t *testing.T) {
	// The version applies from the frame after CONNECTED: one message may
	// hold CONNECT and the next frame.
	d := &decoder{max: DefaultMaxFrameSize}
	d.feed("CONNECT\nlogin:a\\c\n\n\x00SEND\nk:a\\c\n\n\x00")
	f, ok, err := d.next()
	if !ok || err != nil || f.Get("login") != `a\c` {
		t.Fatalf("first frame %+v %v %v", f, ok, err)
	}
	d.version = v12
	f, ok, err = d.next()
	if !ok || err != nil || f.Get("k") != "a:" {
		t.Fatalf("second frame %+v %v %v", f, ok, err)
	}
}

func TestDecodeDropsLargeBuffer(t *testing.T) {
	d := &decoder{max: DefaultMaxFrameSize}
	big := "SEND\n\n" + strings.Repeat("x", 2*keepBuf)
	d.feed(big)
	if _, ok, err := d.next(); ok || err != nil {
		t.Fatal(ok, err)
	}
	d.feed("\x00")
	if f, ok, err := d.next(); !ok || err != nil || len(f.Body) != 2*keepBuf {
		t.Fatal(ok, err, len(f.Body))
	}
	if d.buf != nil {
		t.Errorf("decoder keeps a %d-byte buffer after the frame", cap(d.buf))
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		v    version
		f    Frame
		want string
	}{
		{"no body", v12, Frame{Command: "RECEIPT", Headers: hs("receipt-id", "7")},
			"RECEIPT\nreceipt-id:7\n\n\x00"},
		{"body gets content-length in bytes", v12, Frame{Command: "MESSAGE", Headers: hs("destination", "/a"), Body: "hé"},
			"MESSAGE\ndestination:/a\ncontent-length:3\n\nhé\x00"},
		{"given content-length replaced", v12, Frame{Command: "MESSAGE", Headers: hs("content-length", "99"), Body: "x"},
			"MESSAGE\ncontent-length:1\n\nx\x00"},
		{"1.2 escapes", v12, Frame{Command: "MESSAGE", Headers: hs("a:b", "c\\d\ne\rf:")},
			"MESSAGE\na\\cb:c\\\\d\\ne\\rf\\c\n\n\x00"},
		{"1.1 has no \\r", v11, Frame{Command: "MESSAGE", Headers: hs("k", "a\rb\nc:")},
			"MESSAGE\nk:a b\\nc\\c\n\n\x00"},
		{"1.0 has no escaping", v10, Frame{Command: "MESSAGE", Headers: hs("a:b", "c\\d\ne:f")},
			"MESSAGE\na b:c\\d e:f\n\n\x00"},
		{"CONNECTED is not escaped", v12, Frame{Command: "CONNECTED", Headers: hs("server", "a:b\\c\nd")},
			"CONNECTED\nserver:a:b\\c d\n\n\x00"},
		{"NUL in a header", v12, Frame{Command: "ERROR", Headers: hs("message", "a\x00b")},
			"ERROR\nmessage:a b\n\n\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendFrame(nil, tt.v, &tt.f)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEncodeAllocs(t *testing.T) {
	f := Frame{Command: "MESSAGE", Headers: hs("destination", "/topic/a", "subscription", "sub-0", "k", "a:b\nc"), Body: "hello"}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = appendFrame(buf[:0], v12, &f) }); n != 0 {
		t.Errorf("appendFrame allocates %v times into a large enough buffer", n)
	}
}

func BenchmarkDecode(b *testing.B) {
	msg := "SEND\ndestination:/topic/chat\ncontent-type:application/json\ncontent-length:27\n\n{\"user\":\"ann\",\"text\":\"hi\"}\n\x00"
	d := &decoder{max: DefaultMaxFrameSize, version: v12}
	b.ReportAllocs()
	for b.Loop() {
		d.feed(msg)
		if _, ok, err := d.next(); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkMessage is the cost of one subscriber's MESSAGE frame in a
// fan-out: what each delivery of a topic message builds.
func BenchmarkMessage(b *testing.B) {
	c := &conn{version: v12, hb: newHeartbeat(0, 0, nil, nil)}
	sub := &subscription{c: c, id: "sub-0", idx: 3, dest: "/topic/chat", ack: ackAuto}
	data := wrap(hs("content-type", "application/json"), `{"user":"ann","text":"hello, world"}`)
	m := TopicMessage{Topic: "/topic/chat", Data: data, Offset: 12345, Epoch: "V6BUY7TPGM"}
	b.ReportAllocs()
	for b.Loop() {
		_ = sub.format(m)
	}
}
