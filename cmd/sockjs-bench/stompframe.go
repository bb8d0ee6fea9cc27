package main

import (
	"strconv"
	"strings"
)

// The client side of STOMP framing (1.0, 1.1, 1.2), as much as the load
// tool's STOMP mode needs: it writes CONNECT, SUBSCRIBE, SEND and
// DISCONNECT, and decodes whatever the server sends, strictly.

// stompFrame is one decoded frame. Command and Body point into the SockJS
// message that carried the frame; Headers belongs to the decoder and is
// valid until its next frame.
type stompFrame struct {
	Command string
	Headers []stompHeader
	Body    string
}

type stompHeader struct{ Name, Value string }

// get returns the first header called name: of repeated headers the
// first one counts.
func (f *stompFrame) get(name string) (string, bool) {
	for _, h := range f.Headers {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

// The versions the tool speaks.
var stompVersions = []string{"1.0", "1.1", "1.2"}

// stompEscapes reports whether header names and values of cmd are escaped
// in version v: from 1.1 on, except in CONNECT and CONNECTED.
func stompEscapes(v, cmd string) bool {
	return v != "1.0" && v != "" && cmd != "CONNECT" && cmd != "CONNECTED"
}

// stompEscape escapes a header name or value for version v.
func stompEscape(s, v string) string {
	if v == "1.0" || !strings.ContainsAny(s, "\\\r\n:") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == ':':
			b.WriteString(`\c`)
		case c == '\r' && v == "1.2":
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stompUnescape undoes stompEscape; an escape the version does not define
// is an error, as 1.2 requires.
func stompUnescape(s, v string) (string, bool) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i++; i == len(s) {
			return "", false
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 'n':
			b.WriteByte('\n')
		case 'c':
			b.WriteByte(':')
		case 'r':
			if v != "1.2" {
				return "", false
			}
			b.WriteByte('\r')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// appendStompFrame appends a client frame: command, headers (escaped for
// version v), a content-length when there is a body, the body and NUL.
func appendStompFrame(dst []byte, v, cmd string, headers []stompHeader, body string) []byte {
	esc := stompEscapes(v, cmd)
	dst = append(dst, cmd...)
	dst = append(dst, '\n')
	for _, h := range headers {
		name, value := h.Name, h.Value
		if esc {
			name, value = stompEscape(name, v), stompEscape(value, v)
		}
		dst = append(dst, name...)
		dst = append(dst, ':')
		dst = append(dst, value...)
		dst = append(dst, '\n')
	}
	if body != "" {
		dst = append(dst, "content-length:"...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, body...)
	return append(dst, 0)
}

func badStomp(format string, args ...any) error {
	return protoErr(KindFrame, "stomp: "+format, args...)
}

// stompDecoder cuts the SockJS messages of one session into frames: a
// message may hold several frames, and a frame may span messages.
type stompDecoder struct {
	// version decides header unescaping; "" (before CONNECTED) unescapes
	// nothing.
	version string
	max     int    // longest frame accepted, in bytes
	pending string // received and not yet decoded
	headers []stompHeader
	// beats counts the EOLs seen between frames (heart-beats).
	beats int64
}

// feed appends a SockJS message to what is to be decoded. The string is
// kept, not copied; only a frame split across messages is joined.
func (d *stompDecoder) feed(m string) {
	if d.pending == "" {
		d.pending = m
	} else {
		d.pending += m
	}
}

// next returns the next complete frame, ok false when more input is
// needed. Any error is a KindFrame ProtocolError.
func (d *stompDecoder) next() (f stompFrame, ok bool, err error) {
	i := 0
	for i < len(d.pending) {
		if d.pending[i] == '\n' {
			i++
			d.beats++
		} else if d.pending[i] == '\r' && i+1 < len(d.pending) && d.pending[i+1] == '\n' {
			i += 2
			d.beats++
		} else {
			break
		}
	}
	d.pending = d.pending[i:]
	if d.pending == "" || d.pending == "\r" {
		return f, false, nil
	}
	f, n, err := d.parse(d.pending)
	if err != nil {
		return f, false, err
	}
	if n == 0 {
		if len(d.pending) > d.max {
			return f, false, badStomp("frame over %d bytes and not finished", d.max)
		}
		return f, false, nil
	}
	d.pending = d.pending[n:]
	return f, true, nil
}

// parse decodes the frame at the start of s and returns its length with
// the NUL, or 0 when s holds only part of it.
func (d *stompDecoder) parse(s string) (f stompFrame, n int, err error) {
	line, pos, ok := stompLine(s, 0)
	if !ok {
		return f, 0, nil
	}
	if !stompCommand(line) {
		return f, 0, badStomp("bad command line %s", quoteShort([]byte(line)))
	}
	f.Command = line
	esc := stompEscapes(d.version, f.Command)
	d.headers = d.headers[:0]
	length := -1
	for {
		if line, pos, ok = stompLine(s, pos); !ok {
			return f, 0, nil
		}
		if line == "" {
			break
		}
		name, value, found := strings.Cut(line, ":")
		if !found || name == "" {
			return f, 0, badStomp("bad header line %s in %s", quoteShort([]byte(line)), f.Command)
		}
		if esc {
			var ok1, ok2 bool
			name, ok1 = stompUnescape(name, d.version)
			value, ok2 = stompUnescape(value, d.version)
			if !ok1 || !ok2 {
				return f, 0, badStomp("bad escape in header %s of %s", quoteShort([]byte(line)), f.Command)
			}
		}
		if name == "content-length" && length < 0 { // the first one counts
			l, err := strconv.ParseUint(value, 10, 31)
			if err != nil {
				return f, 0, badStomp("bad content-length %q in %s", value, f.Command)
			}
			length = int(l)
		}
		d.headers = append(d.headers, stompHeader{name, value})
	}
	f.Headers = d.headers
	if length >= 0 {
		end := pos + length
		if end >= len(s) {
			return f, 0, nil
		}
		if s[end] != 0 {
			return f, 0, badStomp("%s of content-length %d is not followed by NUL", f.Command, length)
		}
		f.Body = s[pos:end]
		return f, end + 1, nil
	}
	end := strings.IndexByte(s[pos:], 0)
	if end < 0 {
		return f, 0, nil
	}
	f.Body = s[pos : pos+end]
	return f, pos + end + 1, nil
}

// stompCommand reports whether line is a command: capital letters.
func stompCommand(line string) bool {
	for i := 0; i < len(line); i++ {
		if line[i] < 'A' || line[i] > 'Z' {
			return false
		}
	}
	return line != ""
}

// stompLine returns the line of s starting at pos without its LF or CR LF,
// and where the next line starts; ok is false when the line has no end
// yet.
func stompLine(s string, pos int) (line string, next int, ok bool) {
	i := strings.IndexByte(s[pos:], '\n')
	if i < 0 {
		return "", 0, false
	}
	line = s[pos : pos+i]
	if strings.HasSuffix(line, "\r") {
		line = line[:len(line)-1]
	}
	return line, pos + i + 1, true
}

// parseStompHeartBeat parses a heart-beat header, "cx,cy" in
// milliseconds.
func parseStompHeartBeat(s string) (x, y uint64, ok bool) {
	a, b, found := strings.Cut(s, ",")
	if !found {
		return 0, 0, false
	}
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	return x, y, err1 == nil && err2 == nil
}
