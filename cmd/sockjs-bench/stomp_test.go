package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

func TestStompEscape(t *testing.T) {
	tests := []struct {
		v, in, want string
	}{
		{"1.2", "a:b\nc\\d\re", `a\cb\nc\\d\re`},
		{"1.1", "a:b\nc\\d", `a\cb\nc\\d`},
		{"1.1", "a\rb", "a\rb"}, // 1.1 has no \r escape
		{"1.0", "a:b", "a:b"},   // 1.0 escapes nothing
		{"1.2", "/topic/plain", "/topic/plain"},
	}
	for _, tt := range tests {
		got := stompEscape(tt.in, tt.v)
		if got != tt.want {
			t.Errorf("stompEscape(%q, %s) = %q, want %q", tt.in, tt.v, got, tt.want)
		}
		if tt.v == "1.0" {
			continue
		}
		if back, ok := stompUnescape(got, tt.v); !ok || back != tt.in {
			t.Errorf("stompUnescape(%q, %s) = %q, %v; want %q", got, tt.v, back, ok, tt.in)
		}
	}
	for _, bad := range []struct{ v, in string }{{"1.2", `a\t`}, {"1.2", `a\`}, {"1.1", `a\r`}, {"1.2", `\x`}} {
		if got, ok := stompUnescape(bad.in, bad.v); ok {
			t.Errorf("stompUnescape(%q, %s) = %q, want an error", bad.in, bad.v, got)
		}
	}
}

func TestAppendStompFrame(t *testing.T) {
	tests := []struct {
		v, cmd  string
		headers []stompHeader
		body    string
		want    string
	}{
		// CONNECT is never escaped.
		{"1.2", "CONNECT", []stompHeader{{"accept-version", "1.2"}, {"host", "a:b"}, {"heart-beat", "0,0"}}, "",
			"CONNECT\naccept-version:1.2\nhost:a:b\nheart-beat:0,0\n\n\x00"},
		{"1.2", "SUBSCRIBE", []stompHeader{{"id", "0"}, {"destination", "/topic/a:b"}}, "",
			"SUBSCRIBE\nid:0\ndestination:/topic/a\\cb\n\n\x00"},
		{"1.0", "SUBSCRIBE", []stompHeader{{"destination", "/topic/a:b"}}, "",
			"SUBSCRIBE\ndestination:/topic/a:b\n\n\x00"},
		// content-length counts bytes of UTF-8.
		{"1.2", "SEND", []stompHeader{{"destination", "/app/echo"}}, "héllo",
			"SEND\ndestination:/app/echo\ncontent-length:6\n\nhéllo\x00"},
	}
	for _, tt := range tests {
		got := string(appendStompFrame(nil, tt.v, tt.cmd, tt.headers, tt.body))
		if got != tt.want {
			t.Errorf("appendStompFrame(%s %s) = %q, want %q", tt.v, tt.cmd, got, tt.want)
		}
	}
}

// decodeAll feeds msgs one at a time and returns every frame, rendered
// as "COMMAND name=value ... |body".
func decodeAll(d *stompDecoder, msgs ...string) ([]string, error) {
	var out []string
	for _, m := range msgs {
		d.feed(m)
		for {
			f, ok, err := d.next()
			if err != nil {
				return out, err
			}
			if !ok {
				break
			}
			s := f.Command
			for _, h := range f.Headers {
				s += " " + h.Name + "=" + h.Value
			}
			out = append(out, s+" |"+f.Body)
		}
	}
	return out, nil
}

func TestStompDecoder(t *testing.T) {
	msg := "MESSAGE\ndestination:/topic/a\nmessage-id:1-1\nsubscription:0\ncontent-length:5\n\nhello\x00"
	msgOut := "MESSAGE destination=/topic/a message-id=1-1 subscription=0 content-length=5 |hello"
	tests := []struct {
		name    string
		version string
		msgs    []string
		want    []string
		err     string
	}{
		{name: "one", version: "1.2", msgs: []string{msg}, want: []string{msgOut}},
		{name: "several in one message, heart-beats between", version: "1.2",
			msgs: []string{"\n" + msg + "\n\r\n" + msg + msg + "\n"}, want: []string{msgOut, msgOut, msgOut}},
		{name: "split everywhere", version: "1.2",
			msgs: []string{msg[:3], msg[3:20], msg[20 : len(msg)-3], msg[len(msg)-3 : len(msg)-1], msg[len(msg)-1:]}, want: []string{msgOut}},
		{name: "split one byte at a time", version: "1.2", msgs: strings.Split(msg+msg, ""), want: []string{msgOut, msgOut}},
		{name: "no content-length: body to the NUL", version: "1.2",
			msgs: []string{"MESSAGE\na:1\n\nab", "c\x00"}, want: []string{"MESSAGE a=1 |abc"}},
		{name: "content-length: NUL inside the body", version: "1.2",
			msgs: []string{"MESSAGE\ncontent-length:3\n\na\x00b\x00"}, want: []string{"MESSAGE content-length=3 |a\x00b"}},
		{name: "CRLF lines", version: "1.2",
			msgs: []string{"MESSAGE\r\na:1\r\n\r\nx\x00"}, want: []string{"MESSAGE a=1 |x"}},
		{name: "escaped values in 1.2", version: "1.2",
			msgs: []string{"MESSAGE\ndestination:/topic/a\\cb\\n\\\\\n\n\x00"}, want: []string{"MESSAGE destination=/topic/a:b\n\\ |"}},
		{name: "CONNECTED is not unescaped", version: "1.2",
			msgs: []string{"CONNECTED\nserver:a\\cb\n\n\x00"}, want: []string{"CONNECTED server=a\\cb |"}},
		{name: "1.0 unescapes nothing", version: "1.0",
			msgs: []string{"MESSAGE\ndestination:/topic/a\\cb:c\n\n\x00"}, want: []string{"MESSAGE destination=/topic/a\\cb:c |"}},
		{name: "repeated content-length: the first counts", version: "1.2",
			msgs: []string{"MESSAGE\ncontent-length:2\ncontent-length:5\n\nab\x00"}, want: []string{"MESSAGE content-length=2 content-length=5 |ab"}},
		{name: "bad escape", version: "1.2", msgs: []string{"MESSAGE\na:\\t\n\n\x00"}, err: "bad escape"},
		{name: "bad header", version: "1.2", msgs: []string{"MESSAGE\nnocolon\n\n\x00"}, err: "bad header"},
		{name: "bad command", version: "1.2", msgs: []string{"message\n\n\x00"}, err: "bad command"},
		{name: "bad content-length", version: "1.2", msgs: []string{"MESSAGE\ncontent-length:-1\n\n\x00"}, err: "bad content-length"},
		{name: "no NUL after content-length", version: "1.2", msgs: []string{"MESSAGE\ncontent-length:1\n\nab\x00"}, err: "not followed by NUL"},
		{name: "too long unfinished", version: "1.2", msgs: []string{"MESSAGE\n\n" + strings.Repeat("x", 200)}, err: "over 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &stompDecoder{version: tt.version, max: 100}
			got, err := decodeAll(d, tt.msgs...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || classify(err).Kind != KindFrame {
					t.Fatalf("frames %q, error %v; want a %s error with %q", got, err, KindFrame, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("frames %q, error %v; want %q", got, err, tt.want)
			}
			if d.pending != "" {
				t.Fatalf("left %q undecoded", d.pending)
			}
		})
	}
}

// scriptConn is a sockjsclient.Conn that returns scripted frames and
// records what is sent.
type scriptConn struct {
	frames []sockjsclient.Frame
	sent   []string
	closed bool
}

func (c *scriptConn) Send(msgs []string, _ time.Time) error {
	c.sent = append(c.sent, msgs...)
	return nil
}

func (c *scriptConn) Recv(time.Time) (sockjsclient.Frame, error) {
	if len(c.frames) == 0 {
		return sockjsclient.Frame{}, protoErr(KindTimeout, "script ended")
	}
	f := c.frames[0]
	c.frames = c.frames[1:]
	return f, nil
}

func (c *scriptConn) Close(sockjsclient.CloseMode) error { c.closed = true; return nil }

func arr(msgs ...string) sockjsclient.Frame {
	return sockjsclient.Frame{Type: sockjsclient.FrameArray, Messages: msgs}
}

const (
	connected12 = "CONNECTED\nversion:1.2\nheart-beat:10000,10000\nserver:x\n\n\x00"
	receipt0    = "RECEIPT\nreceipt-id:sub-0\n\n\x00"
)

func message(dest, sub, id, offset, body string) string {
	s := "MESSAGE\ndestination:" + dest + "\nsubscription:" + sub + "\n"
	if id != "" {
		s += "message-id:" + id + "\n"
	}
	if offset != "" {
		s += "x-offset:" + offset + "\n"
	}
	return s + "\n" + body + "\x00"
}

// The handshake: what is sent, and every answer checked.
func TestDialStomp(t *testing.T) {
	cfg := &StompConfig{Accept: []string{"1.1", "1.2"}, Send: "/app/echo", Subscribe: "/user/queue/echo", Host: "127.0.0.1"}
	tests := []struct {
		name    string
		accept  []string
		frames  []sockjsclient.Frame
		version string
		kind    ErrKind
		err     string
	}{
		{name: "1.2", frames: []sockjsclient.Frame{arr(connected12), arr(receipt0)}, version: "1.2"},
		{name: "heartbeats and a split CONNECTED", frames: []sockjsclient.Frame{{Type: sockjsclient.FrameHeartbeat},
			arr(connected12[:10]), arr(connected12[10:] + receipt0)}, version: "1.2"},
		{name: "no version header means 1.0", accept: []string{"1.0"}, frames: []sockjsclient.Frame{arr("CONNECTED\n\n\x00", receipt0)}, version: "1.0"},
		{name: "no version header, 1.0 not offered", frames: []sockjsclient.Frame{arr("CONNECTED\n\n\x00")}, kind: KindFrame, err: "not one of"},
		{name: "version not offered", frames: []sockjsclient.Frame{arr("CONNECTED\nversion:1.0\n\n\x00")}, kind: KindFrame, err: "not one of"},
		{name: "bad heart-beat", frames: []sockjsclient.Frame{arr("CONNECTED\nversion:1.2\nheart-beat:x\n\n\x00")}, kind: KindFrame, err: "heart-beat"},
		{name: "ERROR for CONNECT", frames: []sockjsclient.Frame{arr("ERROR\nmessage:go away\n\nbecause\x00")}, kind: KindStomp, err: "go away"},
		{name: "MESSAGE for CONNECT", frames: []sockjsclient.Frame{arr(message("/a", "0", "1", "", "x"))}, kind: KindFrame, err: "want CONNECTED"},
		{name: "wrong receipt", frames: []sockjsclient.Frame{arr(connected12, "RECEIPT\nreceipt-id:x\n\n\x00")}, kind: KindFrame, err: "RECEIPT for"},
		{name: "ERROR for SUBSCRIBE", frames: []sockjsclient.Frame{arr(connected12, "ERROR\nmessage:no\n\n\x00")}, kind: KindStomp, err: "no"},
		{name: "MESSAGE before the RECEIPT", frames: []sockjsclient.Frame{arr(connected12, message("/user/queue/echo", "0", "1", "", "x"))},
			kind: KindFrame, err: "want its RECEIPT"},
		{name: "close frame", frames: []sockjsclient.Frame{{Type: sockjsclient.FrameClose, Code: 3000, Reason: "Go away!"}}, kind: KindClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &scriptConn{frames: tt.frames}
			cc := *cfg
			if tt.accept != nil {
				cc.Accept = tt.accept
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			s, err := dialStomp(ctx, c, &cc)
			if tt.kind != "" {
				if err == nil || classify(err).Kind != tt.kind || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a %s error with %q", err, tt.kind, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.version != tt.version {
				t.Fatalf("version %q, want %q", s.version, tt.version)
			}
			want := []string{
				"CONNECT\naccept-version:" + strings.Join(cc.Accept, ",") + "\nhost:127.0.0.1\nheart-beat:0,0\n\n\x00",
				"SUBSCRIBE\nid:0\ndestination:/user/queue/echo\nreceipt:sub-0\n\n\x00",
			}
			if !slices.Equal(c.sent, want) {
				t.Fatalf("sent %q, want %q", c.sent, want)
			}
			c.sent = nil
			if err := s.Send([]string{"abc", "héllo"}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			want = []string{
				"SEND\ndestination:/app/echo\ncontent-length:3\n\nabc\x00",
				"SEND\ndestination:/app/echo\ncontent-length:6\n\nhéllo\x00",
			}
			if !slices.Equal(c.sent, want) {
				t.Fatalf("sent %q, want %q", c.sent, want)
			}
			c.sent = nil
			_ = s.Close(sockjsclient.CloseGraceful)
			if !c.closed || !slices.Equal(c.sent, []string{"DISCONNECT\n\n\x00"}) {
				t.Fatalf("close sent %q, closed %v", c.sent, c.closed)
			}
		})
	}
}

// After the handshake, Recv returns MESSAGE bodies and checks each frame.
func TestStompRecv(t *testing.T) {
	const dest = "/topic/bench"
	m := func(id, offset, body string) string { return message(dest, "0", id, offset, body) }
	tests := []struct {
		name      string
		handshake bool // frames include the handshake's
		frames    []sockjsclient.Frame
		want      [][]string // bodies per Recv
		kind      ErrKind    // of the Recv after want
		err       string
	}{
		{name: "batches and splits", frames: []sockjsclient.Frame{
			arr(m("1", "1", "a"), m("2", "2", "b")+m("3", "3", "c")),
			{Type: sockjsclient.FrameHeartbeat},
			arr(m("4", "4", "d")[:5]), arr(m("4", "4", "d")[5:]),
		}, want: [][]string{{"a", "b", "c"}, nil, {"d"}}, kind: KindTimeout},
		// Frames after the handshake's RECEIPT in the same SockJS frame
		// are not lost.
		{name: "backlog from the handshake", handshake: true, frames: []sockjsclient.Frame{arr(connected12, receipt0, m("1", "", "early"))},
			want: [][]string{{"early"}}, kind: KindTimeout},
		{name: "ERROR", frames: []sockjsclient.Frame{arr(m("1", "", "a"), "ERROR\nmessage:full\n\n\x00")},
			kind: KindStomp, err: "full"},
		{name: "RECEIPT nobody asked for", frames: []sockjsclient.Frame{arr("RECEIPT\nreceipt-id:1\n\n\x00")},
			kind: KindFrame, err: "unexpected RECEIPT"},
		{name: "other subscription", frames: []sockjsclient.Frame{arr(message(dest, "1", "1", "", "a"))},
			kind: KindFrame, err: "subscription"},
		{name: "other destination", frames: []sockjsclient.Frame{arr(message("/topic/x", "0", "1", "", "a"))},
			kind: KindFrame, err: "destination"},
		{name: "no message-id", frames: []sockjsclient.Frame{arr(m("", "", "a"))},
			kind: KindFrame, err: "message-id"},
		{name: "x-offset repeated", frames: []sockjsclient.Frame{arr(m("1", "7", "a"), m("2", "7", "b"))},
			kind: KindMismatch, err: "x-offset"},
		{name: "x-offset back", frames: []sockjsclient.Frame{arr(m("1", "7", "a")), arr(m("2", "3", "b"))},
			want: [][]string{{"a"}}, kind: KindMismatch, err: "x-offset"},
		{name: "malformed", frames: []sockjsclient.Frame{arr("MESSAGE\nx\n\n\x00")}, kind: KindFrame, err: "bad header"},
		{name: "close frame", frames: []sockjsclient.Frame{{Type: sockjsclient.FrameClose, Code: 3000, Reason: "Go away!"}}, kind: KindClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &scriptConn{frames: tt.frames}
			if !tt.handshake {
				c.frames = append([]sockjsclient.Frame{arr(connected12), arr(receipt0)}, tt.frames...)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			s, err := dialStomp(ctx, c, &StompConfig{Accept: []string{"1.2"}, Send: dest, Subscribe: dest, Host: "h"})
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range tt.want {
				f, err := s.Recv(time.Time{})
				if err != nil {
					t.Fatalf("Recv %d: %v", i, err)
				}
				if want == nil {
					if f.Type != sockjsclient.FrameHeartbeat {
						t.Fatalf("Recv %d: %+v, want the heartbeat passed on", i, f)
					}
					continue
				}
				if f.Type != sockjsclient.FrameArray || !slices.Equal(f.Messages, want) {
					t.Fatalf("Recv %d: %+v, want bodies %q", i, f, want)
				}
			}
			// ReadMessages turns a passed-on close frame into an error,
			// as the scenarios read.
			_, err = sockjsclient.ReadMessages(s, time.Time{})
			var ce *sockjsclient.CloseError
			if err == nil || classify(err).Kind != tt.kind || !strings.Contains(err.Error(), tt.err) ||
				tt.kind == KindClose && !errors.As(err, &ce) {
				t.Fatalf("error %v, want a %s error with %q", err, tt.kind, tt.err)
			}
		})
	}
}

func TestStompFlags(t *testing.T) {
	var stderr strings.Builder
	cfg, err := parseFlags("broadcast", []string{"-url", "http://127.0.0.1:1/stomp", "-stomp", "-stomp-send", "/topic/x"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Stomp; s == nil || s.Send != "/topic/x" || s.Subscribe != "/topic/x" || s.Host != "127.0.0.1" || !slices.Equal(s.Accept, []string{"1.2"}) {
		t.Fatalf("broadcast -stomp: %+v", cfg.Stomp)
	}
	cfg, err = parseFlags("echo", []string{"-url", "http://[::1]:1/stomp", "-stomp", "-stomp-version", "1.1,1.2"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Stomp; s == nil || s.Send != "/app/echo" || s.Subscribe != "/user/queue/echo" || s.Host != "::1" || !slices.Equal(s.Accept, []string{"1.1", "1.2"}) {
		t.Fatalf("echo -stomp: %+v", cfg.Stomp)
	}
	if cfg, err = parseFlags("echo", []string{"-url", "http://127.0.0.1:1/echo"}, &stderr); err != nil || cfg.Stomp != nil {
		t.Fatalf("echo without -stomp: %+v, %v", cfg.Stomp, err)
	}
	for _, args := range [][]string{
		{"echo", "-stomp", "-stomp-version", "2.0"},
		{"echo", "-stomp", "-stomp-version", ","},
		{"echo", "-stomp", "-stomp-send", "app/echo"},
		{"broadcast", "-stomp", "-stomp-subscribe", "/topic/a\nb"},
		{"idle", "-stomp"}, // only echo, broadcast and connect speak it
	} {
		if _, err := parseFlags(args[0], append(args[1:], "-url", "http://127.0.0.1:1/stomp"), &stderr); err == nil {
			t.Errorf("parseFlags %q: no error", args)
		}
	}
}
