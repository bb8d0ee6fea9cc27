package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

// A streaming receiver (xhr_streaming, eventsource, htmlfile) gets one
// HTTP chunk per frame from its owner, each written as soon as the frame
// is ready. net/http's client hides chunk boundaries: a read takes every
// chunk already buffered, so frames written close together (the prelude
// and a close frame, for a receiver of a closed session) would reach the
// client merged into one chunk. relayStream speaks HTTP/1.1 to the owner
// itself on a connection of its own (streams end their connection
// anyway), reads the chunked body chunk by chunk, and writes and flushes
// each one to the client: the client sees the owner's chunks as if it
// were talking to the owner. (A proxy in front of the nodes may merge
// them again; nothing on the nodes can prevent that.)

// maxRelayChunk bounds one chunk read from an owner; a frame is at most
// what a session may send in one response, far below.
const maxRelayChunk = 64 << 20

// canRelayStream reports whether streams can be relayed chunk by chunk:
// only when node-to-node requests go through an *http.Transport, whose
// dialers and TLS configuration relayStream then uses. With any other
// RoundTripper, streams go through the reverse proxy (frames intact,
// chunks possibly merged).
func (n *Node) canRelayStream() bool {
	_, ok := n.cfg.Transport.(*http.Transport)
	return ok
}

// hopHeaders are the hop-by-hop headers (RFC 9110 section 7.6.1), which
// a relay neither forwards nor relays back.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopHeaders(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = textprotoKey(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

func textprotoKey(s string) string { return http.CanonicalHeaderKey(strings.TrimSpace(s)) }

// relayStream forwards a streaming receiver to its owner and relays the
// answer chunk by chunk. Failures before the answer began go to
// forwardFailed, as the reverse proxy's do.
func (n *Node) relayStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	out := r.Clone(ctx)
	out.RequestURI = ""
	if r.ContentLength == 0 {
		out.Body = nil
	}
	removeHopHeaders(out.Header)
	// As the reverse proxy does before Rewrite: rewrite sets them from
	// the incoming request only.
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
		out.Header.Del(h)
	}
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header.Set("User-Agent", "") // not Go's own
	}
	n.rewrite(&httputil.ProxyRequest{In: r, Out: out})
	out.Close = true // one connection per stream: the owner ends it anyway

	conn, err := n.dialOwner(ctx, out)
	if err != nil {
		n.forwardFailed(w, r, err)
		return
	}
	defer conn.Close()
	// The client going away ends the request to the owner, which then
	// sees its receiver aborted, as if the client had talked to it.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()

	bw := bufio.NewWriter(conn)
	if err := out.Write(bw); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		n.forwardFailed(w, r, err)
		return
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, out)
	if err == nil {
		err = misdirected(resp)
	}
	if err != nil {
		n.forwardFailed(w, r, err)
		return
	}
	removeHopHeaders(resp.Header)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	_ = rc.Flush()

	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		// Not a stream (an error, say): its body as it comes.
		buf := copyBufferPool.Get().(*[]byte)
		defer copyBufferPool.Put(buf)
		for {
			k, err := resp.Body.Read(*buf)
			if k > 0 {
				if _, werr := w.Write((*buf)[:k]); werr != nil {
					return
				}
				_ = rc.Flush()
			}
			if err != nil {
				return
			}
		}
	}
	// ReadResponse has read the head only: the chunked body is what br
	// holds and what follows it on conn.
	bufp := copyBufferPool.Get().(*[]byte)
	defer copyBufferPool.Put(bufp)
	buf := *bufp
	for {
		chunk, err := readChunk(br, buf)
		if errors.Is(err, io.EOF) {
			return // the owner ended the response: so does the relay
		}
		if err != nil {
			if ctx.Err() == nil {
				f := ctx.Value(forwardingKey{}).(*forwarding)
				n.log.Warn("sockjs/cluster: relayed stream broken", "owner", f.owner, "key", f.key, "err", err)
			}
			// As the reverse proxy does: the client's response breaks
			// too, rather than end as if complete.
			panic(http.ErrAbortHandler)
		}
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// dialOwner opens a connection to out.URL's host with the dialers and TLS
// configuration of the Node's *http.Transport.
func (n *Node) dialOwner(ctx context.Context, out *http.Request) (net.Conn, error) {
	tr := n.cfg.Transport.(*http.Transport)
	host := out.URL.Host
	if out.URL.Port() == "" {
		if out.URL.Scheme == "https" {
			host = net.JoinHostPort(out.URL.Hostname(), "443")
		} else {
			host = net.JoinHostPort(out.URL.Hostname(), "80")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // the dial and handshake only
	defer cancel()
	if out.URL.Scheme == "https" && tr.DialTLSContext != nil {
		return tr.DialTLSContext(ctx, "tcp", host)
	}
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", host)
	if err != nil || out.URL.Scheme != "https" {
		return conn, err
	}
	cfg := &tls.Config{}
	if tr.TLSClientConfig != nil {
		cfg = tr.TLSClientConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = out.URL.Hostname()
	}
	cfg.NextProtos = []string{"http/1.1"} // chunks are HTTP/1.1's
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return tc, nil
}

// readChunk reads one chunk of a chunked body into buf (or a larger slice
// when it does not fit) and returns its data; io.EOF after the last chunk
// and its trailer.
func readChunk(br *bufio.Reader, buf []byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return nil, errUnexpectedEOF(err)
	}
	s := strings.TrimRight(string(line), "\r\n")
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i] // chunk extensions
	}
	size, err := strconv.ParseUint(strings.TrimSpace(s), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("sockjs/cluster: bad chunk size line %q", line)
	}
	if size == 0 {
		for { // the trailer section, up to its empty line
			line, err := br.ReadSlice('\n')
			if err != nil {
				return nil, errUnexpectedEOF(err)
			}
			if strings.TrimRight(string(line), "\r\n") == "" {
				return nil, io.EOF
			}
		}
	}
	if size > maxRelayChunk {
		return nil, fmt.Errorf("sockjs/cluster: chunk of %d bytes", size)
	}
	if int(size) > len(buf) {
		buf = make([]byte, size)
	}
	chunk := buf[:size]
	if _, err := io.ReadFull(br, chunk); err != nil {
		return nil, errUnexpectedEOF(err)
	}
	var crlf [2]byte
	if _, err := io.ReadFull(br, crlf[:]); err != nil {
		return nil, errUnexpectedEOF(err)
	}
	if crlf != [2]byte{'\r', '\n'} {
		return nil, errors.New("sockjs/cluster: chunk not followed by CRLF")
	}
	return chunk, nil
}

// errUnexpectedEOF turns the end of the connection in the middle of a
// chunked body into an error other than io.EOF.
func errUnexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
