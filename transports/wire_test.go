package transports_test

// The tests' side of the wire, where a test needs to see the bytes: HTTP
// requests whose envelopes are checked to be exactly what each transport
// must write (stricter than a client, which accepts what a browser does),
// websockets through gorilla's client or frame by frame (raw RFC 6455,
// below). Hixie-76 and the parsing of frames are internal/sockjsclient's.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// ---- HTTP ----

// do sends a request and returns the status and whole body.
func (e *env) do(method, u, contentType string, body io.Reader) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// poll makes one polling request (xhr or jsonp) and returns its frame.
func (e *env) poll(id, kind string) (string, error) {
	var status int
	var body string
	var err error
	switch kind {
	case "xhr":
		status, body, err = e.do("POST", e.sessionURL(id, "xhr"), "", nil)
	case "jsonp":
		status, body, err = e.do("GET", e.sessionURL(id, "jsonp")+"?c=cb", "", nil)
	default:
		panic(kind)
	}
	if err != nil {
		return "", err
	}
	if status != 200 {
		return "", fmt.Errorf("%s poll: status %d %q", kind, status, body)
	}
	frame, rest, err := cutEnvelope(kind, body)
	if err == nil && rest != "" {
		err = fmt.Errorf("%s poll: %q after the frame", kind, rest)
	}
	return frame, err
}

func (e *env) mustPoll(t testing.TB, id, kind, want string) {
	t.Helper()
	got, err := e.poll(id, kind)
	if err != nil {
		t.Fatalf("%s poll of %s: %v", kind, id, err)
	}
	if got != want {
		t.Fatalf("%s poll of %s: got %q, want %q", kind, id, got, want)
	}
}

// send posts msgs with xhr_send or jsonp_send.
func (e *env) send(id, kind string, msgs ...string) (int, string, error) {
	payload, _ := json.Marshal(msgs)
	if msgs == nil {
		payload = []byte("[]")
	}
	switch kind {
	case "xhr_send":
		return e.do("POST", e.sessionURL(id, kind), "text/plain", strings.NewReader(string(payload)))
	case "jsonp_send":
		form := url.Values{"d": {string(payload)}}.Encode()
		return e.do("POST", e.sessionURL(id, kind), "application/x-www-form-urlencoded", strings.NewReader(form))
	}
	panic(kind)
}

func (e *env) mustSend(t testing.TB, id string, msgs ...string) {
	t.Helper()
	status, body, err := e.send(id, "xhr_send", msgs...)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("xhr_send to %s: %d %q %v", id, status, body, err)
	}
}

// stream is an open streaming response (xhr_streaming, eventsource,
// htmlfile), read frame by frame.
type stream struct {
	kind    string
	resp    *http.Response
	br      *bufio.Reader
	cancel  context.CancelFunc
	prelude string
	bytes   int // envelope bytes read after the prelude
}

var streamKinds = []string{"xhr_streaming", "eventsource", "htmlfile"}

// openStream starts a streaming request and reads its prelude.
func (e *env) openStream(id, kind string) (*stream, error) {
	query := ""
	if kind == "htmlfile" {
		query = "c=cb"
	}
	return e.openStreamQuery(id, kind, query)
}

func (e *env) openStreamQuery(id, kind, query string) (*stream, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*ioTimeout)
	method, u := "GET", e.sessionURL(id, kind)
	if kind == "xhr_streaming" {
		method = "POST"
	}
	if query != "" {
		u += "?" + query
	}
	req, _ := http.NewRequestWithContext(ctx, method, u, nil)
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%s: status %d %q", kind, resp.StatusCode, b)
	}
	s := &stream{kind: kind, resp: resp, br: bufio.NewReader(resp.Body), cancel: cancel}
	var end string
	switch kind {
	case "xhr_streaming":
		end = "\n"
	case "eventsource":
		end = "\r\n"
	case "htmlfile":
		end = "\r\n\r\n"
	}
	s.prelude, err = s.readUntil(end)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("%s prelude: %v", kind, err)
	}
	return s, nil
}

func (e *env) mustOpenStream(t testing.TB, id, kind string) *stream {
	t.Helper()
	s, err := e.openStream(id, kind)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

func (s *stream) readUntil(end string) (string, error) {
	var b strings.Builder
	for {
		line, err := s.br.ReadString(end[len(end)-1])
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if strings.HasSuffix(b.String(), end) {
			return b.String(), nil
		}
	}
}

// nextRaw reads one whole envelope.
func (s *stream) nextRaw() (string, error) {
	var end string
	switch s.kind {
	case "xhr_streaming":
		end = "\n"
	case "eventsource":
		end = "\r\n\r\n"
	case "htmlfile":
		end = "</script>\r\n"
	}
	raw, err := s.readUntil(end)
	s.bytes += len(raw)
	return raw, err
}

// next reads one frame.
func (s *stream) next() (string, error) {
	raw, err := s.nextRaw()
	if err != nil {
		if raw != "" {
			return "", fmt.Errorf("%s: partial envelope %q: %v", s.kind, raw, err)
		}
		return "", err
	}
	frame, rest, err := cutEnvelope(s.kind, raw)
	if err == nil && rest != "" {
		err = fmt.Errorf("%s: %q after the envelope", s.kind, rest)
	}
	return frame, err
}

func (s *stream) mustNext(t testing.TB, want string) {
	t.Helper()
	got, err := s.next()
	if err != nil {
		t.Fatalf("%s: reading frame (want %q): %v", s.kind, want, err)
	}
	if got != want {
		t.Fatalf("%s: got frame %q, want %q", s.kind, got, want)
	}
}

// mustEnd wants the response to end (EOF) with no more frames.
func (s *stream) mustEnd(t testing.TB) {
	t.Helper()
	raw, err := s.nextRaw()
	if err == nil || !errors.Is(err, io.EOF) || raw != "" {
		t.Fatalf("%s: want the response to end, got %q, %v", s.kind, raw, err)
	}
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// cutEnvelope takes the frame out of the first envelope in raw, checking
// that the envelope is exactly what the transport must write. It returns
// what follows the envelope.
func cutEnvelope(kind, raw string) (frame, rest string, err error) {
	switch kind {
	case "xhr", "xhr_streaming":
		frame, rest, ok := strings.Cut(raw, "\n")
		if !ok {
			return "", "", fmt.Errorf("%s: no newline in %q", kind, raw)
		}
		return frame, rest, nil
	case "eventsource":
		payload, ok := strings.CutPrefix(raw, "data: ")
		if !ok {
			return "", "", fmt.Errorf("eventsource: %q does not start with data: ", raw)
		}
		payload, rest, ok := strings.Cut(payload, "\r\n\r\n")
		if !ok {
			return "", "", fmt.Errorf("eventsource: unterminated event %q", raw)
		}
		frame, err := eventSourceUnescape(payload)
		return frame, rest, err
	case "htmlfile":
		body, ok := strings.CutPrefix(raw, "<script>\np(")
		if !ok {
			return "", "", fmt.Errorf("htmlfile: %q does not start with <script>\\np(", raw)
		}
		lit, rest, ok := strings.Cut(body, ");\n</script>\r\n")
		if !ok {
			return "", "", fmt.Errorf("htmlfile: unterminated script %q", raw)
		}
		frame, err := scriptLiteral(lit)
		return frame, rest, err
	case "jsonp":
		body, ok := strings.CutPrefix(raw, "/**/cb(")
		if !ok {
			return "", "", fmt.Errorf("jsonp: %q does not start with /**/cb(", raw)
		}
		lit, rest, ok := strings.Cut(body, ");\r\n")
		if !ok {
			return "", "", fmt.Errorf("jsonp: unterminated call %q", raw)
		}
		frame, err := scriptLiteral(lit)
		return frame, rest, err
	}
	panic(kind)
}

// eventSourceUnescape undoes the eventsource escaping as sockjs-client's
// decodeURI does, checking that the payload holds no raw line end or NUL
// and that % only starts the escapes the protocol uses.
func eventSourceUnescape(p string) (string, error) {
	if strings.ContainsAny(p, "\r\n\x00") {
		return "", fmt.Errorf("eventsource: raw CR, LF or NUL in %q", p)
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+3 > len(p) {
			return "", fmt.Errorf("eventsource: truncated escape in %q", p)
		}
		switch p[i+1 : i+3] {
		case "25":
			b.WriteByte('%')
		case "0D":
			b.WriteByte('\r')
		case "0A":
			b.WriteByte('\n')
		case "00":
			b.WriteByte(0)
		default:
			return "", fmt.Errorf("eventsource: unexpected escape %q in %q", p[i:i+3], p)
		}
		i += 2
	}
	return b.String(), nil
}

// scriptLiteral checks that lit, placed inside a <script> element, is one
// JavaScript string literal that cannot end the element or the line, and
// returns its value.
func scriptLiteral(lit string) (string, error) {
	if strings.ContainsAny(lit, "<>&\r\n\u2028\u2029") {
		return "", fmt.Errorf("script literal %q holds a character unsafe inside <script>", lit)
	}
	return parseJSString(lit)
}

// parseJSString decodes a double-quoted ECMAScript string literal. It is
// written from the ECMAScript grammar, independently of encoding/json.
func parseJSString(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", fmt.Errorf("not a double-quoted literal: %q", lit)
	}
	body := lit[1 : len(lit)-1]
	var units []uint16
	hex := func(s string) (rune, bool) {
		v, err := strconv.ParseUint(s, 16, 32)
		return rune(v), err == nil
	}
	for i := 0; i < len(body); {
		c := body[i]
		switch c {
		case '"':
			return "", fmt.Errorf("unescaped quote ends the literal early: %q", lit)
		case '\n', '\r':
			return "", fmt.Errorf("line terminator in literal: %q", lit)
		case '\\':
			i++
			if i >= len(body) {
				return "", fmt.Errorf("trailing backslash: %q", lit)
			}
			e := body[i]
			i++
			switch e {
			case 'b':
				units = append(units, '\b')
			case 'f':
				units = append(units, '\f')
			case 'n':
				units = append(units, '\n')
			case 'r':
				units = append(units, '\r')
			case 't':
				units = append(units, '\t')
			case 'v':
				units = append(units, '\v')
			case '0':
				if i < len(body) && body[i] >= '0' && body[i] <= '9' {
					return "", fmt.Errorf("octal escape: %q", lit)
				}
				units = append(units, 0)
			case 'x':
				if i+2 > len(body) {
					return "", fmt.Errorf("short \\x: %q", lit)
				}
				r, ok := hex(body[i : i+2])
				if !ok {
					return "", fmt.Errorf("bad \\x: %q", lit)
				}
				units = append(units, uint16(r))
				i += 2
			case 'u':
				if i < len(body) && body[i] == '{' {
					end := strings.IndexByte(body[i:], '}')
					if end < 0 {
						return "", fmt.Errorf("bad \\u{: %q", lit)
					}
					r, ok := hex(body[i+1 : i+end])
					if !ok || r > utf8.MaxRune {
						return "", fmt.Errorf("bad \\u{: %q", lit)
					}
					units = utf16.AppendRune(units, r)
					i += end + 1
					break
				}
				if i+4 > len(body) {
					return "", fmt.Errorf("short \\u: %q", lit)
				}
				r, ok := hex(body[i : i+4])
				if !ok || strings.ContainsAny(body[i:i+4], "+-") {
					return "", fmt.Errorf("bad \\u: %q", lit)
				}
				units = append(units, uint16(r))
				i += 4
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				return "", fmt.Errorf("octal escape: %q", lit)
			case '\n':
			case '\r':
				if i < len(body) && body[i] == '\n' {
					i++
				}
			default:
				// NonEscapeCharacter: the character itself.
				r, size := utf8.DecodeRuneInString(body[i-1:])
				units = utf16.AppendRune(units, r)
				i += size - 1
			}
		default:
			r, size := utf8.DecodeRuneInString(body[i:])
			if r == utf8.RuneError && size == 1 {
				return "", fmt.Errorf("invalid UTF-8 in literal: %q", lit)
			}
			units = utf16.AppendRune(units, r)
			i += size
		}
	}
	return string(utf16.Decode(units)), nil
}

// decodeMessages returns the messages of an "a" frame, read by the shared
// client's strict frame parser.
func decodeMessages(frame string) ([]string, error) {
	f, err := sockjsclient.ParseFrame([]byte(frame))
	if err != nil {
		return nil, err
	}
	if f.Type != sockjsclient.FrameArray {
		return nil, fmt.Errorf("not a messages frame: %q", frame)
	}
	return f.Messages, nil
}

// ---- sessions through the shared client ----

// dialClient opens session id on transport (a sockjsclient name) with
// the shared client, for tests that need a session's messages and not
// its bytes; it is dropped when the test ends.
func (e *env) dialClient(t testing.TB, transport, id string) sockjsclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, err := sockjsclient.Dial(ctx, transport, e.base, &sockjsclient.Options{SessionID: id})
	if err != nil {
		t.Fatalf("%s session %s: %v", transport, id, err)
	}
	t.Cleanup(func() { _ = c.Close(sockjsclient.CloseDrop) })
	return c
}

// ---- websocket clients ----

func wsURL(u string) string { return "ws" + strings.TrimPrefix(u, "http") }

var dialer = &websocket.Dialer{HandshakeTimeout: ioTimeout}

// dialWS opens an RFC 6455 websocket; it is closed when the test ends.
func (e *env) dialWS(t testing.TB, u string) *websocket.Conn {
	t.Helper()
	c, resp, err := dialer.Dial(wsURL(u), nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("websocket %s: %v (status %d)", u, err, status)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func wsRead(c *websocket.Conn) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	_, b, err := c.ReadMessage()
	return string(b), err
}

func wsMustRead(t testing.TB, c *websocket.Conn, want string) {
	t.Helper()
	got, err := wsRead(c)
	if err != nil {
		t.Fatalf("websocket: want %q, got error %v", want, err)
	}
	if got != want {
		t.Fatalf("websocket: got %q, want %q", got, want)
	}
}

func wsWrite(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("websocket write %q: %v", msg, err)
	}
}

// wsCloseCode reads until the connection ends and returns the close
// code (websocket.CloseAbnormalClosure for an end without close frame),
// and the text messages read before.
func wsCloseCode(c *websocket.Conn) (int, []string) {
	var msgs []string
	for {
		m, err := wsRead(c)
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, msgs
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return -1, msgs
			}
			return websocket.CloseAbnormalClosure, msgs
		}
		msgs = append(msgs, m)
	}
}

// wsClose performs the client side of the closing handshake.
func wsClose(c *websocket.Conn) {
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
	wsCloseCode(c)
	c.Close()
}

// hixie is sockjsclient's hixie-76 websocket with the tests' timeout.
type hixie struct {
	*sockjsclient.Hixie76
	closing bool // the server's closing frame has arrived, not just the end
}

// dialHixie opens a hixie-76 websocket on u (a session's websocket URL);
// it is closed when the test ends.
func (e *env) dialHixie(t testing.TB, u string) *hixie {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, err := sockjsclient.DialHixie76(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(sockjsclient.CloseDrop) })
	return &hixie{Hixie76: c}
}

func (h *hixie) send(msg string) error { return h.Send(msg, time.Now().Add(ioTimeout)) }

// next reads a frame; closed reports the end of the connection: the
// closing frame (h.closing), EOF, or a reset. A timeout is an error.
func (h *hixie) next() (msg string, closed bool, err error) {
	msg, err = h.Recv(time.Now().Add(ioTimeout))
	var ne net.Error
	switch {
	case err == nil:
		return msg, false, nil
	case errors.Is(err, sockjsclient.ErrClosingFrame):
		h.closing = true
		return "", true, nil
	case errors.Is(err, sockjsclient.ErrBadFrame), errors.As(err, &ne) && ne.Timeout():
		return "", false, err
	}
	return "", true, nil
}

func (h *hixie) mustNext(t testing.TB, want string) {
	t.Helper()
	got, closed, err := h.next()
	if err != nil || closed || got != want {
		t.Fatalf("hixie: got %q closed=%v err=%v, want %q", got, closed, err, want)
	}
}

// ---- raw RFC 6455 ----

// dialRawWebsocket opens a websocket by hand, so that the test sees every
// frame the server sends, those after a close included.
func dialRawWebsocket(t *testing.T, rawURL string) (net.Conn, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	return conn, wsHandshake(t, conn, req)
}

// wsHandshake performs the RFC 6455 handshake of req on conn.
func wsHandshake(t *testing.T, conn net.Conn, req *http.Request) *bufio.Reader {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return br
}

// clientFrame is one frame as a client sends it, masked; b0 is the first
// byte: FIN, RSV and the opcode.
func clientFrame(b0 byte, payload string) []byte {
	var f []byte
	switch n := len(payload); {
	case n < 126:
		f = []byte{b0, 0x80 | byte(n)}
	case n <= 0xFFFF:
		f = binary.BigEndian.AppendUint16([]byte{b0, 0x80 | 126}, uint16(n))
	default:
		f = binary.BigEndian.AppendUint64([]byte{b0, 0x80 | 127}, uint64(n))
	}
	f = append(f, clientMask[:]...)
	for i := range len(payload) {
		f = append(f, payload[i]^clientMask[i&3])
	}
	return f
}

// clientMask is every client frame's masking key: not zero, so that a
// server that forgot to unmask reads garbage.
var clientMask = [4]byte{0x5a, 0xc3, 0x17, 0x9e}

// readServerFrame reads one frame as a server sends them (unmasked).
func readServerFrame(br *bufio.Reader) (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return false, 0, nil, err
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return false, 0, nil, fmt.Errorf("server frame with RSV or mask bits: % x", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return false, 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		if _, err := io.ReadFull(br, e[:]); err != nil {
			return false, 0, nil, err
		}
		n = binary.BigEndian.Uint64(e[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return false, 0, nil, err
	}
	return h[0]&0x80 != 0, h[0] & 0x0f, payload, nil
}

// readFrame reads one server frame, for tests that have no use for FIN
// (the server does not fragment).
func readFrame(br *bufio.Reader) (opcode byte, payload []byte, err error) {
	_, opcode, payload, err = readServerFrame(br)
	return opcode, payload, err
}

func readRawFrame(t *testing.T, br *bufio.Reader) (opcode byte, payload []byte) {
	t.Helper()
	op, payload, err := readFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	return op, payload
}

// readUntilClose reads frames until the server's close frame and returns
// the data frames before it (opcode and payload) and the close code.
func readUntilClose(t *testing.T, br *bufio.Reader) (frames []string, code int) {
	t.Helper()
	for {
		op, p, err := readFrame(br)
		if err != nil {
			t.Fatalf("no close frame after %q: %v", frames, err)
		}
		switch op {
		case 8:
			if len(p) < 2 {
				return frames, 1005
			}
			return frames, int(binary.BigEndian.Uint16(p))
		case 9, 10:
			continue
		}
		frames = append(frames, fmt.Sprintf("%d:%s", op, p))
	}
}
