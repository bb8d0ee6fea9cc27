package transports

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"

	"github.com/sockjsd/sockjsd/session"
)

// An HTTP streaming response (xhr_streaming, eventsource, htmlfile) may
// stay open for hours with nothing to say. Served through net/http, each
// one holds a goroutine with net/http's deep stack, a background reader,
// and 10 KiB of the server's buffers. Where it can, the receiver takes the
// connection over instead (hijack) and serves it like a websocket: a
// goroutine of its own with a shallow stack waits for the client to go
// away, and a pump writes only when there is something to write. The
// response is chunked and ends the connection ("Connection: close"),
// because a hijacked connection cannot go back to net/http.

// canHijack reports whether r's response may be served on the hijacked
// connection: HTTP/1.1 (chunked encoding; HTTP/2 cannot be hijacked) and
// no request body left unread on the connection.
func canHijack(r *http.Request) bool {
	return r.ProtoMajor == 1 && r.ProtoMinor == 1 && (r.Body == nil || r.Body == http.NoBody)
}

// hijackStream is one streaming response on a hijacked connection.
type hijackStream struct {
	t        *receiver
	conn     net.Conn
	s        *session.Session
	callback string
	pump     pump
	beat     atomic.Bool // the heartbeat asks for an "h" frame

	// Owned by the writer (one at a time, see pump) until the pump has
	// stopped, then by serve.
	lease        session.Lease
	heartbeatDue bool
	batch        session.Batch
	deadline     writeDeadline
}

// serveHijacked serves a streaming response on the hijacked connection,
// or reports false, having written nothing, when r's connection cannot be
// hijacked; the caller then serves it through net/http.
func (t *receiver) serveHijacked(w http.ResponseWriter, r *http.Request, s *session.Session, callback string) bool {
	if !canHijack(r) {
		return false
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false // a ResponseWriter without Hijack: net/http serves it
	}
	// Only now that net/http will not send them may the headers change.
	header := appendResponseHead(nil, w.Header(), t.kind)
	// A client may not send anything more on a connection whose response
	// has not begun; if it did (pipelining), it is dropped with the buffer.
	if n := brw.Reader.Buffered(); n > 0 {
		_, _ = brw.Reader.Discard(n)
	}
	c := &hijackStream{t: t, conn: conn, s: s, callback: callback}
	c.pump.flush = c.flush
	c.pump.tick = func() { c.beat.Store(true); c.pump.kick() }

	if t.kind.prelude != nil {
		header = appendChunk(header, t.kind.prelude(nil, callback))
	}
	// The head goes out before Attach: from then on the session may wake
	// the writer at any moment.
	_ = conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
	if _, err := conn.Write(header); err != nil {
		_ = conn.Close()
		return true
	}
	// Attach fills the lease in before a writer can start.
	if s.Attach(r.Context(), &c.lease, t.mode(), attachGrace, c.pump.kick) != nil {
		t.cfg.Observer.ReceiverConflict(t.kind.name)
		b := session.Batch{Kind: session.FrameClose, Code: closecode.AnotherReceiver, Reason: "Another connection still open"}
		out := appendChunk(header[:0], c.appendBody(nil, &b))
		out = append(out, lastChunk...)
		_ = conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		_, _ = conn.Write(out)
		halfClose(c.conn) // the response is complete
		t.cfg.Sessions.Go(func() { awaitClose(conn) })
		return true
	}
	t.cfg.Sessions.Go(c.serve)
	return true
}

// serve waits for the client to go away (or for the writer to end the
// response and close the connection), then stops the writer and lets go
// of the session.
func (c *hijackStream) serve() {
	c.pump.start(c.t.cfg.Heartbeat)
	c.pump.kick()
	awaitClose(c.conn) // a writer still at work then fails fast
	c.pump.stop()
	// If the writer has not ended the lease, the client left mid-response
	// (1002, see session.Lease.Done).
	c.lease.Done(true)
}

// flush writes what the session has, one chunk per frame, until the
// response is over. It reports false once it is: a final frame (the lease
// says which: the close, or the one that reaches the response limit), or
// a failed write.
func (c *hijackStream) flush() bool {
	t := c.t
	var buf *[]byte // borrowed only while there is something to write
	defer func() {
		if buf != nil {
			putScratch(buf)
		}
	}()
	for {
		if c.beat.Swap(false) {
			c.heartbeatDue = true
		}
		b := &c.batch
		if c.lease.Next(b, c.heartbeatDue) != nil {
			return false // the lease has ended: so has the response
		}
		if b.Kind == session.FrameNone {
			return true
		}
		c.heartbeatDue = false
		t.countOut(b)
		if buf == nil {
			buf = getScratch()
		}
		// The chunk is built in place: the body goes after room for its
		// size line, which is filled in once the size is known.
		*buf = append((*buf)[:0], make([]byte, chunkSizeRoom)...)
		*buf = c.appendBody(*buf, b)
		n := len(*buf) - chunkSizeRoom
		*buf = append(*buf, "\r\n"...)
		if b.Final {
			*buf = append(*buf, lastChunk...)
		}
		c.deadline.arm(c.conn, t.cfg.WriteTimeout)
		if _, err := c.conn.Write(fillChunkSize(*buf, n)); err != nil {
			c.lease.Done(true)
			_ = c.conn.Close()
			return false
		}
		if b.Final {
			c.lease.Done(false) // the disconnect delay starts when the response is over
			halfClose(c.conn)   // the response is complete
			return false
		}
	}
}

// halfClose tells the peer we are done (FIN) and gives it a second to
// close its side too, which a read (awaitClose) then sees; where the
// connection cannot be half-closed it is closed. Closing at once with
// bytes unread would make the kernel reset the connection, and a reset can
// destroy at the peer what it has not read yet.
func halfClose(conn net.Conn) {
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		return
	}
	_ = conn.Close()
}

// awaitClose reads (and drops) what the client sends until the connection
// ends, then closes it. The client sends nothing after its request; the
// read only tells when it leaves, or when halfClose's deadline passes.
func awaitClose(conn net.Conn) {
	var discard [16]byte
	for {
		if _, err := conn.Read(discard[:]); err != nil {
			break
		}
	}
	_ = conn.Close()
}

// appendBody appends b's frame in the transport's envelope.
func (c *hijackStream) appendBody(dst []byte, b *session.Batch) []byte {
	frame := getScratch()
	defer putScratch(frame)
	*frame = session.AppendBatch((*frame)[:0], b)
	return c.t.kind.envelope(dst, c.callback, *frame)
}

// appendResponseHead appends the status line and header of a streaming
// response: what the server has set in h (CORS, cookie, caching), the
// transport's content type, no proxy buffering, and chunked encoding on a
// connection that ends with the response.
func appendResponseHead(dst []byte, h http.Header, k *receiverKind) []byte {
	h["Content-Type"] = k.contentType
	h["X-Content-Type-Options"] = nosniffHeader
	h["X-Accel-Buffering"] = noHeader
	h["Date"] = []string{time.Now().UTC().Format(http.TimeFormat)}
	h["Transfer-Encoding"] = chunkedHeader
	h["Connection"] = closeHeader
	bb := bytes.NewBuffer(append(dst, "HTTP/1.1 200 OK\r\n"...))
	_ = h.Write(bb) // sanitises values; a bytes.Buffer never fails
	return append(bb.Bytes(), "\r\n"...)
}

var (
	chunkedHeader = []string{"chunked"}
	closeHeader   = []string{"close"}
)

// lastChunk ends a chunked body.
const lastChunk = "0\r\n\r\n"

// appendChunk appends p as one chunk of a chunked body.
func appendChunk(dst, p []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(p)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, p...)
	return append(dst, "\r\n"...)
}

// chunkSizeRoom is room for the longest chunk size line: 16 hex digits
// and CRLF.
const chunkSizeRoom = 18

// fillChunkSize writes the size line of an n-byte chunk body into the room
// left before it at the start of buf, and returns the chunk from the start
// of that line.
func fillChunkSize(buf []byte, n int) []byte {
	var line [chunkSizeRoom]byte
	l := append(strconv.AppendInt(line[:0], int64(n), 16), "\r\n"...)
	start := chunkSizeRoom - len(l)
	copy(buf[start:], l)
	return buf[start:]
}
