package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// httpConn is one keep-alive HTTP/1.1 connection used for one purpose
// (receiving, or xhr_send) by one session, as a browser would hold them.
// It is much cheaper than net/http's Transport for a load generator: no
// pool, no per-connection goroutines, the request written with one syscall.
type httpConn struct {
	env *Env
	src netip.Addr // the session's source address

	mu     sync.Mutex // guards c and closed against Close from another goroutine
	c      net.Conn
	closed bool

	br     *bufio.Reader
	wbuf   []byte
	reused bool // c has already carried a complete exchange
}

var postRequest = &http.Request{Method: http.MethodPost}

// errConnClosed is returned when the session was closed by the client.
var errConnClosed = errors.New("closed by client")

// post sends a POST and returns the response with its body unread. The
// caller must read the body to EOF (or call discard) before the next post.
// A request on a reused connection that the server had already closed is
// retried once on a new connection, as browsers do.
func (h *httpConn) post(path, contentType string, body []byte, deadline time.Time) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err, retry := h.try(path, contentType, body, deadline)
		if err == nil {
			return resp, nil
		}
		if !retry || attempt > 0 {
			return nil, err
		}
	}
}

func (h *httpConn) try(path, contentType string, body []byte, deadline time.Time) (resp *http.Response, err error, retry bool) {
	c, err := h.conn(deadline)
	if err != nil {
		return nil, err, false
	}
	reused := h.reused
	_ = c.SetDeadline(deadline)
	b := append(h.wbuf[:0], "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, h.env.Target.Host...)
	if contentType != "" {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, contentType...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	h.wbuf = b
	if _, err := c.Write(b); err != nil {
		h.drop()
		return nil, classify(err), reused
	}
	resp, err = http.ReadResponse(h.br, postRequest)
	if err != nil {
		h.drop()
		// Nothing came back on a reused connection: the server closed it
		// while it was idle.
		retry = reused && (errors.Is(err, io.EOF) || isReset(err))
		return nil, classify(err), retry
	}
	if resp.Close {
		// The server will close after this response; the next request
		// dials again.
		resp.Body = &closeAfter{ReadCloser: resp.Body, h: h}
	}
	return resp, nil, false
}

// conn returns the open connection, dialing a new one if needed.
func (h *httpConn) conn(deadline time.Time) (net.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, classify(errConnClosed)
	}
	if h.c != nil {
		h.reused = true
		return h.c, nil
	}
	ctx := context.Background()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	c, err := h.env.Dialer.Dial(ctx, h.src, h.env.Target.Addr)
	if err != nil {
		return nil, &ProtocolError{Kind: KindDial, Detail: err.Error()}
	}
	h.c = c
	h.reused = false
	if h.br == nil {
		h.br = bufio.NewReaderSize(c, h.env.BufSize)
	} else {
		h.br.Reset(c)
	}
	return c, nil
}

// drop closes the current connection; the next post dials a new one.
func (h *httpConn) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil {
		h.c.Close()
		h.c = nil
	}
}

// readAll reads a response body into buf (reused) and closes it.
func readAll(resp *http.Response, buf []byte) ([]byte, error) {
	defer resp.Body.Close()
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) > wsMaxMessage {
			return buf, protoErr(KindFrame, "response body over %d bytes", wsMaxMessage)
		}
	}
}

// Close closes the connection for good; a blocked post returns.
func (h *httpConn) Close(mode CloseMode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.c == nil {
		return
	}
	if tc, ok := h.c.(*net.TCPConn); ok && mode == CloseReset {
		_ = tc.SetLinger(0)
	}
	h.c.Close()
	h.c = nil
}

// closeAfter drops the connection once a Connection: close response body
// has been read.
type closeAfter struct {
	io.ReadCloser
	h *httpConn
}

func (c *closeAfter) Close() error {
	err := c.ReadCloser.Close()
	c.h.drop()
	return err
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

// setReadDeadline sets the read deadline of the current connection.
func (h *httpConn) setReadDeadline(t time.Time) error {
	h.mu.Lock()
	c := h.c
	h.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.SetReadDeadline(t)
}
