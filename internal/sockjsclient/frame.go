package sockjsclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	serversession "github.com/sockjsd/sockjsd/session"
)

// FrameType is the first byte of a SockJS frame.
type FrameType byte

// The SockJS 0.3 frame types.
const (
	FrameOpen      FrameType = 'o' // o
	FrameHeartbeat FrameType = 'h' // h
	FrameArray     FrameType = 'a' // a["msg",...]
	FrameMessage   FrameType = 'm' // m"msg" (single message, older servers)
	FrameClose     FrameType = 'c' // c[code,"reason"]
)

func (t FrameType) String() string {
	switch t {
	case FrameOpen:
		return "open"
	case FrameHeartbeat:
		return "heartbeat"
	case FrameArray:
		return "array"
	case FrameMessage:
		return "message"
	case FrameClose:
		return "close"
	}
	return fmt.Sprintf("frame(%q)", byte(t))
}

// Frame is one decoded SockJS frame. Messages is set for array and
// message frames, Code and Reason for close frames.
type Frame struct {
	Type     FrameType
	Messages []string
	Code     int
	Reason   string
}

// ParseFrame decodes one SockJS frame without its transport envelope (the
// websocket message, an xhr line without its trailing '\n', the decoded
// data of an eventsource event, the decoded string literal of an htmlfile
// or jsonp script). It is strict: "o" and "h" take nothing after them,
// array frames hold strings only, and close frames are exactly
// [int, string]. Every error wraps ErrBadFrame. ParseFrame does not keep
// b: the messages are copies.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) == 0 {
		return Frame{}, fmt.Errorf("%w: empty", ErrBadFrame)
	}
	f := Frame{Type: FrameType(b[0])}
	rest := b[1:]
	switch f.Type {
	case FrameOpen, FrameHeartbeat:
		if len(rest) != 0 {
			return Frame{}, fmt.Errorf("%w: %q frame with payload %s", ErrBadFrame, b[0], quoteShort(rest))
		}
		return f, nil
	case FrameArray:
		msgs, err := parseStringArray(rest, nil)
		if err != nil {
			return Frame{}, fmt.Errorf("%w: %v in %s", ErrBadFrame, err, quoteShort(b))
		}
		f.Messages = msgs
		return f, nil
	case FrameMessage:
		p := &scanner{b: rest}
		p.skipSpace()
		s, err := p.str()
		if err == nil {
			p.skipSpace()
			if p.i != len(p.b) {
				err = errors.New("trailing data")
			}
		}
		if err != nil {
			return Frame{}, fmt.Errorf("%w: %v in %s", ErrBadFrame, err, quoteShort(b))
		}
		f.Messages = []string{s}
		return f, nil
	case FrameClose:
		code, reason, err := parseClose(rest)
		if err != nil {
			return Frame{}, fmt.Errorf("%w: %v in %s", ErrBadFrame, err, quoteShort(b))
		}
		f.Code, f.Reason = code, reason
		return f, nil
	}
	return Frame{}, fmt.Errorf("%w: unknown type in %s", ErrBadFrame, quoteShort(b))
}

// parseStringArray decodes a JSON array of strings, appending to dst. It
// is the server's own decoder (session.ParseMessages, fuzzed against
// encoding/json), which also takes the escaped strings every STOMP frame
// carries without encoding/json's cost.
func parseStringArray(b []byte, dst []string) ([]string, error) {
	msgs, err := serversession.ParseMessages(b)
	if err != nil {
		return nil, err
	}
	if dst == nil && msgs == nil {
		return []string{}, nil
	}
	return append(dst, msgs...), nil
}

// parseClose decodes [code,"reason"].
func parseClose(b []byte) (int, string, error) {
	p := &scanner{b: b}
	p.skipSpace()
	if !p.eat('[') {
		return 0, "", errors.New("expected '['")
	}
	p.skipSpace()
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == start || p.i-start > 9 || (p.b[start] == '0' && p.i-start > 1) {
		return 0, "", errors.New("bad close code")
	}
	code, _ := strconv.Atoi(string(p.b[start:p.i]))
	p.skipSpace()
	if !p.eat(',') {
		return 0, "", errors.New("expected ','")
	}
	p.skipSpace()
	reason, err := p.str()
	if err != nil {
		return 0, "", err
	}
	p.skipSpace()
	if !p.eat(']') {
		return 0, "", errors.New("expected ']'")
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return 0, "", errors.New("trailing data")
	}
	return code, reason, nil
}

// scanner is a cursor over JSON text.
type scanner struct {
	b []byte
	i int
}

func (p *scanner) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str decodes one JSON string. Plain ASCII strings (the common case in a
// benchmark) are copied directly; anything with escapes or non-ASCII
// bytes is handed to encoding/json so that the decoding rules (invalid
// UTF-8, lone surrogates) are exactly the standard library's.
func (p *scanner) str() (string, error) {
	if !p.eat('"') {
		return "", fmt.Errorf("expected string at offset %d", p.i)
	}
	start := p.i
	simple := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			if simple {
				return string(p.b[start : p.i-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.b[start-1:p.i], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			simple = false
			p.i++ // skip the escaped byte; json.Unmarshal validates it
			if p.i >= len(p.b) {
				return "", errors.New("unterminated string")
			}
			p.i++
		case c < 0x20:
			return "", fmt.Errorf("control character in string at offset %d", p.i)
		case c >= utf8.RuneSelf:
			simple = false
			p.i++
		default:
			p.i++
		}
	}
	return "", errors.New("unterminated string")
}

// quoteShort renders b for an error message, cut to a readable length.
func quoteShort(b []byte) string {
	const max = 80
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// appendJSONString appends s as a JSON string literal. ASCII without
// quotes, backslashes or control characters is copied as is.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals
			return append(dst, q...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendSendBody appends the client-to-server payload for msgs, a JSON
// array of strings, as xhr_send takes it (and jsonp_send in its form
// field d, and a framed websocket as one message).
func AppendSendBody(dst []byte, msgs []string) []byte {
	dst = append(dst, '[')
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, m)
	}
	return append(dst, ']')
}
