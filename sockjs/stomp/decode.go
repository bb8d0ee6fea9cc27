package stomp

import (
	"bytes"
	"strconv"
	"strings"
)

// DefaultMaxFrameSize is the largest frame accepted when
// Options.MaxFrameSize is zero: 64 KiB, Spring's limit for incoming STOMP
// messages.
const DefaultMaxFrameSize = 64 << 10

// maxHeaders bounds the header lines of one frame, so that a frame of many
// tiny headers cannot cost far more memory than its size.
const maxHeaders = 256

// Error is a fault in what a client sent or did: a malformed frame, a
// frame too large, a refused destination. The endpoint answers it with an
// ERROR frame whose message header is Message, then closes the session.
// A HandlerFunc or a hook returns an *Error to choose the message the
// client sees; other errors are reported as "Internal server error".
type Error struct {
	Message string
}

func (e *Error) Error() string { return "stomp: " + e.Message }

func frameErr(msg string) error { return &Error{msg} }

var (
	errTooLarge      = frameErr("frame too large")
	errNoColon       = frameErr("malformed frame: header line without a colon")
	errNoName        = frameErr("malformed frame: header with an empty name")
	errNULInHeader   = frameErr("malformed frame: NUL in the command or a header")
	errEscape        = frameErr("malformed frame: undefined escape sequence in a header")
	errTooMany       = frameErr("malformed frame: too many headers")
	errLength        = frameErr("malformed frame: bad content-length")
	errNotTerminated = frameErr("malformed frame: no NUL after content-length bytes of body")
)

// partial describes a frame that has not fully arrived.
type partial struct {
	bodyAt int // where the body starts; 0 while the header block is incomplete
	need   int // the frame's whole length when its content-length is known, else 0
}

// parseFrame parses the frame at the start of s, which must not start with
// an EOL. It returns the frame and its length (up to and including the
// NUL), or, when s holds only the start of a frame, n == 0 and what is
// known of the rest. Headers are unescaped as v says. Frames longer than
// max bytes are refused with errTooLarge, as soon as that is known.
// Header values are substrings of s unless unescaping changed them.
func parseFrame(s string, v version, max int) (f Frame, n int, p partial, err error) {
	line, pos, ok := cutLine(s, 0)
	if !ok {
		if strings.IndexByte(s, 0) >= 0 {
			return Frame{}, 0, p, errNULInHeader
		}
		return Frame{}, 0, p, tooLarge(len(s), max)
	}
	if strings.IndexByte(line, 0) >= 0 {
		return Frame{}, 0, p, errNULInHeader
	}
	f.Command = line
	esc := v.escapes(f.Command)
	length := -1
	for {
		line, next, ok := cutLine(s, pos)
		if !ok {
			if strings.IndexByte(s[pos:], 0) >= 0 {
				return Frame{}, 0, p, errNULInHeader
			}
			return Frame{}, 0, p, tooLarge(len(s), max)
		}
		pos = next
		if line == "" {
			break
		}
		if len(f.Headers) == maxHeaders {
			return Frame{}, 0, p, errTooMany
		}
		h, err := parseHeader(line, v, esc)
		if err != nil {
			return Frame{}, 0, p, err
		}
		if h.Name == "content-length" && length < 0 {
			length, err = parseLength(h.Value)
			if err != nil {
				return Frame{}, 0, p, err
			}
		}
		if f.Headers == nil {
			f.Headers = make([]Header, 0, 8) // one allocation for most frames
		}
		f.Headers = append(f.Headers, h)
	}
	p.bodyAt = pos
	if length >= 0 {
		end := pos + length // where the NUL must be
		if end >= max {
			return Frame{}, 0, p, errTooLarge
		}
		if end >= len(s) {
			p.need = end + 1
			return Frame{}, 0, p, nil
		}
		if s[end] != 0 {
			return Frame{}, 0, p, errNotTerminated
		}
		f.Body = s[pos:end]
		return f, end + 1, p, nil
	}
	nul := strings.IndexByte(s[pos:], 0)
	if nul < 0 {
		return Frame{}, 0, p, tooLarge(len(s), max)
	}
	end := pos + nul
	if end >= max {
		return Frame{}, 0, p, errTooLarge
	}
	f.Body = s[pos:end]
	return f, end + 1, p, nil
}

// tooLarge is the verdict on an incomplete frame that already has n bytes.
func tooLarge(n, max int) error {
	if n > max {
		return errTooLarge
	}
	return nil
}

// cutLine returns the line of s starting at pos, without its EOL (LF or
// CR LF), and where the next line starts; ok is false when the line has no
// EOL yet.
func cutLine(s string, pos int) (line string, next int, ok bool) {
	i := strings.IndexByte(s[pos:], '\n')
	if i < 0 {
		return "", 0, false
	}
	line = s[pos : pos+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, pos + i + 1, true
}

// parseHeader splits a header line at its first colon and, when esc,
// unescapes name and value. STOMP 1.1 and 1.2 ask for colons in values to
// be escaped, but clients (stompjs 2.x) send them raw, so a raw colon in a
// value is taken as it is.
func parseHeader(line string, v version, esc bool) (Header, error) {
	if strings.IndexByte(line, 0) >= 0 {
		return Header{}, errNULInHeader
	}
	colon := strings.IndexByte(line, ':')
	if colon < 0 {
		return Header{}, errNoColon
	}
	if colon == 0 {
		return Header{}, errNoName
	}
	h := Header{line[:colon], line[colon+1:]}
	if esc {
		var ok1, ok2 bool
		h.Name, ok1 = unescape(h.Name, v)
		h.Value, ok2 = unescape(h.Value, v)
		if !ok1 || !ok2 {
			return Header{}, errEscape
		}
	}
	return h, nil
}

// unescape undoes header escaping: \\ \n \c, and \r in 1.2. Any other
// escape is a fatal error, as the spec says.
func unescape(s string, v version) (string, bool) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s) - 1)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
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
			if v != v12 {
				return "", false
			}
			b.WriteByte('\r')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// parseLength reads a content-length: decimal digits only, as the spec's
// octet count (a sign, spaces or an empty value are errors).
func parseLength(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, errLength
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errLength
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errLength
	}
	return n, nil
}

// skipEOLs returns where s stops starting with EOLs (heart-beats between
// frames), and whether it ends in a lone CR that may be the start of one.
func skipEOLs(s string) (i int, cr bool) {
	for i < len(s) {
		switch {
		case s[i] == '\n':
			i++
		case s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n':
			i += 2
		case s[i] == '\r' && i+1 == len(s):
			return i, true
		default:
			return i, false
		}
	}
	return i, false
}

// A decoder reads STOMP frames from a stream of SockJS messages: a frame
// may span several messages and a message may hold several frames, with
// heart-beat EOLs between them. Feed it a message, then call next until it
// reports no frame.
//
// Frames that lie whole in one message are parsed from it without a copy.
// The start of a frame that continues in a later message is kept in buf,
// and reparsed only when the bytes that came can complete it: the header
// block's end, the content-length reached, or a NUL. That bounds the work
// on a frame sent one byte per message to a few passes over it.
type decoder struct {
	max     int     // largest frame, in bytes
	version version // how to unescape headers; set once CONNECTED is sent

	msg string // the rest of the message being read, when buf is empty

	buf     []byte // the start of a frame whose end has not come
	scanned int    // buf[:scanned] holds no end of the header block (while bodyAt == 0), or no NUL
	bodyAt  int    // where buf's body starts, once known
	need    int    // buf's whole length, once known from content-length
}

// keepBuf is the largest buffer a decoder keeps between frames; beyond
// it the buffer is dropped, so an idle session holds little.
const keepBuf = 4 << 10

// feed adds a message from the client.
func (d *decoder) feed(msg string) {
	if d.msg != "" { // not drained: keep order
		d.buf = append(d.buf, d.msg...)
		d.msg = ""
	}
	if len(d.buf) == 0 {
		d.msg = msg
		return
	}
	d.buf = append(d.buf, msg...)
}

// next returns the next whole frame, or ok == false when more messages are
// needed. After an error the decoder must not be used again.
func (d *decoder) next() (f Frame, ok bool, err error) {
	if len(d.buf) > 0 {
		return d.nextBuffered()
	}
	i, cr := skipEOLs(d.msg)
	d.msg = d.msg[i:]
	if d.msg == "" {
		return Frame{}, false, nil
	}
	if cr {
		d.buf = append(d.buf[:0], '\r')
		d.msg = ""
		return Frame{}, false, nil
	}
	f, n, p, err := parseFrame(d.msg, d.version, d.max)
	if err != nil {
		return Frame{}, false, err
	}
	if n > 0 {
		d.msg = d.msg[n:]
		return f, true, nil
	}
	d.buf = append(d.buf[:0], d.msg...)
	d.msg = ""
	d.bodyAt, d.need = p.bodyAt, p.need
	d.scanned = len(d.buf)
	if p.bodyAt == 0 {
		d.scanned = max(len(d.buf)-2, 0)
	}
	return Frame{}, false, nil
}

func (d *decoder) nextBuffered() (Frame, bool, error) {
	if d.bodyAt == 0 && d.scanned == 0 {
		// Only EOLs that began in an earlier message can lead buf.
		i, cr := skipEOLs(string(d.buf[:min(len(d.buf), 2)]))
		if i > 0 || cr {
			d.buf = d.buf[i:]
			if len(d.buf) == 0 || cr && len(d.buf) == 1 {
				return Frame{}, false, nil
			}
			d.feedRest()
			return d.next()
		}
	}
	switch {
	case d.need > 0:
		if len(d.buf) < d.need { // need <= max
			return Frame{}, false, nil
		}
	case d.bodyAt > 0:
		if bytes.IndexByte(d.buf[d.scanned:], 0) < 0 {
			d.scanned = len(d.buf)
			return Frame{}, false, d.sizeCheck()
		}
	default:
		if !headerEnds(d.buf[d.scanned:]) {
			d.scanned = max(len(d.buf)-2, 0)
			return Frame{}, false, d.sizeCheck()
		}
	}
	s := string(d.buf)
	f, n, p, err := parseFrame(s, d.version, d.max)
	if err != nil {
		return Frame{}, false, err
	}
	if n == 0 {
		d.bodyAt, d.need, d.scanned = p.bodyAt, p.need, len(d.buf)
		return Frame{}, false, nil
	}
	d.resetBuf()
	d.msg = s[n:]
	return f, true, nil
}

// sizeCheck refuses an incomplete frame already over the limit.
func (d *decoder) sizeCheck() error { return tooLarge(len(d.buf), d.max) }

// feedRest turns a buf that lost its leading EOLs back into a message.
func (d *decoder) feedRest() {
	rest := string(d.buf)
	d.resetBuf()
	d.msg = rest
}

func (d *decoder) resetBuf() {
	if cap(d.buf) > keepBuf {
		d.buf = nil
	} else {
		d.buf = d.buf[:0]
	}
	d.scanned, d.bodyAt, d.need = 0, 0, 0
}

// headerEnds reports whether b holds the empty line that ends a header
// block, or a NUL (which makes the frame either whole or malformed).
func headerEnds(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 || i+1 >= len(b) {
			return false
		}
		b = b[i+1:]
		if b[0] == '\n' || b[0] == '\r' && len(b) > 1 && b[1] == '\n' {
			return true
		}
	}
}
