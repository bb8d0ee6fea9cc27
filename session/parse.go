package session

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// Errors of ParseMessages, worded as the protocol requires them in the
// body of a 500 answer to xhr_send and jsonp_send.
var (
	ErrPayloadExpected = errors.New("Payload expected.")
	ErrBrokenJSON      = errors.New("Broken JSON encoding.")
)

// ParseMessages decodes what a client sends: a JSON array of strings,
// such as ["a","b"]. It returns ErrPayloadExpected for an empty payload and
// ErrBrokenJSON for anything that is not an array of strings. Decoding
// matches encoding/json, lone surrogates and invalid UTF-8 becoming U+FFFD;
// it is written by hand because it runs for every incoming message and
// does a fraction of encoding/json's work.
func ParseMessages(data []byte) ([]string, error) {
	p := parser{data: data}
	p.skipSpace()
	if p.i == len(p.data) {
		return nil, ErrPayloadExpected
	}
	if !p.consume('[') {
		return nil, ErrBrokenJSON
	}
	var msgs []string
	p.skipSpace()
	if !p.consume(']') {
		// Commas bound the number of messages (they may also sit inside
		// one): size the slice once instead of growing it.
		msgs = make([]string, 0, min(bytes.Count(data, comma)+1, 4096))
		for {
			p.skipSpace()
			s, ok := p.str()
			if !ok {
				return nil, ErrBrokenJSON
			}
			msgs = append(msgs, s)
			p.skipSpace()
			if p.consume(']') {
				break
			}
			if !p.consume(',') {
				return nil, ErrBrokenJSON
			}
		}
	}
	p.skipSpace()
	if p.i != len(p.data) {
		return nil, ErrBrokenJSON
	}
	return msgs, nil
}

var comma = []byte{','}

type parser struct {
	data []byte
	i    int
	buf  []byte // strSlow's, reused for every escaped string of the payload
}

func (p *parser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) consume(c byte) bool {
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads one JSON string literal.
func (p *parser) str() (string, bool) {
	if !p.consume('"') {
		return "", false
	}
	// Fast path: no escapes and valid UTF-8 need no copy but the string's.
	start := p.i
	for j := start; j < len(p.data); j++ {
		c := p.data[j]
		switch {
		case c == '"':
			if utf8.Valid(p.data[start:j]) {
				p.i = j + 1
				return string(p.data[start:j]), true
			}
			return p.strSlow(start)
		case c == '\\' || c >= utf8.RuneSelf:
			return p.strSlow(start)
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

func (p *parser) strSlow(start int) (string, bool) {
	out := p.buf[:0]
	defer func() { p.buf = out[:0] }()
	i := start
	for i < len(p.data) {
		c := p.data[i]
		switch {
		case c == '"':
			p.i = i + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c == '\\':
			i++
			if i >= len(p.data) {
				return "", false
			}
			switch e := p.data[i]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(p.data[i+1:])
				if !ok {
					return "", false
				}
				i += 4
				if utf16.IsSurrogate(r) {
					// A high surrogate followed by \u-low makes one rune;
					// anything else is a lone surrogate, U+FFFD.
					if len(p.data) > i+2 && p.data[i+1] == '\\' && p.data[i+2] == 'u' {
						if r2, ok := hex4(p.data[i+3:]); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								i += 6
								break
							}
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", false
			}
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(p.data[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, p.data[i:i+size]...)
			}
			i += size
		}
	}
	return "", false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
