package transports

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/internal/closecode"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/session"
)

// wsConn is the part of a websocket connection the stream uses; RFC 6455
// (rfc6455.go) and hixie-76 each implement it. The writing methods other
// than WriteClose are called by the stream's writer only, one at a time;
// WriteClose, SetReadDeadline and Close may be called from any goroutine
// (each write is one Write call of a whole frame, and the closeGuard under
// the conn serialises them).
type wsConn interface {
	// ReadMessage returns the next data message, valid until the next
	// call. A *wsReadEnd error is the peer's close frame or input to
	// answer with a close frame; any other error ends the connection.
	ReadMessage() ([]byte, error)
	// WriteText sends buf[wsHeadroom:] as one text message. The headroom
	// is where the frame header goes, so the message is never copied;
	// the conn may also append to buf.
	WriteText(buf []byte) error
	// WritePing sends a ping, and WritePong a pong, if the protocol has them.
	WritePing() error
	WritePong(data []byte) error
	// SetWriteDeadline applies to the writes above.
	SetWriteDeadline(t time.Time) error
	WriteClose(code int, reason string, deadline time.Time) error
	SetReadDeadline(t time.Time) error
	// netConn is the connection under the frames (its close guard).
	netConn() net.Conn
	// OnActivity registers f to run whenever the peer shows it is alive
	// without sending a message (a pong); OnPing, f to run on a ping,
	// which the writer is then to answer.
	OnActivity(f func())
	OnPing(f func(data []byte))
	Close() error
}

// wsHeadroom is the room a message needs before it for the longest
// websocket frame header (2 bytes, and 8 of length).
const wsHeadroom = 10

// websocketTransport serves the framed websocket transport
// (<session URL>/websocket) and, when raw is set, <prefix>/websocket, which
// carries the messages themselves with no SockJS framing.
type websocketTransport struct {
	cfg      *Config
	raw      bool
	once     sync.Once
	upgrader websocket.Upgrader
}

func (t *websocketTransport) Allow() string { return "GET" }

func (t *websocketTransport) name() string {
	if t.raw {
		return "rawwebsocket"
	}
	return "websocket"
}

// writeBuffers is gorilla's write buffer pool, which it never uses here:
// it only writes the handshake, then rfc6455.go takes over. Setting a pool
// keeps gorilla from adopting net/http's 4 KiB write buffer.
var writeBuffers sync.Pool

func (t *websocketTransport) Serve(w http.ResponseWriter, r *http.Request, sessionID string) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		plainError(w, `Can "Upgrade" only to "WebSocket".`, http.StatusBadRequest)
		return
	}
	if !headerHasToken(r.Header, "Connection", "upgrade") {
		plainError(w, `"Connection" must be "Upgrade".`, http.StatusBadRequest)
		return
	}
	var conn wsConn
	if !t.raw && r.Header.Get("Sec-WebSocket-Version") == "" && r.Header.Get("Sec-WebSocket-Key1") != "" {
		c, err := upgradeHixie76(w, r, t.cfg.MaxMessageSize, t.cfg.WriteTimeout)
		if err != nil {
			return
		}
		conn = c
	} else {
		t.once.Do(func() {
			t.upgrader = websocket.Upgrader{
				// No ReadBufferSize: gorilla then reuses net/http's reader
				// rather than allocate one, and it never reads anyway.
				HandshakeTimeout: t.cfg.WriteTimeout,
				WriteBufferPool:  &writeBuffers,
				CheckOrigin:      t.cfg.CheckOrigin,
			}
		})
		c, err := t.upgrader.Upgrade(guardedHijacker{w, !t.raw}, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		// Only the network connection is kept: frames are ours from here on.
		conn = newRFC6455Conn(c.NetConn(), t.cfg.MaxMessageSize, t.cfg.WriteTimeout)
	}
	s, err := t.cfg.Sessions.OpenWebsocket(r, sessionID, t.name())
	if err != nil {
		t.cfg.refuse(r, refusalReason(err), err)
		_ = conn.WriteClose(closecode.TryAgainLater, "No new sessions accepted", time.Now().Add(t.cfg.WriteTimeout))
		_ = conn.Close()
		return
	}
	// The connection is ours now: serve it from a fresh goroutine and let
	// this handler return, so that net/http's goroutine, with its deep
	// stack, the request and the server's buffers, is freed. An idle
	// websocket then holds only what it needs.
	c := t.newStream(conn, s)
	c.path, c.remote = r.URL.Path, r.RemoteAddr
	t.cfg.Sessions.Go(c.serve)
}

// newStream makes conn the receiver of s for the connection's whole life.
func (t *websocketTransport) newStream(conn wsConn, s *session.Session) *wsStream {
	c := &wsStream{t: t, conn: conn, s: s}
	c.heard.Store(true) // the handshake was a sign of life: the first tick pings before judging
	c.pump.flush = c.flush
	c.pump.tick = c.tick
	_, c.noPing = conn.(*hixieConn)
	_ = s.Attach(context.Background(), 0, c.pump.kick) // never refused: nobody else knows s yet
	return c
}

// wsStream is one websocket connection serving one session. Its goroutine
// (serve) reads; writes happen on the pump's writer, which exists only
// while there is something to write.
type wsStream struct {
	t      *websocketTransport
	conn   wsConn
	s      *session.Session
	path   string // what logs need of the opening request
	remote string
	noPing bool // hixie-76: no ping, so no liveness check either
	pump   pump

	// heard is set whenever the peer shows it is alive (a message or a
	// pong); the heartbeat takes it. missed counts heartbeats in a row
	// without it, and is only touched by the heartbeat.
	heard  atomic.Bool
	missed int
	beat   atomic.Bool            // the heartbeat asks the writer to ping (and send "h")
	pong   atomic.Pointer[[]byte] // a ping's payload, for the writer to answer

	// Owned by the writer (one at a time, see pump).
	batch        session.Batch
	heartbeatDue bool
	deadline     writeDeadline
}

// serve reads until the connection or the session ends, then closes the
// session and waits for the writer. What happens before and after the
// reading is in functions of their own, off the idle reader's stack.
func (c *wsStream) serve() {
	c.open()
	c.end(c.readLoop())
	c.t.cfg.Sessions.End(c.s)
	_ = c.conn.Close()
}

func (c *wsStream) open() {
	c.pump.start(c.t.cfg.Heartbeat)
	c.pump.kick() // the open frame, and whatever the application sent already
	c.conn.OnActivity(func() { c.heard.Store(true) })
	c.conn.OnPing(func(data []byte) {
		c.heard.Store(true)
		c.pong.Store(&data)
		c.pump.kick()
	})
}

// end closes the session and the connection once reading is over.
func (c *wsStream) end(code int, reason string, why readEnd) {
	conn := c.conn
	switch why {
	case peerGone:
		_ = conn.Close() // nothing more can be written: let a writer fail fast
		c.pump.stop()    // and start none for the close below
	case badInput:
		// The client broke the protocol: it gets a websocket close frame
		// with the reason and the connection ends, with no SockJS frame
		// after its bad message: once the close frame has passed the
		// connection's close guard, the writer can write nothing more.
		_ = conn.WriteClose(code, reason, time.Now().Add(c.t.cfg.WriteTimeout))
		lingerClose(conn.netConn())
		c.pump.stop()
	}
	_ = c.s.Close(code, reason) // no-op if the session closed first
	// The session is closed, by us or earlier: a writer sends what is left
	// and the close frame (unless the connection is gone, then the pump
	// stopped above). Kicked here because the close's own wake-up may
	// come after the reader has already seen the session end.
	c.pump.kick()
	c.pump.stop()
	if why == sessionEnded {
		// The reader left before the client could answer the close frame.
		lingerClose(conn.netConn())
	}
}

// lingerClose closes a connection on which the server has sent its close
// frame while the client may still be sending (its answer to the close,
// more frames): our side is shut first, and what the client still sends is
// read and dropped until it closes too, for a second at most (see
// halfClose for why not at once).
func lingerClose(nc net.Conn) {
	under := nc
	if g, ok := nc.(*closeGuard); ok {
		under = g.Conn
	}
	halfClose(under)
	awaitClose(under)
}

// readEnd says why a websocket's read loop ended.
type readEnd uint8

const (
	sessionEnded readEnd = iota // the session closed; the writer sends the close
	peerGone                    // the connection is closed or dead
	badInput                    // the client sent what the protocol does not allow
)

// readLoop delivers incoming messages until the connection or the session
// ends, and says how: the close code and reason, and why. The work on a
// message is in deliver: this loop's frame is on the stack of every idle
// connection's reader, which then fits the smallest stack Go starts with.
func (c *wsStream) readLoop() (code int, reason string, end readEnd) {
	for {
		data, err := c.conn.ReadMessage()
		if err != nil {
			return readErrorEnd(err)
		}
		if code, reason, end, ok := c.deliver(data); !ok {
			return code, reason, end
		}
	}
}

// logBadPayload is not inlined: the request it builds would sit in
// deliver's stack frame, which is on the reader's stack for every message.
//
//go:noinline
func (c *wsStream) logBadPayload(err error) {
	// The request is rebuilt for the log rather than kept: the connection may live for days.
	c.t.cfg.refuse(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: c.path}, RemoteAddr: c.remote}, "bad_payload", err)
}

func readErrorEnd(err error) (code int, reason string, end readEnd) {
	var e *wsReadEnd
	switch {
	case !errors.As(err, &e):
		return closecode.Interrupted, "Connection interrupted", peerGone
	case e.bad:
		return e.code, e.reason, badInput
	}
	return e.code, e.reason, peerGone // the peer's close frame, answered
}

// deliver hands one websocket message's SockJS messages to the session;
// not ok means the connection is to end, as code, reason and end say.
func (c *wsStream) deliver(data []byte) (code int, reason string, end readEnd, ok bool) {
	t := c.t
	c.heard.Store(true)
	var msgs []string
	if t.raw {
		msgs = []string{string(data)}
	} else {
		if len(data) == 0 {
			return 0, "", 0, true // the protocol says to ignore empty frames
		}
		var err error
		if msgs, err = session.ParseMessages(data); err != nil {
			c.logBadPayload(err)
			return closecode.InvalidPayload, "Broken JSON encoding.", badInput, false
		}
		if len(msgs) == 0 {
			return 0, "", 0, true
		}
	}
	t.cfg.Observer.MessagesIn(t.name(), len(msgs), messageBytes(msgs))
	if err := c.s.Deliver(context.Background(), msgs); err != nil {
		return closecode.Interrupted, "Connection interrupted", sessionEnded, false
	}
	return 0, "", 0, true
}

// tick is the heartbeat. Liveness: the writer pings every heartbeat, busy
// or not, and a peer that shows no sign of life (a message or a pong) for
// two heartbeats in a row is gone: a half-open connection. Hixie-76 has no
// ping, so there only a failed write finds a dead peer.
func (c *wsStream) tick() {
	// Only a ping that went out can have been answered: one still waiting
	// behind a long write counts neither way.
	if !c.noPing && !c.beat.Load() {
		if c.heard.Swap(false) {
			c.missed = 0
		} else if c.missed++; c.missed >= 2 {
			_ = c.conn.Close() // the reader ends and closes the session
			return
		}
	}
	c.beat.Store(true)
	c.pump.kick()
}

// flush writes everything the session has, pinging first when a heartbeat
// is due (it is checked again after every write, so a writer that never
// runs dry still pings on time). It reports false once the connection is
// done for: the close is written, or a write failed.
func (c *wsStream) flush() bool {
	t, conn, s := c.t, c.conn, c.s
	var buf *[]byte // borrowed only while there is something to write
	defer func() {
		if buf != nil {
			putScratch(buf)
		}
	}()
	for {
		c.deadline.arm(conn, t.cfg.WriteTimeout)
		if c.controlIfDue() != nil {
			c.fail()
			return false
		}
		b := &c.batch
		s.Take(b, -1, c.heartbeatDue)
		if b.Kind == session.FrameNone {
			return true
		}
		c.heartbeatDue = false
		if buf == nil {
			buf = getScratch()
		}
		*buf = append((*buf)[:0], make([]byte, wsHeadroom)...)
		var err error
		switch {
		case b.Kind == session.FrameClose:
			if !t.raw {
				err = conn.WriteText(session.AppendBatch(*buf, b))
			}
			if err == nil {
				err = conn.WriteClose(closecode.ForWebsocket(b.Code), b.Reason, time.Now().Add(t.cfg.WriteTimeout))
			}
			if err != nil {
				c.fail()
				return false
			}
			// Give the peer a moment to answer the close, then the reader ends.
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			return false
		case t.raw:
			for _, m := range b.Messages { // FrameOpen carries no message here
				c.deadline.arm(conn, t.cfg.WriteTimeout)
				*buf = append((*buf)[:wsHeadroom], m...)
				if err = conn.WriteText(*buf); err == nil {
					err = c.controlIfDue() // one message at a time can take long
				}
				if err != nil {
					break
				}
			}
		default:
			*buf = session.AppendBatch(*buf, b)
			err = conn.WriteText(*buf)
		}
		if err != nil {
			c.fail()
			return false
		}
		t.countOut(b)
	}
}

// controlIfDue answers a ping and, if the heartbeat asked for it since the
// last look, pings (and then wants an "h" frame on the framed transport).
func (c *wsStream) controlIfDue() error {
	if p := c.pong.Swap(nil); p != nil {
		if err := c.conn.WritePong(*p); err != nil {
			return err
		}
	}
	if !c.beat.Swap(false) {
		return nil
	}
	c.heartbeatDue = !c.t.raw
	return c.conn.WritePing()
}

// fail ends a connection that could not be written to.
func (c *wsStream) fail() {
	_ = c.s.Close(closecode.Interrupted, "Connection interrupted")
	_ = c.conn.Close() // unblocks the reader
}

func (t *websocketTransport) countOut(b *session.Batch) {
	switch b.Kind {
	case session.FrameMessages:
		t.cfg.Observer.MessagesOut(t.name(), len(b.Messages), messageBytes(b.Messages))
	case session.FrameHeartbeat:
		t.cfg.Observer.Heartbeat(t.name())
	}
}

// truncateReason shortens a close reason to the 123 bytes a close frame
// has room for, on a rune boundary.
func truncateReason(s string) string {
	const max = 123
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// guardedHijacker hands gorilla's Upgrade the hijacked connection wrapped
// in a closeGuard, so that gorilla's write of the handshake passes the same
// guard as our frames. With holdHandshake the guard keeps the handshake
// back and sends it with the first frame, the open frame, in one write
// (writev on TCP): a system call and a packet fewer per connection. Only
// where a frame surely follows at once: the raw endpoint writes nothing
// until a message.
type guardedHijacker struct {
	http.ResponseWriter
	holdHandshake bool
}

func (g guardedHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(g.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &closeGuard{Conn: conn, isClose: isRFC6455Close, holdNext: g.holdHandshake}, brw, nil
}

// isRFC6455Close reports whether p, a whole frame the server writes, is a
// close frame (FIN, opcode 8; a server's frames are not masked).
func isRFC6455Close(p []byte) bool { return len(p) > 0 && p[0] == 0x80|opClose }

// closeGuard is a websocket connection whose writes stop at the close
// frame: an endpoint must send nothing after it (browsers fail the
// connection with "Data frame received after close"), and frames come
// from more than one goroutine. Every write is a whole frame.
type closeGuard struct {
	net.Conn
	isClose func(frame []byte) bool

	mu       sync.Mutex // held across each write, so that the check and the write are one step
	closed   bool       // a close frame has been written
	holdNext bool       // keep the next write (the handshake) back, in held
	held     []byte     // written before the next frame, in the same system call
}

var errCloseSent = errors.New("sockjs: websocket close frame already sent")

func (g *closeGuard) Write(frame []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errCloseSent
	}
	if g.holdNext {
		g.holdNext = false
		g.held = append([]byte(nil), frame...)
		return len(frame), nil
	}
	g.closed = g.isClose(frame)
	if g.held == nil {
		return g.Conn.Write(frame)
	}
	held := len(g.held)
	bufs := net.Buffers{g.held, frame} // one writev on TCP; two writes over TLS
	g.held = nil
	n, err := bufs.WriteTo(g.Conn)
	return max(0, int(n)-held), err
}

// wsFrame writes the header of a final, unmasked frame carrying
// buf[wsHeadroom:] into the end of the headroom and returns the frame.
func wsFrame(buf []byte, opcode int) []byte {
	n := len(buf) - wsHeadroom
	var start int
	switch {
	case n < 126:
		start = wsHeadroom - 2
		buf[start+1] = byte(n)
	case n <= 0xFFFF:
		start = wsHeadroom - 4
		buf[start+1] = 126
		binary.BigEndian.PutUint16(buf[start+2:], uint16(n))
	default:
		start = 0
		buf[1] = 127
		binary.BigEndian.PutUint64(buf[2:], uint64(n))
	}
	buf[start] = 0x80 | byte(opcode) // FIN: every message is one frame
	return buf[start:]
}
