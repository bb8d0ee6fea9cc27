package protocoltests

// A small HTTP/1.x client on a raw TCP connection. The official suite
// talks to the server this way too: it sends exactly the headers it is
// given, does not normalize paths, lets a test choose HTTP/1.0, and reads
// a streaming response one chunk at a time, so that tests can check how
// the server frames its output. Every read has a deadline.

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

type rawConn struct {
	t    testing.TB
	c    net.Conn
	br   *bufio.Reader
	host string // Host header value
}

// dialRaw connects to the host of rawURL (http or https). The connection
// is closed when the test ends.
func dialRaw(t testing.TB, rawURL string) *rawConn {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("bad URL %q: %v", rawURL, err)
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	d := &net.Dialer{Timeout: ioTimeout}
	var c net.Conn
	switch u.Scheme {
	case "http":
		c, err = d.Dial("tcp", addr)
	case "https":
		c, err = tls.DialWithDialer(d, "tcp", addr, &tls.Config{ServerName: u.Hostname()})
	default:
		t.Fatalf("unsupported scheme in %q", rawURL)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c, br: bufio.NewReaderSize(c, 64<<10), host: u.Host}
}

func (c *rawConn) close() { c.c.Close() }

// write sends raw bytes.
func (c *rawConn) write(b string) {
	c.t.Helper()
	_ = c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c.c, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// sendRequest writes a request. target is a full URL (its path and query
// are sent verbatim) or a bare path. With POST a Content-Length is always
// sent, as the official client does; other methods send one only with a
// body. proto is "1.0" or "1.1".
func (c *rawConn) sendRequest(method, target, proto, body string, h H) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/%s\r\n", method, requestTarget(target), proto)
	hasHost := false
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
		hasHost = hasHost || strings.EqualFold(k, "Host")
	}
	sort.Strings(keys)
	if !hasHost {
		fmt.Fprintf(&b, "Host: %s\r\n", c.host)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\r\n", k, h[k])
	}
	if method == "POST" || body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	c.write(b.String())
}

// requestTarget is the path and query of a full URL, exactly as written
// (no cleaning, no re-escaping); a bare path is returned as is.
func requestTarget(target string) string {
	i := strings.Index(target, "://")
	if i < 0 {
		return target
	}
	rest := target[i+3:]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return rest[j:]
	}
	return "/"
}

func (c *rawConn) deadline(d time.Duration) {
	_ = c.c.SetReadDeadline(time.Now().Add(d))
}

// fail reports a read error, naming timeouts as such.
func (c *rawConn) fail(what string, err error) {
	c.t.Helper()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("%s: no answer within %v", what, ioTimeout)
	}
	c.t.Fatalf("%s: %v", what, err)
}

// readLine reads one line and strips its CR LF.
func (c *rawConn) readLine() string {
	c.t.Helper()
	c.deadline(ioTimeout)
	line, err := c.br.ReadString('\n')
	if err != nil {
		c.fail("read line", err)
	}
	return strings.TrimRight(line, "\r\n")
}

// readN reads exactly n bytes.
func (c *rawConn) readN(n int) string {
	c.t.Helper()
	c.deadline(ioTimeout)
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		c.fail(fmt.Sprintf("read %d bytes", n), err)
	}
	return string(buf)
}

// readSome returns what one read gives (at least one byte), or "" at EOF.
func (c *rawConn) readSome() string {
	c.t.Helper()
	c.deadline(ioTimeout)
	buf := make([]byte, 64<<10)
	n, err := c.br.Read(buf)
	if n > 0 {
		return string(buf[:n])
	}
	if err == io.EOF || isReset(err) {
		return ""
	}
	c.fail("read", err)
	return ""
}

// readAll reads to EOF.
func (c *rawConn) readAll() string {
	c.t.Helper()
	c.deadline(ioTimeout)
	b, err := io.ReadAll(c.br)
	if err != nil && !isReset(err) {
		c.fail("read to EOF", err)
	}
	return string(b)
}

// readChunk reads one chunk of a chunked body; "" is the last chunk.
func (c *rawConn) readChunk() string {
	c.t.Helper()
	line := c.readLine()
	sizeText, _, _ := strings.Cut(line, ";")
	size, err := strconv.ParseUint(strings.TrimSpace(sizeText), 16, 31)
	if err != nil {
		c.t.Fatalf("bad chunk size line %q", line)
	}
	data := c.readN(int(size) + 2)
	if !strings.HasSuffix(data, "\r\n") {
		c.t.Fatalf("chunk of %d bytes not followed by CR LF: %q", size, data)
	}
	return data[:size]
}

// isClosed reports whether the server has closed the connection: a read
// gives EOF (or a reset) within closeTimeout. Data or silence mean no.
func (c *rawConn) isClosed() (bool, string) {
	c.t.Helper()
	c.deadline(closeTimeout)
	buf := make([]byte, 512)
	n, err := c.br.Read(buf)
	switch {
	case n > 0:
		return false, fmt.Sprintf("got %q", buf[:n])
	case err == io.EOF || isReset(err):
		return true, ""
	default:
		return false, err.Error()
	}
}

func (c *rawConn) mustBeClosed(what string) {
	c.t.Helper()
	if ok, why := c.isClosed(); !ok {
		c.t.Fatalf("%s: connection should be closed by the server: %s", what, why)
	}
}

func isReset(err error) bool {
	return err != nil && (errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "connection reset"))
}

// response is a response head, with the body when it was read whole.
type response struct {
	what   string // "POST /echo/000/x/xhr", for messages
	proto  string // "1.0" or "1.1"
	status int
	header http.Header
	body   string
}

var statusLine = regexp.MustCompile(`^HTTP/(\S+) (\d{3})(?: .*)?$`)

// readHead reads a status line and headers.
func (c *rawConn) readHead(what string) *response {
	c.t.Helper()
	line := c.readLine()
	m := statusLine.FindStringSubmatch(line)
	if m == nil {
		c.t.Fatalf("%s: bad status line %q", what, line)
	}
	r := &response{what: what, proto: m[1], header: http.Header{}}
	r.status, _ = strconv.Atoi(m[2])
	for {
		line := c.readLine()
		if line == "" {
			return r
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			c.t.Fatalf("%s: bad header line %q", what, line)
		}
		r.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
}

// request sends a request on c and reads the response head.
func (c *rawConn) request(method, target, proto, body string, h H) *response {
	c.t.Helper()
	c.sendRequest(method, target, proto, body, h)
	return c.readHead(describe(method, target))
}

func describe(method, target string) string {
	if u, err := url.Parse(target); err == nil && u.Path != "" {
		target = u.RequestURI()
	}
	return method + " " + target
}

// connectionClose reports whether the Connection header lists "close".
func connectionClose(h http.Header) bool {
	for _, tok := range strings.Split(strings.ToLower(h.Get("Connection")), ",") {
		if strings.TrimSpace(tok) == "close" {
			return true
		}
	}
	return false
}

// readBody reads a whole body the way the head says it is delimited. A
// response that says nothing about its length is accepted only where it
// cannot have a body.
func (c *rawConn) readBody(method string, r *response) {
	c.t.Helper()
	switch {
	case strings.EqualFold(r.header.Get("Transfer-Encoding"), "chunked"):
		var b strings.Builder
		for {
			chunk := c.readChunk()
			if chunk == "" {
				break
			}
			b.WriteString(chunk)
		}
		r.body = b.String()
	case r.header.Get("Content-Length") != "":
		n, err := strconv.Atoi(r.header.Get("Content-Length"))
		if err != nil || n < 0 {
			c.t.Fatalf("%s: bad Content-Length %q", r.what, r.header.Get("Content-Length"))
		}
		r.body = c.readN(n)
	case connectionClose(r.header):
		r.body = c.readAll()
	case slices.Contains([]int{101, 204, 304}, r.status) || (r.status == 200 && method == "OPTIONS"):
		r.body = ""
	default:
		c.t.Fatalf("%s: status %d with neither Transfer-Encoding: chunked, Content-Length nor Connection: close (headers %v)",
			r.what, r.status, r.header)
	}
}

// do makes one request on a fresh HTTP/1.1 connection and reads the whole
// response.
func do(t testing.TB, method, target, body string, h H) *response {
	t.Helper()
	c := dialRaw(t, target)
	defer c.close()
	r := c.request(method, target, "1.1", body, h)
	c.readBody(method, r)
	return r
}

func get(t testing.TB, target string, h H) *response {
	t.Helper()
	return do(t, "GET", target, "", h)
}

func post(t testing.TB, target, body string, h H) *response {
	t.Helper()
	return do(t, "POST", target, body, h)
}

// stream is a response whose body is read piece by piece.
type stream struct {
	*response
	c         *rawConn
	mode      string // "chunked", "length" or "close"
	remaining int
	done      bool
}

// open makes a request on a fresh connection, reads the head and leaves
// the body to stream.read. Like the official asynchronous client it
// accepts chunked, Content-Length and close-delimited bodies (and 101).
func open(t testing.TB, method, target, body string, h H) *stream {
	t.Helper()
	c := dialRaw(t, target)
	r := c.request(method, target, "1.1", body, h)
	return newStream(t, c, r)
}

func newStream(t testing.TB, c *rawConn, r *response) *stream {
	t.Helper()
	s := &stream{response: r, c: c}
	switch {
	case strings.EqualFold(r.header.Get("Transfer-Encoding"), "chunked"):
		s.mode = "chunked"
	case r.header.Get("Content-Length") != "":
		s.mode = "length"
		s.remaining, _ = strconv.Atoi(r.header.Get("Content-Length"))
	case connectionClose(r.header) || r.status == 101:
		s.mode = "close"
	default:
		t.Fatalf("%s: status %d with neither Transfer-Encoding: chunked, Content-Length nor Connection: close (headers %v)",
			r.what, r.status, r.header)
	}
	return s
}

// read returns the next piece of the body: one chunk of a chunked body,
// what one read gives otherwise. It returns "" once the body is over.
func (s *stream) read() string {
	s.c.t.Helper()
	if s.done {
		return ""
	}
	var p string
	switch s.mode {
	case "chunked":
		p = s.c.readChunk()
	case "length":
		if s.remaining > 0 {
			p = s.c.readN(s.remaining)
			s.remaining = 0
		}
	default:
		p = s.c.readSome()
	}
	if p == "" {
		s.done = true
	}
	return p
}

// close drops the connection, as a client aborting the request does.
func (s *stream) close() { s.c.close() }
