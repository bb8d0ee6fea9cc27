package sockjsclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// httpConn is the keep-alive HTTP/1.1 connection a session uses for one
// purpose (receiving, or sending), as a browser would hold it; with a
// BaseURL chooser, one such connection per server. It is much cheaper
// than net/http's Transport for a load generator: no pool, no goroutines,
// each request written with one syscall.
type httpConn struct {
	s *session

	mu     sync.Mutex // guards c, cur, idle and closed against Close from another goroutine
	c      net.Conn   // the connection of the request under way or last made
	cur    *target
	idle   []idleConn // kept-alive connections to other servers
	closed bool

	br     *bufio.Reader
	wbuf   []byte
	reused bool // c has already carried a complete exchange
}

type idleConn struct {
	t *target
	c net.Conn
}

// maxIdle bounds the kept-alive connections to other servers.
const maxIdle = 16

var (
	postRequest = &http.Request{Method: http.MethodPost}
	getRequest  = &http.Request{Method: http.MethodGet}
)

// request is one HTTP request: method, suffix after the session's path
// ("/xhr_send"), optional query (without '?'), and for POST the body.
type request struct {
	method      string
	suffix      string
	query       string
	contentType string
	body        []byte
}

// describe names the request in error messages.
func (r *request) describe(t *target) string {
	s := r.method + " " + t.prefix + r.suffix
	if r.query != "" {
		s += "?" + r.query
	}
	return s
}

// do sends a request and returns the response with its body unread and
// the target it went to. The caller reads the body to EOF and closes it
// before the next request. A request on a reused connection that the
// server had already closed is retried once on a new connection, as
// browsers do.
func (h *httpConn) do(req *request, deadline time.Time) (*http.Response, *target, error) {
	t, err := h.s.pick()
	if err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		resp, retry, err := h.try(t, req, deadline)
		if err == nil {
			return resp, t, nil
		}
		if !retry || attempt > 0 {
			return nil, t, err
		}
	}
}

func (h *httpConn) try(t *target, req *request, deadline time.Time) (resp *http.Response, retry bool, err error) {
	c, err := h.conn(t, deadline)
	if err != nil {
		return nil, false, err
	}
	reused := h.reused
	_ = c.SetDeadline(deadline)
	b := append(h.wbuf[:0], req.method...)
	b = append(b, ' ')
	b = append(b, t.prefix...)
	b = append(b, req.suffix...)
	if req.query != "" {
		b = append(b, '?')
		b = append(b, req.query...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\n"...)
	if len(h.s.opts.Header) > 0 || h.s.opts.Jar != nil {
		b = h.s.appendHeaders(b, t, req.suffix)
	}
	if req.contentType != "" {
		b = append(b, "Content-Type: "...)
		b = append(b, req.contentType...)
		b = append(b, "\r\n"...)
	}
	if req.method == http.MethodPost {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(req.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, req.body...)
	h.wbuf = b
	if _, err := c.Write(b); err != nil {
		h.drop()
		return nil, reused, h.closedOr(err)
	}
	proto := postRequest
	if req.method == http.MethodGet {
		proto = getRequest
	}
	resp, err = http.ReadResponse(h.br, proto)
	if err != nil {
		h.drop()
		// Nothing came back on a reused connection: the server closed it
		// while it was idle.
		retry = reused && (errors.Is(err, io.EOF) || isReset(err))
		return nil, retry, h.closedOr(err)
	}
	h.s.storeCookies(t, req.suffix, resp)
	if resp.Close {
		// The server closes after this response; the next request dials.
		resp.Body = &closeAfter{ReadCloser: resp.Body, h: h}
	}
	return resp, false, nil
}

// conn returns a connection to t: the current one, a kept-alive one, or
// a new one.
func (h *httpConn) conn(t *target, deadline time.Time) (net.Conn, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if h.c != nil && h.cur == t {
		h.reused = true
		c := h.c
		h.mu.Unlock()
		return c, nil
	}
	if h.c != nil {
		// Keep the connection to the previous server, unless it holds
		// bytes nobody asked for.
		if h.br.Buffered() == 0 && len(h.idle) < maxIdle {
			h.idle = append(h.idle, idleConn{h.cur, h.c})
		} else {
			h.c.Close()
		}
		h.c, h.cur = nil, nil
	}
	for i, ic := range h.idle {
		if ic.t == t {
			h.idle = append(h.idle[:i], h.idle[i+1:]...)
			h.c, h.cur, h.reused = ic.c, t, true
			h.br.Reset(ic.c)
			h.mu.Unlock()
			return ic.c, nil
		}
	}
	h.mu.Unlock()

	// Dial without the lock, so that Close is not held up.
	ctx := context.Background()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	c, err := h.s.dial(ctx, t)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.Close()
		return nil, ErrClosed
	}
	h.c, h.cur, h.reused = c, t, false
	if h.br == nil {
		h.br = bufio.NewReaderSize(c, h.s.opts.ReadBufferSize)
	} else {
		h.br.Reset(c)
	}
	return c, nil
}

// drop closes the current connection; the next request dials anew.
func (h *httpConn) drop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.c != nil {
		h.c.Close()
		h.c, h.cur = nil, nil
	}
}

// closedOr returns ErrClosed if the connection was closed by Close, err
// otherwise.
func (h *httpConn) closedOr(err error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	return err
}

// Close closes every connection for good; a blocked request returns.
func (h *httpConn) Close(mode CloseMode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, ic := range h.idle {
		closeConn(ic.c, mode)
	}
	h.idle = nil
	if h.c != nil {
		closeConn(h.c, mode)
		h.c, h.cur = nil, nil
	}
}

// closeConn closes c, with a RST for CloseReset.
func closeConn(c net.Conn, mode CloseMode) error {
	if mode == CloseReset {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	return c.Close()
}

// setReadDeadline sets the read deadline of the current connection.
func (h *httpConn) setReadDeadline(t time.Time) {
	h.mu.Lock()
	c := h.c
	h.mu.Unlock()
	if c != nil {
		_ = c.SetReadDeadline(t)
	}
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
		if len(buf) > maxMessage {
			return buf, badFrame("response body over %d bytes", maxMessage)
		}
	}
}

// statusErr describes a response with the wrong status.
func statusErr(req *request, t *target, resp *http.Response, body []byte) error {
	return &StatusError{Request: req.describe(t), StatusCode: resp.StatusCode, Body: quoteShort(body)}
}
