package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// The STOMP mode (-stomp): every session of echo, broadcast or connect
// speaks STOMP over its SockJS transport, as stomp.js over sockjs-client
// does. On opening, a session sends CONNECT (heart-beat:0,0) and waits
// for CONNECTED, then SUBSCRIBEs to one destination with a receipt and
// waits for the RECEIPT; after that each message the scenario sends is a
// SEND (one SockJS message per frame) and each one it receives is the
// body of a MESSAGE. The scenarios check bodies as they check plain
// messages (content, order, nothing lost or repeated); the STOMP layer
// checks every frame: an ERROR, a frame other than MESSAGE, a MESSAGE
// for another subscription or destination or without a message-id, an
// x-offset that does not grow, a malformed frame: each is an error of the
// run.

// KindStomp counts ERROR frames from the server.
const KindStomp ErrKind = "stomp-error"

// StompConfig is the STOMP mode's part of the configuration.
type StompConfig struct {
	Accept    []string // versions offered in CONNECT's accept-version
	Send      string   // destination of every SEND
	Subscribe string   // destination every session subscribes to
	Host      string   // CONNECT's host header
}

// stompSubID is the id of each session's one subscription.
const stompSubID = "0"

// stompConn is a SockJS session that speaks STOMP. Its Send sends each
// message as the body of a SEND and its Recv returns the bodies of the
// MESSAGEs received, so the scenarios use it as any other session.
type stompConn struct {
	c        sockjsclient.Conn
	cfg      *StompConfig
	version  string // negotiated
	sendHead string // a SEND frame up to the value of its content-length

	// Owned by the one goroutine that calls Recv.
	dec        stompDecoder
	backlog    []string // SockJS messages received and not yet decoded
	lastOffset uint64   // x-offset of the last MESSAGE; 0 before one

	mu  sync.Mutex // serializes Send, whose scratch out is
	out []string
}

// dialStomp speaks CONNECT and SUBSCRIBE on c, within ctx's deadline.
func dialStomp(ctx context.Context, c sockjsclient.Conn, cfg *StompConfig) (*stompConn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	s := &stompConn{c: c, cfg: cfg, dec: stompDecoder{max: maxStompFrame}}
	connect := appendStompFrame(nil, "", "CONNECT", []stompHeader{
		{"accept-version", strings.Join(cfg.Accept, ",")},
		{"host", cfg.Host},
		{"heart-beat", "0,0"},
	}, "")
	if err := c.Send([]string{string(connect)}, deadline); err != nil {
		return nil, err
	}
	f, err := s.nextFrame(deadline)
	if err != nil {
		return nil, err
	}
	switch f.Command {
	case "CONNECTED":
	case "ERROR":
		return nil, stompErrorOf(&f)
	default:
		return nil, badStomp("%s in answer to CONNECT, want CONNECTED", f.Command)
	}
	v, ok := f.get("version")
	if !ok {
		v = "1.0" // a 1.0 server says none
	}
	if !slices.Contains(cfg.Accept, v) {
		return nil, badStomp("CONNECTED with version %q, not one of accept-version %s", v, strings.Join(cfg.Accept, ","))
	}
	if hb, ok := f.get("heart-beat"); ok {
		if _, _, ok := parseStompHeartBeat(hb); !ok {
			return nil, badStomp("CONNECTED with heart-beat %q", hb)
		}
		// Against our 0,0 the negotiated rates are 0 both ways.
	}
	s.version = v
	s.dec.version = v
	s.sendHead = string(appendStompFrame(nil, v, "SEND", []stompHeader{{"destination", cfg.Send}}, ""))
	s.sendHead = strings.TrimSuffix(s.sendHead, "\n\x00") + "content-length:"

	const receipt = "sub-0"
	sub := appendStompFrame(nil, v, "SUBSCRIBE", []stompHeader{
		{"id", stompSubID},
		{"destination", cfg.Subscribe},
		{"receipt", receipt},
	}, "")
	if err := c.Send([]string{string(sub)}, deadline); err != nil {
		return nil, err
	}
	if f, err = s.nextFrame(deadline); err != nil {
		return nil, err
	}
	switch f.Command {
	case "RECEIPT":
		if id, _ := f.get("receipt-id"); id != receipt {
			return nil, badStomp("RECEIPT for %q, want %q", id, receipt)
		}
	case "ERROR":
		return nil, stompErrorOf(&f)
	default:
		return nil, badStomp("%s in answer to SUBSCRIBE, want its RECEIPT", f.Command)
	}
	return s, nil
}

// maxStompFrame bounds a frame from the server.
const maxStompFrame = 16 << 20

// Send sends each message as the body of a SEND to the configured
// destination, one SockJS message per frame.
func (s *stompConn) Send(msgs []string, deadline time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.out[:0]
	for _, m := range msgs {
		var b strings.Builder
		b.Grow(len(s.sendHead) + 12 + len(m))
		b.WriteString(s.sendHead)
		b.WriteString(strconv.Itoa(len(m)))
		b.WriteString("\n\n")
		b.WriteString(m)
		b.WriteByte(0)
		out = append(out, b.String())
	}
	err := s.c.Send(out, deadline)
	clear(out)
	s.out = out
	return err
}

// Recv returns the bodies of the MESSAGEs that arrived, as one array
// frame, once there is at least one; SockJS frames other than arrays
// (heartbeats, close) are passed on for the caller to judge. Any other
// STOMP frame is an error.
func (s *stompConn) Recv(deadline time.Time) (sockjsclient.Frame, error) {
	for {
		var bodies []string
		for {
			f, ok, err := s.dec.next()
			if err != nil {
				return sockjsclient.Frame{}, err
			}
			if ok {
				body, err := s.message(&f)
				if err != nil {
					return sockjsclient.Frame{}, err
				}
				bodies = append(bodies, body)
				continue
			}
			if len(s.backlog) == 0 {
				break
			}
			s.dec.feed(s.backlog[0])
			s.backlog = s.backlog[1:]
		}
		if len(bodies) > 0 {
			return sockjsclient.Frame{Type: sockjsclient.FrameArray, Messages: bodies}, nil
		}
		f, err := s.c.Recv(deadline)
		if err != nil {
			return f, err
		}
		if f.Type != sockjsclient.FrameArray && f.Type != sockjsclient.FrameMessage {
			return f, nil
		}
		s.backlog = f.Messages
	}
}

// message checks a frame received after the handshake and returns its
// body.
func (s *stompConn) message(f *stompFrame) (string, error) {
	switch f.Command {
	case "MESSAGE":
	case "ERROR":
		return "", stompErrorOf(f)
	default:
		return "", badStomp("unexpected %s frame", f.Command)
	}
	if sub, _ := f.get("subscription"); sub != stompSubID {
		return "", badStomp("MESSAGE for subscription %q, want %q", sub, stompSubID)
	}
	if d, _ := f.get("destination"); d != s.cfg.Subscribe {
		return "", badStomp("MESSAGE with destination %q, want %q", d, s.cfg.Subscribe)
	}
	if id, _ := f.get("message-id"); id == "" {
		return "", badStomp("MESSAGE without message-id")
	}
	if o, ok := f.get("x-offset"); ok {
		n, err := strconv.ParseUint(o, 10, 64)
		if err != nil || n <= s.lastOffset {
			return "", protoErr(KindMismatch, "stomp: MESSAGE with x-offset %q after %d", o, s.lastOffset)
		}
		s.lastOffset = n
	}
	return f.Body, nil
}

// nextFrame returns the next STOMP frame, reading as needed; heartbeats
// are skipped, a close frame is an error. Used while opening.
func (s *stompConn) nextFrame(deadline time.Time) (stompFrame, error) {
	for {
		f, ok, err := s.dec.next()
		if err != nil || ok {
			return f, err
		}
		if len(s.backlog) > 0 {
			s.dec.feed(s.backlog[0])
			s.backlog = s.backlog[1:]
			continue
		}
		sf, err := s.c.Recv(deadline)
		if err != nil {
			return f, err
		}
		switch sf.Type {
		case sockjsclient.FrameHeartbeat:
		case sockjsclient.FrameArray, sockjsclient.FrameMessage:
			s.backlog = sf.Messages
		case sockjsclient.FrameClose:
			return f, closeErr(sf)
		default:
			return f, protoErr(KindFrame, "%s frame in an open session", sf.Type)
		}
	}
}

// Close leaves the session; a graceful close says DISCONNECT first (with
// no receipt, as stompjs 2.x does).
func (s *stompConn) Close(mode sockjsclient.CloseMode) error {
	if mode == sockjsclient.CloseGraceful {
		s.mu.Lock()
		_ = s.c.Send([]string{"DISCONNECT\n\n\x00"}, time.Now().Add(time.Second))
		s.mu.Unlock()
	}
	return s.c.Close(mode)
}

// stompErrorOf reports an ERROR frame: its message header and body.
func stompErrorOf(f *stompFrame) error {
	msg, _ := f.get("message")
	return protoErr(KindStomp, "ERROR %q %s", msg, quoteShort([]byte(f.Body)))
}

// stompConfig checks the STOMP mode's flags.
func stompConfig(c *Config, versions, send, subscribe string) (*StompConfig, error) {
	sc := &StompConfig{Accept: splitList(versions), Send: send, Subscribe: subscribe}
	if sc.Subscribe == "" {
		sc.Subscribe = sc.Send
	}
	if len(sc.Accept) == 0 {
		return nil, fmt.Errorf("-stomp-version: give one or more of %s", strings.Join(stompVersions, ", "))
	}
	for _, v := range sc.Accept {
		if !slices.Contains(stompVersions, v) {
			return nil, fmt.Errorf("-stomp-version %q: want %s", v, strings.Join(stompVersions, ", "))
		}
	}
	for _, d := range []struct{ flag, dest string }{{"-stomp-send", sc.Send}, {"-stomp-subscribe", sc.Subscribe}} {
		if !strings.HasPrefix(d.dest, "/") || strings.ContainsAny(d.dest, "\x00\r\n") {
			return nil, fmt.Errorf("%s %q: want a destination such as /topic/bench", d.flag, d.dest)
		}
	}
	host, _, err := net.SplitHostPort(c.Targets[0].Host)
	if err != nil {
		host = c.Targets[0].Host
	}
	sc.Host = strings.Trim(host, "[]")
	return sc, nil
}

// StompReport is the STOMP mode's part of a result.
type StompReport struct {
	Version   string `json:"version,omitempty"` // negotiated by the first session
	Send      string `json:"send"`
	Subscribe string `json:"subscribe"`
}

func newStompReport(c *Config) *StompReport {
	if c.Stomp == nil {
		return nil
	}
	return &StompReport{Send: c.Stomp.Send, Subscribe: c.Stomp.Subscribe}
}
