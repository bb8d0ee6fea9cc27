package sockjsclient

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// sender posts messages to <session>/xhr_send, or to
// <session>/jsonp_send as a form, on its own keep-alive connection.
type sender struct {
	hc    httpConn
	jsonp bool
	body  []byte
	resp  []byte
}

const (
	xhrSendType   = "text/plain;charset=UTF-8"
	jsonpSendType = "application/x-www-form-urlencoded"
)

// Send posts all msgs in one request, as sockjs-client batches what was
// queued while the previous send was in flight. xhr_send must answer 200
// or 204; jsonp_send 200 "ok".
func (s *sender) Send(msgs []string, deadline time.Time) error {
	s.body = AppendSendBody(s.body[:0], msgs)
	req := request{method: http.MethodPost, suffix: "/xhr_send", contentType: xhrSendType, body: s.body}
	if s.jsonp {
		req.suffix, req.contentType = "/jsonp_send", jsonpSendType
		req.body = []byte("d=" + url.QueryEscape(string(s.body)))
	}
	resp, t, err := s.hc.do(&req, deadline)
	if err != nil {
		return err
	}
	s.resp, err = readAll(resp, s.resp)
	if err != nil {
		return err
	}
	switch {
	case s.jsonp && (resp.StatusCode != http.StatusOK || string(s.resp) != "ok"),
		!s.jsonp && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK:
		return statusErr(&req, t, resp, s.resp)
	}
	return nil
}

// pollKind is a polling receiver: each request answers exactly one frame.
type pollKind struct {
	method, suffix string
	callback       string // prefix of a random callback name; "" for none
	jsonpSend      bool
	// unwrap takes the frame out of a whole response body.
	unwrap func(body []byte, callback string) ([]byte, error)
}

// xhr-polling: POST <session>/xhr answers one frame and '\n'.
var xhrPollingKind = pollKind{
	method: http.MethodPost,
	suffix: "/xhr",
	unwrap: func(b []byte, _ string) ([]byte, error) {
		if len(b) == 0 || b[len(b)-1] != '\n' {
			return nil, badFrame("poll response %s does not end in '\\n'", quoteShort(b))
		}
		return b[:len(b)-1], nil
	},
}

// jsonp-polling: GET <session>/jsonp?c=<callback> answers
// /**/callback("<frame>");\r\n.
var jsonpPollingKind = pollKind{
	method:    http.MethodGet,
	suffix:    "/jsonp",
	callback:  "_jp.a",
	jsonpSend: true,
	unwrap: func(b []byte, cb string) ([]byte, error) {
		head := "/**/" + cb + "("
		if !bytes.HasPrefix(b, []byte(head)) || !bytes.HasSuffix(b, []byte(");\r\n")) {
			return nil, badFrame("jsonp response %s is not %s\"...\");\\r\\n", quoteShort(b), head)
		}
		return decodeLiteral(b[len(head) : len(b)-4])
	},
}

type poller struct {
	sender
	kind  *pollKind
	recv  httpConn
	query string // c=<callback>, or ""
	cb    string
	buf   []byte
}

func dialPoll(s *session, k *pollKind, deadline time.Time) (Conn, error) {
	p := &poller{sender: sender{hc: httpConn{s: s}, jsonp: k.jsonpSend}, kind: k, recv: httpConn{s: s}}
	if k.callback != "" {
		p.cb = k.callback + randomString(6)
		p.query = "c=" + url.QueryEscape(p.cb)
	}
	f, err := p.Recv(deadline)
	if err == nil {
		err = expectOpen(f)
	}
	if err != nil {
		p.Close(CloseDrop)
		return nil, err
	}
	return p, nil
}

func (p *poller) Recv(deadline time.Time) (Frame, error) {
	req := request{method: p.kind.method, suffix: p.kind.suffix, query: p.query}
	resp, t, err := p.recv.do(&req, deadline)
	if err != nil {
		return Frame{}, err
	}
	p.buf, err = readAll(resp, p.buf)
	if err != nil {
		return Frame{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Frame{}, statusErr(&req, t, resp, p.buf)
	}
	frame, err := p.kind.unwrap(p.buf, p.cb)
	if err != nil {
		return Frame{}, err
	}
	return ParseFrame(frame)
}

func (p *poller) Close(mode CloseMode) error {
	p.recv.Close(mode)
	p.hc.Close(mode)
	return nil
}

// streamKind is a streaming receiver: one response carries frames until
// the server ends it, and the client then opens the next.
type streamKind struct {
	method, suffix string
	callback       string // prefix of a random callback name; "" for none
	// prelude reads and checks what the response starts with.
	prelude func(st *stream) error
	// next returns the next frame, or io.EOF if the response ended
	// between frames. The frame is valid until the next call.
	next func(st *stream) ([]byte, error)
}

// xhr-streaming: POST <session>/xhr_streaming answers 2048 'h' bytes and
// '\n', then frames each ending in '\n'.
var xhrStreamingKind = streamKind{
	method:  http.MethodPost,
	suffix:  "/xhr_streaming",
	prelude: xhrStreamingPrelude,
	next:    func(st *stream) ([]byte, error) { return readLine(st.body, &st.line) },
}

// prelude is what every xhr_streaming response starts with.
var prelude = append(bytes.Repeat([]byte{'h'}, 2048), '\n')

func xhrStreamingPrelude(st *stream) error {
	var got [2049]byte
	n, err := io.ReadFull(st.body, got[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return err
	}
	if !bytes.Equal(got[:n], prelude) {
		return badHandshake("xhr_streaming prelude is %s, want 2048 'h' and '\\n'", quoteShort(got[:n]))
	}
	return nil
}

type stream struct {
	sender
	kind   *streamKind
	recv   httpConn
	query  string // c=<callback>, or ""
	cb     string
	body   *bufio.Reader // the current response's body
	closer io.Closer     // and its closer; nil between responses
	line   []byte        // a line longer than the read buffer
	data   []byte        // a frame decoded from its envelope
}

func dialStream(s *session, k *streamKind, deadline time.Time) (Conn, error) {
	st := &stream{sender: sender{hc: httpConn{s: s}}, kind: k, recv: httpConn{s: s}}
	if k.callback != "" {
		st.cb = k.callback + randomString(8)
		st.query = "c=" + url.QueryEscape(st.cb)
	}
	f, err := st.Recv(deadline)
	if err == nil {
		err = expectOpen(f)
	}
	if err != nil {
		st.Close(CloseDrop)
		return nil, err
	}
	return st, nil
}

// open starts a streaming response and checks its prelude.
func (st *stream) open(deadline time.Time) error {
	req := request{method: st.kind.method, suffix: st.kind.suffix, query: st.query}
	resp, t, err := st.recv.do(&req, deadline)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := readAll(resp, nil)
		return statusErr(&req, t, resp, b)
	}
	if st.body == nil {
		st.body = bufio.NewReaderSize(resp.Body, st.recv.s.opts.ReadBufferSize)
	} else {
		st.body.Reset(resp.Body)
	}
	st.closer = resp.Body
	if err := st.kind.prelude(st); err != nil {
		st.endResponse()
		return err
	}
	return nil
}

func (st *stream) endResponse() {
	st.closer.Close()
	st.closer = nil
}

// Recv reads the next frame, opening a new response when the server
// ended the previous one.
func (st *stream) Recv(deadline time.Time) (Frame, error) {
	for {
		if st.closer == nil {
			if err := st.open(deadline); err != nil {
				return Frame{}, st.recv.closedOr(err)
			}
		}
		st.recv.setReadDeadline(deadline)
		frame, err := st.kind.next(st)
		if err == io.EOF {
			// Response limit reached: the session goes on in a new request.
			st.endResponse()
			continue
		}
		if err != nil {
			return Frame{}, st.recv.closedOr(err)
		}
		return ParseFrame(frame)
	}
}

func (st *stream) Close(mode CloseMode) error {
	st.recv.Close(mode)
	st.hc.Close(mode)
	return nil
}

// readLine returns the next line without its '\n', using *buf for lines
// longer than the reader's buffer. A line cut short by the end of the
// body is an error; io.EOF means the body ended between lines.
func readLine(r *bufio.Reader, buf *[]byte) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		*buf = append((*buf)[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = r.ReadSlice('\n')
			*buf = append(*buf, line...)
			if len(*buf) > maxMessage {
				return nil, badFrame("frame over %d bytes", maxMessage)
			}
		}
		if err == nil {
			return (*buf)[:len(*buf)-1], nil
		}
		line = *buf
	}
	if err == io.EOF && len(line) == 0 {
		return nil, io.EOF
	}
	if err == io.EOF {
		return nil, badFrame("response ended inside a frame: %s", quoteShort(line))
	}
	return nil, err
}

// decodeLiteral decodes the JavaScript string literal that htmlfile and
// jsonp wrap a frame in. Servers write it as a JSON string (with HTML
// characters \u-escaped), so it is decoded as strictly as one.
func decodeLiteral(b []byte) ([]byte, error) {
	p := &scanner{b: b}
	s, err := p.str()
	if err == nil && p.i != len(b) {
		err = errors.New("trailing data")
	}
	if err != nil {
		return nil, badFrame("script literal %s: %v", quoteShort(b), err)
	}
	return []byte(s), nil
}
