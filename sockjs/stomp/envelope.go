package stomp

import (
	"strings"
)

// An envelope carries a message's headers with its body through a Topics
// or Queues engine, which carry strings: a NUL, the headers as STOMP 1.2
// header lines, an empty line, the body. A message with no headers to
// carry is its body alone (unless the body starts with a NUL), which is
// what plain SockJS subscribers of a topic expect.

// passOn reports whether a SEND header goes on to the MESSAGE frames: the
// frame's own mechanics do not, nor anything a MESSAGE sets itself, so a
// client cannot forge them.
func passOn(name string) bool {
	switch name {
	case "destination", "content-length", "receipt", "transaction",
		"subscription", "message-id", "ack", "redelivered", hdrOffset, hdrEpoch:
		return false
	}
	return true
}

// wrap makes the engine data of a message with headers h (those that
// passOn) and body.
func wrap(h []Header, body string) string {
	n := 0
	for _, x := range h {
		if passOn(x.Name) {
			n++
		}
	}
	if n == 0 && !strings.HasPrefix(body, "\x00") {
		return body
	}
	buf := make([]byte, 0, 2+len(body)+32*n)
	buf = append(buf, 0)
	for _, x := range h {
		if passOn(x.Name) {
			buf = appendHeader(buf, v12, true, x.Name, x.Value)
		}
	}
	buf = append(buf, '\n')
	buf = append(buf, body...)
	return string(buf)
}

// unwrap splits engine data into its header lines (1.2-escaped, each
// ending in LF) and body. Data that is not an envelope is all body.
func unwrap(data string) (lines, body string) {
	if !strings.HasPrefix(data, "\x00") {
		return "", data
	}
	data = data[1:]
	if strings.HasPrefix(data, "\n") {
		return "", data[1:]
	}
	if i := strings.Index(data, "\n\n"); i >= 0 {
		return data[:i+1], data[i+2:]
	}
	return "", data // not ours: deliver it as it came
}

// appendLines appends envelope header lines to a frame for version v:
// as they are for 1.2, decoded and encoded again for the others.
func appendLines(dst []byte, v version, lines string) []byte {
	if v == v12 {
		return append(dst, lines...)
	}
	for lines != "" {
		line, rest, _ := strings.Cut(lines, "\n")
		lines = rest
		h, err := parseHeader(line, v12, true)
		if err != nil {
			continue
		}
		dst = appendHeader(dst, v, v != v10, h.Name, h.Value)
	}
	return dst
}

// userTopic names the topic that carries destination dest (such as
// "/queue/reply") to user's sessions: "/user/<user>/queue/reply" with the
// user's name escaped, so that no two users' names collide.
func (s *Server) userTopic(user, dest string) string {
	var b strings.Builder
	b.Grow(len(s.opts.UserPrefix) + len(user) + len(dest) + 1)
	b.WriteString(s.opts.UserPrefix)
	b.WriteByte('/')
	for i := 0; i < len(user); i++ {
		switch c := user[i]; c {
		case '/', '%':
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteString(dest)
	return b.String()
}

const hexDigits = "0123456789ABCDEF"
