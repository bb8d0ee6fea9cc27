package sockjsclient

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"
)

// eventsource: GET <session>/eventsource answers Server-Sent Events, one
// frame in the data of each. sockjs-client hands the data to decodeURI,
// so the server percent-encodes what must not appear raw (%, CR, LF, NUL)
// and the client decodes as decodeURI does.
var eventSourceKind = streamKind{
	method:  http.MethodGet,
	suffix:  "/eventsource",
	prelude: func(*stream) error { return nil }, // the blank line old Opera needs is an empty event
	next:    nextEvent,
}

// nextEvent reads lines up to the blank line that ends an event with data
// (RFC: the text/event-stream format), and returns the decoded data.
// Comments and fields other than data are skipped, as a browser does.
func nextEvent(st *stream) ([]byte, error) {
	st.data = st.data[:0]
	hasData := false
	for {
		line, err := readLine(st.body, &st.line)
		if err == io.EOF && hasData {
			return nil, badFrame("eventsource response ended inside an event")
		}
		if err != nil {
			return nil, err
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		switch {
		case len(line) == 0:
			if hasData {
				return decodeURI(st.data)
			}
		case line[0] == ':':
		case bytes.HasPrefix(line, []byte("data")):
			v := line[4:]
			if len(v) > 0 && v[0] != ':' {
				continue // a field named data-something
			}
			if len(v) > 0 {
				v = bytes.TrimPrefix(v[1:], []byte{' '})
			}
			if hasData {
				st.data = append(st.data, '\n')
			}
			st.data = append(st.data, v...)
			hasData = true
		}
	}
}

// uriReserved is what decodeURI leaves encoded: reservedURISet and '#'.
const uriReserved = ";/?:@&=+$,#"

var errURI = errors.New("URIError: malformed URI sequence")

// decodeURI decodes b as ECMAScript's decodeURI does: %XX sequences that
// spell UTF-8 become characters, except those of uriReserved, which stay
// as written; a malformed sequence is an error (sockjs-client would throw).
// Without a '%' it returns b itself.
func decodeURI(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '%')
	if i < 0 {
		return b, nil
	}
	out := append([]byte(nil), b[:i]...)
	for i < len(b) {
		if b[i] != '%' {
			out = append(out, b[i])
			i++
			continue
		}
		c, ok := hexByte(b, i)
		if !ok {
			return nil, badFrame("eventsource data %s: %v", quoteShort(b), errURI)
		}
		if c < utf8.RuneSelf {
			if bytesContain(uriReserved, c) {
				out = append(out, b[i:i+3]...)
			} else {
				out = append(out, c)
			}
			i += 3
			continue
		}
		n := 0
		switch {
		case c&0xE0 == 0xC0:
			n = 2
		case c&0xF0 == 0xE0:
			n = 3
		case c&0xF8 == 0xF0:
			n = 4
		default:
			return nil, badFrame("eventsource data %s: %v", quoteShort(b), errURI)
		}
		seq := []byte{c}
		for k := 1; k < n; k++ {
			cc, ok := hexByte(b, i+3*k)
			if !ok || cc&0xC0 != 0x80 {
				return nil, badFrame("eventsource data %s: %v", quoteShort(b), errURI)
			}
			seq = append(seq, cc)
		}
		if r, size := utf8.DecodeRune(seq); r == utf8.RuneError || size != n {
			return nil, badFrame("eventsource data %s: %v", quoteShort(b), errURI) // overlong, surrogate or out of range
		}
		out = append(out, seq...)
		i += 3 * n
	}
	return out, nil
}

// hexByte decodes the %XX at b[i:].
func hexByte(b []byte, i int) (byte, bool) {
	if i+2 >= len(b) || b[i] != '%' {
		return 0, false
	}
	hi, ok1 := unhex(b[i+1])
	lo, ok2 := unhex(b[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func bytesContain(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
