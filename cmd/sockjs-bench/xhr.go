package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// xhrSender posts messages to <session>/xhr_send on its own keep-alive
// connection, shared by the streaming and polling clients.
type xhrSender struct {
	path string
	hc   httpConn
	body []byte
	resp []byte
}

const sendContentType = "text/plain;charset=UTF-8"

// Send posts all msgs in one request, as sockjs-client batches what was
// queued while the previous send was in flight. 200 and 204 are accepted.
func (s *xhrSender) Send(msgs []string, deadline time.Time) error {
	s.body = appendSendBody(s.body[:0], msgs)
	resp, err := s.hc.post(s.path, sendContentType, s.body, deadline)
	if err != nil {
		return err
	}
	s.resp, err = readAll(resp, s.resp)
	if err != nil {
		return classify(err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return protoErr(KindStatus, "POST %s: %s %s", s.path, resp.Status, quoteShort(s.resp))
	}
	return nil
}

// xhrStreaming is the xhr-streaming client: POST <session>/xhr_streaming
// answers 2048 'h' bytes and '\n', then frames each ending in '\n'. When
// the server ends the response (its response limit), the client opens a
// new one on the same session.
type xhrStreaming struct {
	xhrSender
	recvPath string
	recv     httpConn
	body     *bufio.Reader // current response body
	closer   io.Closer
	line     []byte
}

func dialXHRStreaming(ctx context.Context, env *Env, sessionPath string) (Conn, error) {
	src := env.Dialer.Pick()
	x := &xhrStreaming{
		xhrSender: xhrSender{path: sessionPath + "/xhr_send", hc: httpConn{env: env, src: src}},
		recvPath:  sessionPath + "/xhr_streaming",
		recv:      httpConn{env: env, src: src},
	}
	dl, _ := ctx.Deadline()
	if err := x.open(dl); err != nil {
		x.Close(CloseDrop)
		return nil, err
	}
	f, err := x.Recv(dl)
	if err == nil {
		err = expectOpen(f)
	}
	if err != nil {
		x.Close(CloseDrop)
		return nil, err
	}
	return x, nil
}

// prelude is what every xhr_streaming response starts with.
var prelude = append(bytes.Repeat([]byte{'h'}, 2048), '\n')

// open starts a streaming response and checks its prelude.
func (x *xhrStreaming) open(deadline time.Time) error {
	resp, err := x.recv.post(x.recvPath, "", nil, deadline)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := readAll(resp, nil)
		return protoErr(KindStatus, "POST %s: %s %s", x.recvPath, resp.Status, quoteShort(b))
	}
	if x.body == nil {
		x.body = bufio.NewReaderSize(resp.Body, x.recv.env.BufSize)
	} else {
		x.body.Reset(resp.Body)
	}
	x.closer = resp.Body
	var got [2049]byte
	n, err := io.ReadFull(x.body, got[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return classify(err)
	}
	if !bytes.Equal(got[:n], prelude) {
		return protoErr(KindHandshake, "POST %s: prelude is %s, want 2048 'h' and '\\n'", x.recvPath, quoteShort(got[:n]))
	}
	return nil
}

// Recv reads the next '\n'-terminated frame, reopening the stream when
// the server ended the previous response.
func (x *xhrStreaming) Recv(deadline time.Time) (Frame, error) {
	for {
		if x.closer == nil {
			if err := x.open(deadline); err != nil {
				return Frame{}, err
			}
		}
		_ = x.recv.setReadDeadline(deadline)
		line, err := readLine(x.body, &x.line)
		if err == io.EOF {
			// Response limit reached: the session goes on in a new request.
			x.closer.Close()
			x.closer = nil
			continue
		}
		if err != nil {
			return Frame{}, err
		}
		return ParseFrame(line)
	}
}

func (x *xhrStreaming) Close(mode CloseMode) error {
	x.recv.Close(mode)
	x.hc.Close(mode)
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
			if len(*buf) > wsMaxMessage {
				return nil, protoErr(KindFrame, "frame over %d bytes", wsMaxMessage)
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
		return nil, protoErr(KindFrame, "response ended inside a frame: %s", quoteShort(line))
	}
	return nil, classify(err)
}

// xhrPolling is the xhr-polling client: every POST <session>/xhr answers
// exactly one frame and '\n'.
type xhrPolling struct {
	xhrSender
	recvPath string
	recv     httpConn
	buf      []byte
}

func dialXHRPolling(ctx context.Context, env *Env, sessionPath string) (Conn, error) {
	src := env.Dialer.Pick()
	x := &xhrPolling{
		xhrSender: xhrSender{path: sessionPath + "/xhr_send", hc: httpConn{env: env, src: src}},
		recvPath:  sessionPath + "/xhr",
		recv:      httpConn{env: env, src: src},
	}
	dl, _ := ctx.Deadline()
	f, err := x.Recv(dl)
	if err == nil {
		err = expectOpen(f)
	}
	if err != nil {
		x.Close(CloseDrop)
		return nil, err
	}
	return x, nil
}

func (x *xhrPolling) Recv(deadline time.Time) (Frame, error) {
	resp, err := x.recv.post(x.recvPath, "", nil, deadline)
	if err != nil {
		return Frame{}, err
	}
	x.buf, err = readAll(resp, x.buf)
	if err != nil {
		return Frame{}, classify(err)
	}
	if resp.StatusCode != http.StatusOK {
		return Frame{}, protoErr(KindStatus, "POST %s: %s %s", x.recvPath, resp.Status, quoteShort(x.buf))
	}
	b := x.buf
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return Frame{}, protoErr(KindFrame, "poll response %s does not end in '\\n'", quoteShort(b))
	}
	return ParseFrame(b[:len(b)-1])
}

func (x *xhrPolling) Close(mode CloseMode) error {
	x.recv.Close(mode)
	x.hc.Close(mode)
	return nil
}
