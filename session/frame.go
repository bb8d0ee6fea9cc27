package session

import (
	"strconv"
	"unicode/utf8"
)

// The framing layer. Every transport writes frames built here, then wraps
// them in its own envelope; nothing else produces SockJS frames.
//
//	o                 open
//	h                 heartbeat
//	a["m1","m2"]      messages
//	c[3000,"reason"]  close

// AppendOpen appends the open frame to dst.
func AppendOpen(dst []byte) []byte { return append(dst, 'o') }

// AppendHeartbeat appends the heartbeat frame to dst.
func AppendHeartbeat(dst []byte) []byte { return append(dst, 'h') }

// AppendMessages appends an "a" frame carrying msgs to dst.
func AppendMessages(dst []byte, msgs []string) []byte {
	dst = append(dst, 'a', '[')
	for i, m := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendQuoted(dst, m)
	}
	return append(dst, ']')
}

// AppendClose appends a close frame to dst.
func AppendClose(dst []byte, code int, reason string) []byte {
	dst = append(dst, 'c', '[')
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ',')
	dst = AppendQuoted(dst, reason)
	return append(dst, ']')
}

// AppendBatch appends the frame that b carries.
func AppendBatch(dst []byte, b *Batch) []byte {
	switch b.Kind {
	case FrameOpen:
		return AppendOpen(dst)
	case FrameHeartbeat:
		return AppendHeartbeat(dst)
	case FrameMessages:
		return AppendMessages(dst, b.Messages)
	default:
		return AppendClose(dst, b.Code, b.Reason)
	}
}

// messagesFrameLen is the length of the "a" frame for n messages whose
// escaped contents (see escapedLen) take bytes bytes in all.
func messagesFrameLen(n, bytes int) int { return 2 + bytes + 3*n }

// escapedLen is the length of s as AppendQuoted escapes it, without the
// quotes: what a streaming lease counts of each message, without encoding
// the frame.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch asciiEscape[c] {
			case 0:
			case 'u':
				n += len(`\u0000`) - 1
			default:
				n++ // a backslash
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || mustEscapeRune(r) {
			n += len(`\ufffd`) - size
		}
		i += size
	}
	return n
}

// Escaping. sockjs-client needs JSON that survives every transport, so on
// top of what JSON requires ('"', '\\', U+0000–U+001F) we escape the
// ranges the protocol suite lists (U+200C–U+200F, U+2028–U+202F,
// U+2060–U+206F, U+FFF0–U+FFFF): browsers mangle them or treat them as line
// ends. Escapes use lowercase hex, as the suite compares bytes. Invalid
// UTF-8 becomes U+FFFD.
//
// The HTML-safe variant also escapes '<', '>' and '&' so that a string
// placed inside a <script> element (htmlfile) can never close it.

const hexDigits = "0123456789abcdef"

// asciiEscape[c] is 0 for bytes copied as they are, 'u' for \u00XX, or the
// letter of a short escape.
var asciiEscape, asciiEscapeHTML [utf8.RuneSelf]byte

func init() {
	for c := 0; c < 0x20; c++ {
		asciiEscape[c] = 'u'
	}
	asciiEscape['\b'] = 'b'
	asciiEscape['\f'] = 'f'
	asciiEscape['\n'] = 'n'
	asciiEscape['\r'] = 'r'
	asciiEscape['\t'] = 't'
	asciiEscape['"'] = '"'
	asciiEscape['\\'] = '\\'
	asciiEscapeHTML = asciiEscape
	asciiEscapeHTML['<'] = 'u'
	asciiEscapeHTML['>'] = 'u'
	asciiEscapeHTML['&'] = 'u'
}

// AppendQuoted appends s as a JSON string literal with SockJS escaping.
func AppendQuoted(dst []byte, s string) []byte { return appendQuoted(dst, s, &asciiEscape) }

// AppendQuotedHTML is AppendQuoted that is also safe inside an HTML
// <script> element.
func AppendQuotedHTML(dst []byte, s string) []byte {
	return appendQuoted(dst, s, &asciiEscapeHTML)
}

func appendQuoted(dst []byte, s string, table *[utf8.RuneSelf]byte) []byte {
	dst = append(dst, '"')
	start := 0 // s[start:i] is pending, to be copied verbatim
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			e := table[c]
			if e == 0 {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			if e == 'u' {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, '\\', e)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if mustEscapeRune(r) {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u',
				hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
			start = i + size
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func mustEscapeRune(r rune) bool {
	switch {
	case r < 0x200c:
		return false
	case r <= 0x200f, r >= 0x2028 && r <= 0x202f, r >= 0x2060 && r <= 0x206f:
		return true
	case r >= 0xfff0 && r <= 0xffff:
		return true
	}
	return false
}
