package stomp

import "strconv"

// appendFrame appends f encoded for version v to dst and returns the
// extended buffer. Any content-length among f.Headers is left out: the
// encoder writes the body's length in bytes itself whenever there is a
// body, so that clients read bodies by length.
func appendFrame(dst []byte, v version, f *Frame) []byte {
	esc := v.escapes(f.Command)
	dst = appendCommand(dst, f.Command)
	for _, h := range f.Headers {
		if h.Name == "content-length" {
			continue
		}
		dst = appendHeader(dst, v, esc, h.Name, h.Value)
	}
	return appendBody(dst, f.Body)
}

func appendCommand(dst []byte, cmd string) []byte {
	dst = append(dst, cmd...)
	return append(dst, '\n')
}

// appendHeader appends one header line, escaped when esc.
func appendHeader(dst []byte, v version, esc bool, name, value string) []byte {
	dst = appendEscaped(dst, v, esc, name, true)
	dst = append(dst, ':')
	dst = appendEscaped(dst, v, esc, value, false)
	return append(dst, '\n')
}

// appendBody ends the header block and appends body, its content-length
// first when it is not empty, and the NUL.
func appendBody(dst []byte, body string) []byte {
	if body != "" {
		dst = append(dst, "content-length:"...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, body...)
	return append(dst, 0)
}

// appendEscaped appends s escaped as version v says. Where there is no
// escaping (STOMP 1.0, CONNECTED) or none for a character (CR in 1.1),
// characters that would break the frame become spaces: LF and CR
// anywhere, and the colon in a name; NUL always does.
func appendEscaped(dst []byte, v version, esc bool, s string, name bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch c := s[i]; {
		case c == '\\' && esc:
			rep = `\\`
		case c == '\n':
			rep = " "
			if esc {
				rep = `\n`
			}
		case c == '\r':
			rep = " "
			if esc && v == v12 {
				rep = `\r`
			}
		case c == ':' && esc:
			rep = `\c`
		case c == ':' && name:
			rep = " "
		case c == 0:
			rep = " "
		default:
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, rep...)
		start = i + 1
	}
	return append(dst, s[start:]...)
}
