package ws

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// ---- Client frames ----

// cfOpts are the ways clientFrame can be told to build a frame a
// well-behaved client would not send.
type cfOpts struct {
	rsv      byte    // RSV1..3 as they sit in the first byte: 0x40, 0x20, 0x10
	unmasked bool    // no mask bit, no key, payload as is
	lenBytes int     // 2 or 8: extended length form even when shorter would do
	length   *uint64 // declared length, when it is not len(payload)
}

type cfOpt func(*cfOpts)

func withRSV(bits byte) cfOpt { return func(o *cfOpts) { o.rsv = bits } }
func unmasked() cfOpt         { return func(o *cfOpts) { o.unmasked = true } }
func lenForm(n int) cfOpt     { return func(o *cfOpts) { o.lenBytes = n } }
func declared(n uint64) cfOpt { return func(o *cfOpts) { o.length = &n } }
func len64Declared(n uint64) cfOpt {
	return func(o *cfOpts) { o.lenBytes, o.length = 8, &n }
}

// clientFrame builds one frame as a client sends it (RFC 6455 §5.2):
// masked with key, the shortest length form, unless opts say otherwise.
func clientFrame(fin bool, op byte, payload []byte, key [4]byte, opts ...cfOpt) []byte {
	var o cfOpts
	for _, f := range opts {
		f(&o)
	}
	b0 := op&0x0f | o.rsv
	if fin {
		b0 |= 0x80
	}
	n := uint64(len(payload))
	if o.length != nil {
		n = *o.length
	}
	form := o.lenBytes
	if form == 0 {
		switch {
		case n > 0xFFFF:
			form = 8
		case n > 125:
			form = 2
		}
	}
	var mask byte = 0x80
	if o.unmasked {
		mask = 0
	}
	out := []byte{b0}
	switch form {
	case 0:
		out = append(out, mask|byte(n))
	case 2:
		out = binary.BigEndian.AppendUint16(append(out, mask|126), uint16(n))
	case 8:
		out = binary.BigEndian.AppendUint64(append(out, mask|127), n)
	default:
		panic("clientFrame: length form must be 2 or 8 bytes")
	}
	if o.unmasked {
		return append(out, payload...)
	}
	out = append(out, key[:]...)
	for i, c := range payload {
		out = append(out, c^key[i&3])
	}
	return out
}

var cfKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func cfText(s string, opts ...cfOpt) []byte {
	return clientFrame(true, opText, []byte(s), cfKey, opts...)
}

func cfBinary(p []byte, opts ...cfOpt) []byte { return clientFrame(true, opBinary, p, cfKey, opts...) }

func cfFrag(fin bool, op byte, s string) []byte {
	return clientFrame(fin, op, []byte(s), [4]byte{0x01, 0x80, 0x7f, 0xff})
}

func cfControl(op byte, s string, opts ...cfOpt) []byte {
	return clientFrame(true, op, []byte(s), [4]byte{0xde, 0xad, 0xbe, 0xef}, opts...)
}

func cfClose(code int, reason string) []byte {
	return cfControl(opClose, string(binary.BigEndian.AppendUint16(nil, uint16(code)))+reason)
}

func cat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// The helper against RFC 6455 §5.7's examples.
func TestRFC6455ClientFrame(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	for _, tc := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"masked Hello", clientFrame(true, opText, []byte("Hello"), key),
			[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"unmasked Hello", clientFrame(true, opText, []byte("Hello"), key, unmasked()),
			[]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"fragment Hel", clientFrame(false, opText, []byte("Hel"), key, unmasked()),
			[]byte{0x01, 0x03, 0x48, 0x65, 0x6c}},
		{"256 bytes", clientFrame(true, opBinary, make([]byte, 256), key, unmasked())[:4],
			[]byte{0x82, 0x7E, 0x01, 0x00}},
		{"64 KiB", clientFrame(true, opBinary, make([]byte, 65536), key, unmasked())[:10],
			[]byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"16-bit form, short", clientFrame(true, opText, nil, key, lenForm(2), withRSV(0x40)),
			[]byte{0xC1, 0xFE, 0, 0, 0x37, 0xfa, 0x21, 0x3d}},
		{"64-bit form, short", clientFrame(true, opPing, []byte{1}, [4]byte{1, 2, 3, 4}, lenForm(8)),
			[]byte{0x89, 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 0}},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, tc.got, tc.want)
		}
	}
}

// ---- The two reading modes ----

type rfcMode struct {
	name string
	raw  bool // frameReader reads the descriptor, with pooled buffers
	pair func(t testing.TB) (server, client net.Conn)
}

var rfcModes = []rfcMode{
	{"tcp", rawReadSupported, rfcTCPPair},
	{"pipe", false, rfcPipePair},
	{"passthrough", rawReadSupported, rfcPassthroughPair},
}

// rfcTCPPair connects two loopback TCP conns; the server's is a
// *net.TCPConn, so the reader reads it raw.
func rfcTCPPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		client.Close()
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// rfcPipePair: net.Pipe has no descriptor, so the reader uses its own buffer.
func rfcPipePair(t testing.TB) (server, client net.Conn) {
	server, client = net.Pipe()
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// passthroughConn is a wrapper as cmd/sockjsd's listener makes one: it
// hands on its connection's bytes unchanged, and says so.
type passthroughConn struct{ net.Conn }

func (c passthroughConn) PassthroughConn() net.Conn { return c.Conn }

// rfcPassthroughPair: the server's conn is a *net.TCPConn under two
// Passthrough wrappers, so the reader reads the descriptor under them.
func rfcPassthroughPair(t testing.TB) (server, client net.Conn) {
	server, client = rfcTCPPair(t)
	return passthroughConn{passthroughConn{server}}, client
}

// ---- The table ----

// rfcEnd is how a case's reading ends; the zero value is a network error
// (the client closes its end after sending everything).
type rfcEnd struct {
	code   int
	reason string // checked for a peer's close only
	bad    bool
}

func badEnd(code int) rfcEnd                   { return rfcEnd{code: code, bad: true} }
func peerClose(code int, reason string) rfcEnd { return rfcEnd{code: code, reason: reason} }

type rfcCase struct {
	name     string
	limit    int64 // 0: 1 MiB
	textOnly bool
	frames   [][]byte
	want     []string // messages before the end
	pings    []string
	pongs    int
	end      rfcEnd
}

func rfcCases() []rfcCase {
	big := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(i%26)
		}
		return string(b)
	}
	frames := func(f ...[]byte) [][]byte { return f }
	cases := []rfcCase{
		{name: "empty text", frames: frames(cfText("")), want: []string{""}},
		{name: "short text", frames: frames(cfText("hello")), want: []string{"hello"}},
		{name: "125 bytes", frames: frames(cfText(big(125))), want: []string{big(125)}},
		{name: "126 bytes 16-bit length", frames: frames(cfText(big(126))), want: []string{big(126)}},
		{name: "65535 bytes 16-bit length", frames: frames(cfText(big(65535))), want: []string{big(65535)}},
		{name: "65536 bytes 64-bit length", frames: frames(cfText(big(65536))), want: []string{big(65536)}},
		{name: "short in 16-bit form", frames: frames(cfText("abc", lenForm(2))), want: []string{"abc"}},
		{name: "short in 64-bit form", frames: frames(cfText("abc", lenForm(8))), want: []string{"abc"}},
		{name: "empty in 64-bit form", frames: frames(cfText("", lenForm(8))), want: []string{""}},
		{name: "512 bytes, the own buffer", frames: frames(cfText(big(512)), cfText(big(513))), want: []string{big(512), big(513)}},
		{name: "600 bytes, over the own buffer", frames: frames(cfText(big(600))), want: []string{big(600)}},
		{name: "4096 bytes, the pooled buffer", frames: frames(cfText(big(4096))), want: []string{big(4096)}},
		{name: "5000 bytes, over the pooled buffer", frames: frames(cfText(big(5000))), want: []string{big(5000)}},
		{name: "several messages around buffer sizes",
			frames: frames(cfText(big(500)), cfText(big(510)), cfText(big(4090)), cfText("x"), cfText(big(4100))),
			want:   []string{big(500), big(510), big(4090), "x", big(4100)}},
		{name: "binary", frames: frames(cfBinary([]byte{0, 1, 2, 0xfe, 0xff})), want: []string{"\x00\x01\x02\xfe\xff"}},
		{name: "binary, invalid UTF-8 accepted", frames: frames(cfBinary([]byte("\xed\xa0\x80\xc3"))), want: []string{"\xed\xa0\x80\xc3"}},
		{name: "empty binary", frames: frames(cfBinary(nil)), want: []string{""}},
		{name: "text with multibyte UTF-8", frames: frames(cfText("héllo, 世界 🌍")), want: []string{"héllo, 世界 🌍"}},
		{name: "fragmented with ping and pong between",
			frames: frames(
				cfFrag(false, opText, "Hel"),
				cfControl(opPing, "p1"),
				cfFrag(false, opContinuation, ""),
				cfControl(opPong, "x"),
				cfFrag(false, opContinuation, "lo "),
				cfControl(opPing, ""),
				cfFrag(true, opContinuation, "world"),
				cfText("after")),
			want: []string{"Hello world", "after"}, pings: []string{"p1", ""}, pongs: 1},
		{name: "fragmented, zero-length fragments only",
			frames: frames(cfFrag(false, opBinary, ""), cfFrag(false, opContinuation, ""), cfFrag(true, opContinuation, "")),
			want:   []string{""}},
		{name: "fragmented, zero-length final fragment",
			frames: frames(cfFrag(false, opText, "ab"), cfFrag(true, opContinuation, "")),
			want:   []string{"ab"}},
		{name: "fragmented binary",
			frames: frames(cfFrag(false, opBinary, "\xff"), cfFrag(true, opContinuation, "\xfe")),
			want:   []string{"\xff\xfe"}},
		{name: "fragmented, UTF-8 split between fragments",
			frames: frames(cfFrag(false, opText, "caf\xc3"), cfFrag(true, opContinuation, "\xa9")),
			want:   []string{"café"}},
		{name: "fragmented, large fragments",
			frames: frames(cfFrag(false, opText, big(3000)), cfControl(opPing, big(125)),
				cfFrag(false, opContinuation, big(3000)), cfFrag(true, opContinuation, "!")),
			want: []string{big(3000) + big(3000) + "!"}, pings: []string{big(125)}},
		{name: "ping, pong and messages",
			frames: frames(cfText("a"), cfBinary([]byte("b")), cfControl(opPing, "c"), cfControl(opPong, ""), cfText("d")),
			want:   []string{"a", "b", "d"}, pings: []string{"c"}, pongs: 1},
		{name: "ping of 125 bytes in 16-bit form",
			frames: frames(cfControl(opPing, big(125), lenForm(2)), cfText("m")),
			want:   []string{"m"}, pings: []string{big(125)}},
		{name: "control frames do not count toward the limit", limit: 4,
			frames: frames(cfControl(opPing, big(125)), cfFrag(false, opText, "ab"), cfControl(opPing, big(100)), cfFrag(true, opContinuation, "cd")),
			want:   []string{"abcd"}, pings: []string{big(125), big(100)}},

		// The message limit.
		{name: "at the limit", limit: 100, frames: frames(cfText(big(100))), want: []string{big(100)}},
		{name: "one over the limit", limit: 100, frames: frames(cfText("ok"), cfText(big(101))), want: []string{"ok"}, end: badEnd(1009)},
		{name: "at the limit across fragments", limit: 100,
			frames: frames(cfFrag(false, opText, big(60)), cfFrag(false, opContinuation, ""), cfFrag(true, opContinuation, big(40))),
			want:   []string{big(60) + big(40)}},
		{name: "one over the limit across fragments", limit: 100,
			frames: frames(cfFrag(false, opText, big(60)), cfFrag(true, opContinuation, big(41))),
			end:    badEnd(1009)},
		{name: "over the limit across three fragments", limit: 100,
			frames: frames(cfFrag(false, opBinary, big(50)), cfFrag(false, opContinuation, big(50)), cfFrag(true, opContinuation, "x")),
			end:    badEnd(1009)},
		{name: "at the limit, 600 bytes", limit: 600, frames: frames(cfText(big(600)), cfText(big(601))), want: []string{big(600)}, end: badEnd(1009)},
		{name: "at the limit, 5000 bytes", limit: 5000, frames: frames(cfText(big(5000)), cfText(big(5001))), want: []string{big(5000)}, end: badEnd(1009)},
		{name: "declared length over the limit, no payload", limit: 1 << 20,
			frames: frames(cfText("", len64Declared(1<<40))), end: badEnd(1009)},
		{name: "largest declared length", limit: 1 << 20,
			frames: frames(cfText("", len64Declared(1<<63-1))), end: badEnd(1009)},

		// Protocol errors.
		{name: "RSV1", frames: frames(cfText("a", withRSV(0x40))), end: badEnd(1002)},
		{name: "RSV2", frames: frames(cfText("a", withRSV(0x20))), end: badEnd(1002)},
		{name: "RSV3", frames: frames(cfText("a", withRSV(0x10))), end: badEnd(1002)},
		{name: "RSV on a ping", frames: frames(cfText("ok"), cfControl(opPing, "", withRSV(0x70))), want: []string{"ok"}, end: badEnd(1002)},
		{name: "unmasked text", frames: frames(cfText("hello", unmasked())), end: badEnd(1002)},
		{name: "unmasked ping", frames: frames(cfControl(opPing, "hello", unmasked())), end: badEnd(1002)},
		// Judged on the first two bytes, without waiting for a header whose
		// length assumes a mask.
		{name: "unmasked, first two bytes only", frames: frames(cfText("hello", unmasked())[:2]), end: badEnd(1002)},
		{name: "RSV, first two bytes only", frames: frames(cfText("hello", withRSV(0x40))[:2]), end: badEnd(1002)},
		{name: "ping not final", frames: frames(clientFrame(false, opPing, nil, cfKey)), end: badEnd(1002)},
		{name: "pong not final", frames: frames(clientFrame(false, opPong, []byte("x"), cfKey)), end: badEnd(1002)},
		{name: "close not final", frames: frames(clientFrame(false, opClose, []byte{3, 232}, cfKey)), end: badEnd(1002)},
		{name: "ping of 126 bytes", frames: frames(cfControl(opPing, big(126))), end: badEnd(1002)},
		{name: "close of 126 bytes", frames: frames(cfClose(1000, big(124))), end: badEnd(1002)},
		{name: "ping declaring 64 KiB", frames: frames(cfControl(opPing, "", len64Declared(65536))), end: badEnd(1002)},
		{name: "continuation without a message", frames: frames(cfFrag(true, opContinuation, "x")), end: badEnd(1002)},
		{name: "continuation after a whole message",
			frames: frames(cfText("a"), cfFrag(false, opContinuation, "x")), want: []string{"a"}, end: badEnd(1002)},
		{name: "continuation after a fragmented message",
			frames: frames(cfFrag(false, opText, "a"), cfFrag(true, opContinuation, "b"), cfFrag(true, opContinuation, "c")),
			want:   []string{"ab"}, end: badEnd(1002)},
		{name: "text inside a fragmented message",
			frames: frames(cfFrag(false, opText, "a"), cfText("b")), end: badEnd(1002)},
		{name: "binary inside a fragmented message",
			frames: frames(cfFrag(false, opText, "a"), cfControl(opPing, "p"), cfFrag(false, opBinary, "b")),
			pings:  []string{"p"}, end: badEnd(1002)},
		{name: "64-bit length with the top bit set",
			frames: frames(cfText("", len64Declared(1<<63))), end: badEnd(1002)},
		{name: "64-bit length all ones",
			frames: frames(cfBinary(nil, len64Declared(1<<64-1))), end: badEnd(1002)},
		{name: "close payload of one byte", frames: frames(cfControl(opClose, "\x03")), end: badEnd(1002)},

		// Invalid UTF-8.
		{name: "text, invalid byte", frames: frames(cfText("ok"), cfText("a\xffb")), want: []string{"ok"}, end: badEnd(1007)},
		{name: "text, truncated sequence", frames: frames(cfText("caf\xc3")), end: badEnd(1007)},
		{name: "text, surrogate", frames: frames(cfText("\xed\xa0\x80")), end: badEnd(1007)},
		{name: "text, overlong", frames: frames(cfText("\xc0\xaf")), end: badEnd(1007)},
		{name: "text, invalid in a large message", frames: frames(cfText(big(5000) + "\xff")), end: badEnd(1007)},
		{name: "fragmented text, invalid", frames: frames(cfFrag(false, opText, "\xff"), cfFrag(true, opContinuation, "ok")), end: badEnd(1007)},
		{name: "fragmented text, truncated at the end",
			frames: frames(cfFrag(false, opText, "ok"), cfFrag(true, opContinuation, "\xe4\xb8")), end: badEnd(1007)},
		{name: "close reason, invalid", frames: frames(cfClose(1000, "bye\xff")), end: badEnd(1007)},
		// Failed as soon as the invalid bytes arrive: the client sends
		// nothing more and keeps the connection open.
		{name: "fail fast, first fragment invalid", frames: frames(cfText("ok"), cfFrag(false, opText, "a\xffb")), want: []string{"ok"}, end: badEnd(1007)},
		{name: "fail fast, second fragment invalid",
			frames: frames(cfFrag(false, opText, "héllo"), cfFrag(false, opContinuation, "\xf4\x90\x80\x80")), end: badEnd(1007)},
		{name: "fail fast, start of a sequence completed wrongly",
			frames: frames(cfFrag(false, opText, "ab\xe4"), cfFrag(false, opContinuation, "A")), end: badEnd(1007)},
		{name: "fail fast, invalid start of a frame that is cut short",
			frames: frames(cfText("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80 and more")[:6+15]), end: badEnd(1007)},
		{name: "fail fast, large frame cut short",
			frames: frames(cfText(big(5000) + "\xc0\xaf" + big(3000))[:8+5010]), end: badEnd(1007)},
		{name: "incomplete sequence at a fragment's end, completed",
			frames: frames(cfFrag(false, opText, "\xf0\x9f"), cfFrag(false, opContinuation, "\x8c"), cfFrag(true, opContinuation, "\x8d!")),
			want:   []string{"🌍!"}},
		{name: "valid start of a frame cut short", frames: frames(cfText("ok"), cfText("héllo wörld")[:6+4]), want: []string{"ok"}},

		// Text only.
		{name: "text only: binary refused", textOnly: true, frames: frames(cfText("a"), cfBinary([]byte("b"))), want: []string{"a"}, end: badEnd(1003)},
		{name: "text only: binary refused at its first fragment", textOnly: true,
			frames: frames(cfFrag(false, opBinary, "b")), end: badEnd(1003)},
		{name: "text only: text accepted", textOnly: true, frames: frames(cfText("a"), cfFrag(false, opText, "b"), cfFrag(true, opContinuation, "c")),
			want: []string{"a", "bc"}},

		// The peer's close.
		{name: "close with code and reason", frames: frames(cfText("a"), cfClose(1000, "bye")), want: []string{"a"}, end: peerClose(1000, "bye")},
		{name: "close with code only", frames: frames(cfClose(1001, "")), end: peerClose(1001, "")},
		{name: "close with the longest reason", frames: frames(cfClose(4999, big(123))), end: peerClose(4999, big(123))},
		{name: "close with a UTF-8 reason", frames: frames(cfClose(3000, "au revoir, 世界")), end: peerClose(3000, "au revoir, 世界")},
		{name: "close without payload", frames: frames(cfText("a"), cfControl(opClose, "")), want: []string{"a"}, end: peerClose(1005, "")},
		{name: "close inside a fragmented message",
			frames: frames(cfFrag(false, opText, "a"), cfClose(1000, "x")), end: peerClose(1000, "x")},

		// Network ends.
		{name: "nothing sent"},
		{name: "header cut short", frames: frames(cfText("ok"), cfText("hello")[:1]), want: []string{"ok"}},
		{name: "key cut short", frames: frames(cfText("hello")[:4])},
		{name: "payload cut short", frames: frames(cfText("hello")[:8])},
		{name: "payload shorter than declared", frames: frames(cfText("ok"), cfText("abc", declared(10))), want: []string{"ok"}},
		{name: "control payload shorter than declared", frames: frames(cfControl(opPing, "abc", declared(125)))},
		{name: "large payload cut short", frames: frames(cfText(big(5000))[:3000])},
		{name: "fragmented message cut short", frames: frames(cfFrag(false, opText, "ab"), cfControl(opPing, "p")), pings: []string{"p"}},
	}
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cases = append(cases, rfcCase{name: fmt.Sprintf("close code %d", code), frames: frames(cfClose(code, "r")), end: peerClose(code, "r")})
	}
	for _, code := range []int{0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, rfcCase{name: fmt.Sprintf("close code %d", code), frames: frames(cfClose(code, "")), end: badEnd(1002)})
	}
	for op := byte(3); op <= 7; op++ {
		cases = append(cases, rfcCase{name: fmt.Sprintf("data opcode %#x", op), frames: frames(clientFrame(true, op, []byte("x"), cfKey)), end: badEnd(1002)})
	}
	for op := byte(0xB); op <= 0xF; op++ {
		cases = append(cases, rfcCase{name: fmt.Sprintf("control opcode %#x", op), frames: frames(clientFrame(true, op, nil, cfKey)), end: badEnd(1002)})
	}
	return cases
}

// rfcDeliveries split a case's bytes into the writes the client makes.
var rfcDeliveries = []struct {
	name  string
	split func(frames [][]byte) [][]byte
}{
	{"frame per write", func(f [][]byte) [][]byte { return f }},
	{"one write", func(f [][]byte) [][]byte { return [][]byte{bytes.Join(f, nil)} }},
	{"dribble", func(f [][]byte) [][]byte {
		all := bytes.Join(f, nil)
		n := 1 // a byte per write
		if len(all) > 8<<10 {
			n = 61
		}
		var out [][]byte
		for len(all) > 0 {
			k := min(n, len(all))
			out = append(out, all[:k])
			all = all[k:]
		}
		return out
	}},
}

type rfcResult struct {
	msgs  []string
	pings [][]byte // as OnPing was given them, not copied
	pongs int
	err   error
	reply []byte // what the server wrote back
}

// runRFC6455 makes the client's writes, closing the client's end after
// them when closeAfter, and reads messages on the server until an error.
func runRFC6455(t *testing.T, mode rfcMode, limit int64, textOnly bool, writes [][]byte, closeAfter bool) (*Conn, rfcResult) {
	t.Helper()
	server, client := mode.pair(t)
	deadline := time.Now().Add(5 * time.Second) // against hangs only
	_ = server.SetDeadline(deadline)
	_ = client.SetDeadline(deadline)

	c := newConn(NewGuard(server, IsClose, false), limit, time.Second)
	c.in.textOnly = textOnly
	if got := c.in.raw != nil; got != mode.raw {
		t.Fatalf("raw reading is %v, want %v", got, mode.raw)
	}
	var res rfcResult
	c.OnPing(func(p []byte) { res.pings = append(res.pings, p) })
	c.OnActivity(func() { res.pongs++ })

	replied := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		replied <- b
	}()
	written := make(chan struct{})
	go func() {
		defer close(written)
		for _, w := range writes {
			if _, err := client.Write(w); err != nil {
				return // the server stopped reading and closed
			}
		}
		if closeAfter {
			client.Close()
		}
	}()

	for {
		msg, err := c.ReadMessage()
		if err != nil {
			if msg != nil {
				t.Errorf("ReadMessage returned %d bytes with error %v", len(msg), err)
			}
			res.err = err
			break
		}
		res.msgs = append(res.msgs, string(msg))
	}
	if mode.raw && c.in.buf != nil {
		t.Errorf("the reader holds a pooled buffer after its error %v", res.err)
	}
	server.Close()
	// Sticky: the same error again, without touching the (now closed) conn.
	if msg, err := c.ReadMessage(); err != res.err || msg != nil {
		t.Errorf("second ReadMessage = %d bytes, %v; want the same error %v", len(msg), err, res.err)
	}
	<-written
	res.reply = <-replied
	client.Close()
	return c, res
}

func isNetworkEnd(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed)
}

func describeMsg(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%d bytes %q...", len(s), s[:40])
	}
	return fmt.Sprintf("%q", s)
}

func TestRFC6455ReadMessage(t *testing.T) {
	cases := rfcCases()
	for _, mode := range rfcModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					limit := tc.limit
					if limit == 0 {
						limit = 1 << 20
					}
					for _, d := range rfcDeliveries {
						t.Run(d.name, func(t *testing.T) {
							checkRFC6455Case(t, mode, tc, limit, d.split(tc.frames))
						})
					}
				})
			}
		})
	}
}

func checkRFC6455Case(t *testing.T, mode rfcMode, tc rfcCase, limit int64, writes [][]byte) {
	// A case that ends in a protocol error keeps the client's end open:
	// the reader must see the error in what arrived, not wait for more.
	_, res := runRFC6455(t, mode, limit, tc.textOnly, writes, tc.end.code == 0)

	if len(res.msgs) != len(tc.want) {
		t.Errorf("got %d messages, want %d", len(res.msgs), len(tc.want))
	}
	for i := range min(len(res.msgs), len(tc.want)) {
		if res.msgs[i] != tc.want[i] {
			t.Errorf("message %d: got %s, want %s", i, describeMsg(res.msgs[i]), describeMsg(tc.want[i]))
		}
	}
	// OnPing's payloads are its own: still intact after the reads that followed.
	var pings []string
	for _, p := range res.pings {
		pings = append(pings, string(p))
	}
	if strings.Join(pings, "|") != strings.Join(tc.pings, "|") || len(pings) != len(tc.pings) {
		t.Errorf("pings %q, want %q", pings, tc.pings)
	}
	if res.pongs != tc.pongs {
		t.Errorf("%d pongs, want %d", res.pongs, tc.pongs)
	}

	var end *CloseError
	switch {
	case tc.end.code == 0:
		if !isNetworkEnd(res.err) {
			t.Errorf("error %v (%T), want a network error", res.err, res.err)
		}
	case !errors.As(res.err, &end):
		t.Errorf("error %v (%T), want a *CloseError %+v", res.err, res.err, tc.end)
	case end.Protocol != tc.end.bad || end.Code != tc.end.code || !tc.end.bad && end.Reason != tc.end.reason:
		t.Errorf("got CloseError{Code: %d, Reason: %q, Protocol: %v}, want %+v", end.Code, end.Reason, end.Protocol, tc.end)
	}

	// A peer's close is answered with its code; nothing else is written.
	var wantReply []byte
	if tc.end.code != 0 && !tc.end.bad {
		wantReply = []byte{0x80 | opClose, 0}
		if tc.end.code != closecode.NoStatus {
			wantReply = []byte{0x80 | opClose, 2, byte(tc.end.code >> 8), byte(tc.end.code)}
		}
	}
	if !bytes.Equal(res.reply, wantReply) {
		t.Errorf("server wrote % x, want % x", res.reply, wantReply)
	}
}

// A message over the limit is refused before its payload is read, however
// its fragments' lengths add up. Here the last fragment declares a length
// that, added to what is already buffered, overflows int64.
func TestRFC6455FragmentLengthOverflow(t *testing.T) {
	const limit = 1000
	head := cat(cfFrag(false, opText, "a"),
		clientFrame(true, opContinuation, nil, cfKey, len64Declared(1<<63-1)))
	payload := bytes.Repeat([]byte{'x'}, 2000)
	for _, mode := range rfcModes {
		for _, tc := range []struct {
			name   string
			writes [][]byte
		}{
			{"payload with the header", [][]byte{append(bytes.Clone(head), payload...)}},
			{"payload after the header", [][]byte{head, payload}},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				server, client := mode.pair(t)
				deadline := time.Now().Add(5 * time.Second)
				_ = server.SetDeadline(deadline)
				_ = client.SetDeadline(deadline)
				c := newConn(server, limit, time.Second)
				go func() {
					for _, w := range tc.writes {
						if _, err := client.Write(w); err != nil {
							return
						}
					}
					client.Close()
				}()
				var err error
				var panicked any
				func() {
					defer func() { panicked = recover() }()
					for err == nil {
						_, err = c.ReadMessage()
					}
				}()
				var end *CloseError
				switch {
				case panicked != nil:
					t.Errorf("ReadMessage panicked: %v; want CloseError 1009", panicked)
				case !errors.As(err, &end) || !end.Protocol || end.Code != closecode.TooBig:
					t.Errorf("ReadMessage: %v, after putting together %d bytes of a message over the %d-byte limit; want CloseError 1009",
						err, len(c.in.msg), limit)
				}
			})
		}
	}
}

// A reader blocked on an idle connection, or in the middle of a frame or
// a fragmented message, is ended by a read deadline or by closing the
// conn (as the stream does from other goroutines), with a network error.
func TestRFC6455ReadInterrupted(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, mode := range rfcModes {
		for _, sent := range []struct {
			name string
			data []byte
		}{
			{"idle", nil},
			{"idle after a message", cfText("hi")},
			{"part of a header", cfText("hi")[:3]},
			{"part of a payload", cfText("hello")[:8]},
			{"part of a large payload", cfText(long)[:3000]},
			{"inside a fragmented message", cat(cfFrag(false, opText, "a"), cfControl(opPing, "p"))},
		} {
			for _, how := range []string{"deadline", "close"} {
				t.Run(mode.name+"/"+sent.name+"/"+how, func(t *testing.T) {
					server, client := mode.pair(t)
					_ = client.SetDeadline(time.Now().Add(5 * time.Second))
					c := newConn(NewGuard(server, IsClose, false), 1<<20, time.Second)
					ended := make(chan error, 1)
					go func() {
						for {
							if _, err := c.ReadMessage(); err != nil {
								ended <- err
								return
							}
						}
					}()
					if len(sent.data) > 0 {
						if _, err := client.Write(sent.data); err != nil {
							t.Fatal(err)
						}
					}
					switch how {
					case "deadline":
						_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
					case "close":
						_ = c.Close()
					}
					var err error
					select {
					case err = <-ended:
					case <-time.After(5 * time.Second):
						t.Fatal("ReadMessage still blocked")
					}
					var end *CloseError
					switch {
					case errors.As(err, &end):
						t.Fatalf("got %v (%+v), want a network error", err, *end)
					case how == "deadline" && !errors.Is(err, os.ErrDeadlineExceeded):
						t.Fatalf("got %v, want a deadline error", err)
					case how == "close" && !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe):
						t.Fatalf("got %v, want the closed conn's error", err)
					}
					if mode.raw && c.in.buf != nil {
						t.Error("the reader holds a pooled buffer after its error")
					}
					if again, _ := c.ReadMessage(); again != nil {
						t.Error("a message after the error")
					}
				})
			}
		}
	}
}

// ---- Raw reading holds no buffer while it waits ----

// The reader's wait for bytes is observed from inside: readRaw, the
// function the raw connection calls, is wrapped so that each time it
// reports nothing to read (the reader is about to wait) the reader's
// goroutine itself notes what it holds. No field is read from another
// goroutine.
func TestRFC6455RawReadHoldsNoBufferWhileWaiting(t *testing.T) {
	server, client := rfcTCPPair(t)
	deadline := time.Now().Add(5 * time.Second)
	_ = server.SetDeadline(deadline)
	_ = client.SetDeadline(deadline)
	c := newConn(server, 1<<20, time.Second)
	if c.in.raw == nil {
		t.Skip("no raw reads on this platform")
	}

	type wait struct {
		returned int  // messages ReadMessage had returned
		held     bool // the reader holds a read buffer
		unparsed int  // bytes in it not parsed yet
		partial  int  // bytes of a message put together so far
	}
	waits := make(chan wait, 4096)
	returned := 0 // the reader goroutine's
	fill := c.in.readRaw
	c.in.readRaw = func(fd uintptr) bool {
		if fill(fd) {
			return true
		}
		select {
		case waits <- wait{returned, c.in.buf != nil, c.in.w - c.in.r, len(c.in.msg)}:
		default:
			panic("too many waits")
		}
		return false
	}

	type result struct {
		msg string
		err error
	}
	results := make(chan result, 16)
	go func() {
		defer close(results)
		for {
			m, err := c.ReadMessage()
			if err != nil {
				results <- result{err: err}
				return
			}
			returned++
			results <- result{msg: string(m)}
		}
	}()

	// waitFor returns the first wait for which ok holds, checking on the
	// way that the reader never waits holding a buffer with nothing in it.
	waitFor := func(what string, ok func(wait) bool) wait {
		t.Helper()
		timeout := time.After(5 * time.Second)
		for {
			select {
			case w := <-waits:
				if w.held != (w.unparsed > 0) {
					t.Fatalf("the reader waits with held=%v and %d bytes unparsed", w.held, w.unparsed)
				}
				if ok(w) {
					return w
				}
			case <-timeout:
				t.Fatalf("the reader never waited %s", what)
			}
		}
	}
	write := func(p []byte) {
		t.Helper()
		if _, err := client.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	mustRead := func(want string) {
		t.Helper()
		r := <-results
		if r.err != nil || r.msg != want {
			t.Fatalf("ReadMessage = %s, %v; want %s", describeMsg(r.msg), r.err, describeMsg(want))
		}
	}

	if w := waitFor("before the first message", func(w wait) bool { return w.returned == 0 }); w.held {
		t.Fatalf("waiting for the first message holding a buffer: %+v", w)
	}
	write(cfText("first"))
	mustRead("first")
	if w := waitFor("after a message", func(w wait) bool { return w.returned == 1 }); w.held {
		t.Fatalf("idle after a message, holding a buffer: %+v", w)
	}

	// Part of a payload arrived: kept.
	f := cfText("0123456789")
	write(f[:6+3])
	waitFor("with 3 payload bytes", func(w wait) bool { return w.returned == 1 && w.unparsed == 3 })
	write(f[6+3:])
	mustRead("0123456789")
	waitFor("after the second message", func(w wait) bool { return w.returned == 2 })

	// Part of a header arrived: kept.
	f = cfText("abc", lenForm(8))
	write(f[:5])
	waitFor("with 5 header bytes", func(w wait) bool { return w.returned == 2 && w.unparsed == 5 })
	write(f[5:])
	mustRead("abc")
	waitFor("after the third message", func(w wait) bool { return w.returned == 3 })

	// Half of a message too big for the buffer arrived: it is all in the
	// message being put together, and the read buffer is given back.
	large := strings.Repeat("0123456789", 1000)
	f = cfText(large)
	headLen := len(f) - len(large)
	write(f[:headLen+5000])
	if w := waitFor("half way through a large message", func(w wait) bool { return w.returned == 3 && w.partial == 5000 }); w.held {
		t.Fatalf("waiting for the rest of a large message holding a buffer: %+v", w)
	}
	write(f[headLen+5000:])
	mustRead(large)
	waitFor("after the large message", func(w wait) bool { return w.returned == 4 })

	client.Close()
	r := <-results
	if !isNetworkEnd(r.err) {
		t.Fatalf("after the client closed: %q, %v", r.msg, r.err)
	}
	<-results // closed: the reader goroutine is done
	if c.in.buf != nil {
		t.Fatal("the reader holds a buffer after its end")
	}
}

// ---- maskBytes ----

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0xa1, 0x5b, 0x3c, 0xd7}
	for pos := range 4 {
		for n := 0; n <= 40; n++ {
			for align := range 8 { // where b starts in its array
				buf := make([]byte, align+n+8)
				for i := range buf {
					buf[i] = byte(i*37 + 11)
				}
				want := bytes.Clone(buf)
				for i := range n {
					want[align+i] ^= key[(pos+i)&3]
				}
				maskBytes(key, pos, buf[align:align+n])
				if !bytes.Equal(buf, want) {
					t.Fatalf("maskBytes(pos %d, %d bytes at %d):\n got % x\nwant % x", pos, n, align, buf, want)
				}
			}
		}
	}
}

// ---- Fuzzing against a reference parser ----

// refEvent is what the reader reports, in order: a message, a ping's
// payload, a pong.
type refEvent struct {
	kind    byte // 'm', 'p', 'o'
	payload string
}

// refOutcome is how reading ends: "net" (the input ran out), "bad" or
// "close", with the code and, for a close, the reason.
type refOutcome struct {
	kind   string
	code   int
	reason string
}

// refParse is a plain reading of RFC 6455 §5 for a server, the way the
// reader is to behave: reserved bits and the mask bit are judged on a
// frame's first two bytes, the rest of its header once it is all there,
// up to and including the masking key (input ending before that is a
// network end); a message is refused for its size as soon as a frame
// header takes it past limit; text is checked for UTF-8 as it arrives, so
// that a message fails as soon as what arrived of it cannot begin valid
// UTF-8, and must be valid once whole.
func refParse(in []byte, limit int64) ([]refEvent, refOutcome) {
	var events []refEvent
	take := func(n uint64) ([]byte, bool) {
		if uint64(len(in)) < n {
			return nil, false
		}
		b := in[:n]
		in = in[n:]
		return b, true
	}
	bad := func(code int) ([]refEvent, refOutcome) { return events, refOutcome{kind: "bad", code: code} }
	netEnd := refOutcome{kind: "net"}
	var msg []byte
	var msgOp byte // 0: no message under way
	for {
		h, ok := take(2)
		if !ok {
			return events, netEnd
		}
		fin, rsv, op, masked := h[0]&0x80 != 0, h[0]&0x70, h[0]&0x0f, h[1]&0x80 != 0
		if rsv != 0 || !masked {
			return bad(1002)
		}
		length := uint64(h[1] & 0x7f)
		if length >= 126 {
			ext, ok := take(map[uint64]uint64{126: 2, 127: 8}[length])
			if !ok {
				return events, netEnd
			}
			length = 0
			for _, x := range ext {
				length = length<<8 | uint64(x)
			}
		}
		key, ok := take(4)
		if !ok {
			return events, netEnd
		}
		if length>>63 != 0 {
			return bad(1002)
		}
		payload := func() ([]byte, bool) {
			b, ok := take(length)
			if !ok {
				b, in = in, nil // what arrived of it
			}
			out := make([]byte, len(b))
			for i := range b {
				out[i] = b[i] ^ key[i%4]
			}
			return out, ok
		}
		if op >= 8 {
			if op > 0xA || !fin || length > 125 {
				return bad(1002)
			}
			p, ok := payload()
			if !ok {
				return events, netEnd
			}
			switch op {
			case opPing:
				events = append(events, refEvent{'p', string(p)})
			case opPong:
				events = append(events, refEvent{'o', ""})
			case opClose:
				switch {
				case len(p) == 0:
					return events, refOutcome{kind: "close", code: 1005}
				case len(p) == 1:
					return bad(1002)
				}
				code := int(p[0])<<8 | int(p[1])
				if !(1000 <= code && code <= 1003 || 1007 <= code && code <= 1014 || 3000 <= code && code <= 4999) {
					return bad(1002)
				}
				if !utf8.Valid(p[2:]) {
					return bad(1007)
				}
				return events, refOutcome{kind: "close", code: code, reason: string(p[2:])}
			}
			continue
		}
		switch {
		case op > opBinary:
			return bad(1002)
		case op == opContinuation && msgOp == 0, op != opContinuation && msgOp != 0:
			return bad(1002)
		case length > uint64(limit)-uint64(len(msg)):
			return bad(1009)
		}
		if op != opContinuation {
			msgOp, msg = op, []byte{}
		}
		p, ok := payload()
		msg = append(msg, p...)
		if msgOp == opText && !refValidPrefix(msg) {
			return bad(1007)
		}
		if !ok {
			return events, netEnd
		}
		if fin {
			if msgOp == opText && !utf8.Valid(msg) {
				return bad(1007)
			}
			events = append(events, refEvent{'m', string(msg)})
			msg, msgOp = nil, 0
		}
	}
}

// refValidPrefix reports whether b is valid UTF-8 or could become valid
// with more bytes after it.
func refValidPrefix(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return !utf8.FullRune(b) // only an incomplete sequence at the very end
		}
		b = b[n:]
	}
	return true
}

func rfcFuzzSeeds() [][]byte {
	return [][]byte{
		nil,
		cfText("hello"),
		cat(cfText(""), cfBinary([]byte{0xff, 0}), cfText("abc", lenForm(2)), cfText("xyz", lenForm(8))),
		cat(cfFrag(false, opText, "He"), cfControl(opPing, "p"), cfFrag(false, opContinuation, ""),
			cfControl(opPong, "q"), cfFrag(true, opContinuation, "llo"), cfClose(1000, "bye")),
		cat(cfText(strings.Repeat("x", 600)), cfControl(opClose, "")),
		cat(cfText("a"), cfText(strings.Repeat("y", 1001))),
		cat(cfFrag(false, opBinary, strings.Repeat("z", 999)), cfFrag(true, opContinuation, "zz")),
		cfText("a\xffb"),
		cat(cfFrag(false, opText, "ok\xe4\xb8"), cfFrag(true, opContinuation, "\xadx")),
		cat(cfFrag(false, opText, "\xed\xa0"), cfFrag(true, opContinuation, "\x80")),
		cfText("abc\xf4\x90\x80\x80 and more")[:12],
		cfClose(1000, "\xff"),
		cfClose(1005, ""),
		cfControl(opClose, "\x03"),
		cfText("a", withRSV(0x40)),
		cfText("a", unmasked()),
		cfText("", len64Declared(1<<63)),
		cat(cfFrag(false, opText, "a"), clientFrame(true, opContinuation, []byte("b"), cfKey, len64Declared(1<<62))),
		cat(cfFrag(false, opText, "a"), clientFrame(true, opContinuation, []byte("b"), cfKey, len64Declared(1<<63-1))),
		cfFrag(true, opContinuation, "x"),
		cat(cfFrag(false, opText, "a"), cfText("b")),
		clientFrame(false, opPing, nil, cfKey),
		clientFrame(true, 0xB, nil, cfKey),
		cfControl(opPing, strings.Repeat("p", 126)),
		cfText("hello")[:7],
	}
}

func FuzzFrameReader(f *testing.F) {
	for i, s := range rfcFuzzSeeds() {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1+i%7))
	}
	const limit = 1000
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		server, client := net.Pipe()
		defer client.Close()
		c := newConn(server, limit, time.Second)
		var events []refEvent
		c.OnPing(func(p []byte) { events = append(events, refEvent{'p', string(p)}) })
		c.OnActivity(func() { events = append(events, refEvent{'o', ""}) })

		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // whatever the server writes (its answer to a close)
			defer wg.Done()
			_, _ = io.Copy(io.Discard, client)
		}()
		go func() {
			defer wg.Done()
			defer client.Close()
			n := int(chunk)
			if n == 0 {
				n = len(data)
			}
			for p := data; len(p) > 0; {
				k := min(n, len(p))
				if _, err := client.Write(p[:k]); err != nil {
					return
				}
				p = p[k:]
			}
		}()

		var err error
		for {
			var msg []byte
			msg, err = c.ReadMessage()
			if err != nil {
				break
			}
			if len(msg) > limit {
				t.Fatalf("a message of %d bytes, over the %d-byte limit", len(msg), limit)
			}
			events = append(events, refEvent{'m', string(msg)})
		}
		server.Close()
		wg.Wait()

		var got refOutcome
		var end *CloseError
		switch {
		case errors.As(err, &end) && end.Protocol:
			if end.Code != 1002 && end.Code != 1007 && end.Code != 1009 {
				t.Fatalf("protocol error with code %d", end.Code)
			}
			got = refOutcome{kind: "bad", code: end.Code}
		case errors.As(err, &end):
			if end.Code != closecode.NoStatus && !validReceivedCloseCode(end.Code) {
				t.Fatalf("peer's close with code %d", end.Code)
			}
			got = refOutcome{kind: "close", code: end.Code, reason: end.Reason}
		case isNetworkEnd(err):
			got = refOutcome{kind: "net"}
		default:
			t.Fatalf("unexpected error %v (%T)", err, err)
		}

		wantEvents, want := refParse(data, limit)
		if got != want {
			t.Errorf("reading ended with %+v (%v), want %+v", got, err, want)
		}
		if len(events) != len(wantEvents) {
			t.Errorf("%d messages, pings and pongs, want %d:\n got %q\nwant %q", len(events), len(wantEvents), events, wantEvents)
			return
		}
		for i := range events {
			if events[i] != wantEvents[i] {
				t.Errorf("event %d: %c %s, want %c %s", i, events[i].kind, describeMsg(events[i].payload),
					wantEvents[i].kind, describeMsg(wantEvents[i].payload))
			}
		}
	})
}

// ---- Benchmark ----

// loopConn serves data over and over, as a client that never stops
// sending; it has no descriptor, so the reader uses its own buffer.
type loopConn struct {
	net.Conn // nil: only Read is used
	data     []byte
	pos      int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.pos:])
	c.pos = (c.pos + n) % len(c.data)
	return n, nil
}

func BenchmarkFrameReader(b *testing.B) {
	msg := strings.Repeat("0123456789abcdef", 4) // 64 bytes
	frame := cfText(msg)

	b.Run("own buffer", func(b *testing.B) {
		// Frames straddle the 512-byte buffer's refills.
		c := newConn(&loopConn{data: bytes.Repeat(frame, 9)}, 1<<20, time.Second)
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			m, err := c.ReadMessage()
			if err != nil || len(m) != len(msg) {
				b.Fatalf("%d bytes, %v", len(m), err)
			}
		}
	})

	b.Run("raw tcp", func(b *testing.B) {
		server, client := rfcTCPPair(b)
		c := newConn(server, 1<<20, time.Second)
		const batch = 64
		frames := bytes.Repeat(frame, batch)
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := client.Write(frames); err != nil {
					return
				}
			}
		}()
		b.SetBytes(int64(len(msg)))
		b.ReportAllocs()
		for b.Loop() {
			m, err := c.ReadMessage()
			if err != nil || len(m) != len(msg) {
				b.Fatalf("%d bytes, %v", len(m), err)
			}
		}
		b.StopTimer()
		close(stop)
		server.Close()
		<-done
	})
}

// wrappedTCPConn is a connection type of someone else's (a PROXY protocol
// reader, a byte counter) that embeds a *net.TCPConn and so also has
// SyscallConn.
type wrappedTCPConn struct{ *net.TCPConn }

// Only the net package's own connections are read through their
// descriptor: a wrapper's Read must not be bypassed.
func TestRFC6455RawOnlyForNetConns(t *testing.T) {
	server, _ := rfcTCPPair(t)
	if c := newConn(server, 1<<20, time.Second); c.in.raw == nil {
		t.Fatal("*net.TCPConn: not read raw")
	}
	if c := newConn(NewGuard(server, IsClose, false), 1<<20, time.Second); c.in.raw == nil {
		t.Fatal("Guard over *net.TCPConn: not read raw")
	}
	if c := newConn(wrappedTCPConn{server.(*net.TCPConn)}, 1<<20, time.Second); c.in.raw != nil {
		t.Fatal("a wrapper embedding *net.TCPConn is read raw, bypassing its Read")
	}
	if c := newConn(NewGuard(passthroughConn{server}, IsClose, false), 1<<20, time.Second); c.in.raw == nil {
		t.Fatal("Guard over a Passthrough over *net.TCPConn: not read raw")
	}
	if c := newConn(passthroughConn{wrappedTCPConn{server.(*net.TCPConn)}}, 1<<20, time.Second); c.in.raw != nil {
		t.Fatal("a Passthrough over a wrapper of *net.TCPConn is read raw, bypassing the wrapper's Read")
	}
	// TLS has NetConn, the TCP connection under it: reading that would
	// read records. Only Passthrough unwraps.
	if c := newConn(NewGuard(tls.Server(server, &tls.Config{}), IsClose, false), 1<<20, time.Second); c.in.raw != nil {
		t.Fatal("a TLS connection is read raw")
	}
	var cycle cyclicConn
	cycle.self = &cycle
	if c := newConn(&cycle, 1<<20, time.Second); c.in.raw != nil {
		t.Fatal("a Passthrough cycle is read raw")
	}
}

// cyclicConn is a Passthrough of itself: unwrapping it must stop.
type cyclicConn struct {
	net.Conn
	self *cyclicConn
}

func (c *cyclicConn) PassthroughConn() net.Conn { return c.self }

// A client that announces a large fragment and sends a byte of it makes
// the reader hold what arrived, not what was announced.
func TestRFC6455AnnouncedLengthNotAllocated(t *testing.T) {
	server, client := rfcTCPPair(t)
	c := newConn(server, 1<<20, time.Second)
	if c.in.raw == nil {
		t.Skip("no raw reads on this platform")
	}
	// Each time the reader is about to wait, its own goroutine notes how
	// much it holds for the message under way.
	held := make(chan int, 64)
	fill := c.in.readRaw
	c.in.readRaw = func(fd uintptr) bool {
		if fill(fd) {
			return true
		}
		select {
		case held <- cap(c.in.msg):
		default:
		}
		return false
	}
	head := clientFrame(false, opText, make([]byte, 1<<20), cfKey)
	if _, err := client.Write(head[:len(head)-(1<<20)+1]); err != nil { // the header and one byte
		t.Fatal(err)
	}
	_ = server.SetReadDeadline(time.Now().Add(time.Second))
	done := make(chan error, 1)
	go func() { _, err := c.ReadMessage(); done <- err }()
	for {
		select {
		case n := <-held:
			if n > 512 {
				t.Fatalf("waiting for a 1 MiB fragment of which 1 byte arrived, the reader holds %d bytes for it", n)
			}
			if n > 0 { // the byte arrived and the reader waits for more: seen enough
				_ = server.Close()
				<-done
				if c.in.msg != nil {
					t.Fatalf("partial message of cap %d kept after reading ended", cap(c.in.msg))
				}
				return
			}
		case err := <-done:
			t.Fatalf("ReadMessage ended (%v) before waiting for the rest of the fragment", err)
		}
	}
}
