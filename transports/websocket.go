package transports

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
	"github.com/sockjsd/sockjsd/internal/ws"
	"github.com/sockjsd/sockjsd/session"
)

// wsConn is the part of a websocket connection the stream uses; RFC 6455
// (package internal/ws, through rfc6455Conn) and hixie-76 each implement
// it. The writing methods other than WriteClose are called by the stream's
// writer only, one at a time; WriteClose, SetReadDeadline and Close may be
// called from any goroutine (each write is one Write call of a whole
// frame, and the ws.Guard under the conn serialises them).
type wsConn interface {
	// ReadMessage returns the next data message, valid until the next
	// call. A *ws.CloseError is the peer's close frame or input to
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
// websocket frame header.
const wsHeadroom = ws.Headroom

// rfc6455Conn is an RFC 6455 connection as the stream uses it.
type rfc6455Conn struct{ *ws.Conn }

func (c rfc6455Conn) netConn() net.Conn { return c.NetConn() }

// websocketTransport serves the framed websocket transport
// (<session URL>/websocket) and, when raw is set, <prefix>/websocket, which
// carries the messages themselves with no SockJS framing.
//
// Both are served over HTTP/1.1 (an Upgrade, the connection hijacked) and
// over HTTP/2 where the server allows extended CONNECT (RFC 8441: Go's
// does with GODEBUG=http2xconnect=1), the websocket then being one stream
// of the connection, served on its handler's goroutine.
//
// Both carry text only: SockJS messages are strings, and a raw endpoint
// that echoed a binary message as text would send invalid text frames. A
// binary message closes the connection with 1003 (unsupported data, RFC
// 6455 §7.4.1) as soon as its first frame arrives, and the session with it.
type websocketTransport struct {
	cfg      *Config
	raw      bool
	once     sync.Once
	upgrader *ws.Upgrader
}

// Allow lists CONNECT for RFC 8441: net/http hands a handler an extended
// CONNECT only when its HTTP/2 server has offered it, and Serve refuses
// any other CONNECT.
func (t *websocketTransport) Allow() string { return "GET, CONNECT" }

func (t *websocketTransport) name() string {
	if t.raw {
		return "rawwebsocket"
	}
	return "websocket"
}

func (t *websocketTransport) Serve(w http.ResponseWriter, r *http.Request, sessionID string) {
	h2 := ws.IsExtendedConnect(r) // no Upgrade or Connection header over HTTP/2
	switch {
	case h2:
	case r.Method == http.MethodConnect:
		plainError(w, "CONNECT opens a WebSocket only over HTTP/2 (RFC 8441).", http.StatusBadRequest)
		return
	case !r.ProtoAtLeast(1, 1):
		// RFC 6455 §4.1: the opening handshake is HTTP/1.1 or later. An
		// HTTP/1.0 client or proxy knows no Upgrade and would not pass
		// the frames on.
		plainError(w, "WebSocket needs HTTP/1.1 or later.", http.StatusBadRequest)
		return
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		plainError(w, `Can "Upgrade" only to "WebSocket".`, http.StatusBadRequest)
		return
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		plainError(w, `"Connection" must be "Upgrade".`, http.StatusBadRequest)
		return
	}
	var conn wsConn
	if !t.raw && !h2 && r.Header.Get("Sec-WebSocket-Version") == "" && r.Header.Get("Sec-WebSocket-Key1") != "" {
		c, err := upgradeHixie76(w, r, t.cfg.MaxMessageSize, t.cfg.WriteTimeout)
		if err != nil {
			return
		}
		conn = c
	} else {
		t.once.Do(func() {
			t.upgrader = ws.NewUpgrader(ws.Config{
				MaxMessageSize: t.cfg.MaxMessageSize,
				WriteTimeout:   t.cfg.WriteTimeout,
				CheckOrigin:    t.cfg.CheckOrigin,
				TextOnly:       true,
			})
		})
		// The framed transport's open frame follows the handshake at once,
		// so the handshake waits for it; the raw endpoint writes nothing
		// until a message.
		c, err := t.upgrader.Upgrade(w, r, !t.raw)
		if err != nil {
			return // the upgrader has answered
		}
		conn = rfc6455Conn{c}
	}
	s, err := t.cfg.Sessions.OpenWebsocket(r, sessionID, t.name())
	if err != nil {
		t.cfg.refuse(r, refusalReason(err), err)
		_ = conn.WriteClose(closecode.TryAgainLater, "No new sessions accepted", time.Now().Add(t.cfg.WriteTimeout))
		_ = conn.Close()
		return
	}
	c := t.newStream(conn, s)
	c.path, c.remote = r.URL.Path, r.RemoteAddr
	if h2 {
		// The stream ends when this handler returns: serve it here, on
		// the goroutine the caller tracks. serve returns once nothing
		// touches the stream any more (its writer and heartbeat stopped).
		c.serve()
		return
	}
	// The connection is ours now: serve it from a fresh goroutine and let
	// this handler return, so that net/http's goroutine, with its deep
	// stack, the request and the server's buffers, is freed. An idle
	// websocket then holds only what it needs.
	t.cfg.Sessions.Go(c.serve)
}

// newStream makes conn the receiver of s for the connection's whole life.
func (t *websocketTransport) newStream(conn wsConn, s *session.Session) *wsStream {
	c := &wsStream{t: t, conn: conn, s: s}
	c.pump.flush = c.flush
	c.pump.tick = c.tick
	_, c.noPing = conn.(*hixieConn)
	_ = s.Attach(context.Background(), &c.lease, session.Connection(), 0, c.pump.kick) // never refused: nobody else knows s yet
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

	// heard is set whenever the peer shows it is alive (a message, a
	// ping or a pong); the writer clears it as it pings (see answered).
	heard     atomic.Bool
	pongCheck atomic.Bool // pongTimer asks the writer to judge the last ping
	beat      atomic.Bool // the heartbeat asks the writer to ping (and send "h")

	pongMu sync.Mutex // guards pongs; a leaf, held for no I/O
	pongs  [][]byte   // the payloads of pings to answer, in order; nil when none
	// bad is the close for input that broke the protocol, set by the
	// reader before it closes the session: the writer sends it as a bare
	// websocket close, with no SockJS close frame.
	bad atomic.Bool

	// Owned by the writer (one at a time, see pump).
	lease        session.Lease
	batch        session.Batch
	heartbeatDue bool
	deadline     writeDeadline
	// pongTimer is made by the writer at its first ping and reset at each
	// one; end stops it once the pump has stopped, so no writer re-arms it.
	// pinged says a ping went out at pingedAt and is not judged yet.
	pongTimer *time.Timer
	pinged    bool
	pingedAt  time.Time
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
	c.conn.OnPing(c.queuePong)
}

// maxPendingPongs bounds the pings waiting for their pong. Every ping is
// answered, in order, while the writer keeps up; a peer that pings faster
// than that has its newest ping answered in place of the last waiting one
// (RFC 6455 §5.5.3 allows answering only the most recent).
const maxPendingPongs = 16

// queuePong has the writer answer a ping with data.
func (c *wsStream) queuePong(data []byte) {
	c.heard.Store(true)
	c.pongMu.Lock()
	if len(c.pongs) < maxPendingPongs {
		c.pongs = append(c.pongs, data)
	} else {
		c.pongs[len(c.pongs)-1] = data
	}
	c.pongMu.Unlock()
	c.pump.kick()
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
		// with the reason, and no SockJS close frame. What it sent before
		// the bad frame is answered first, as a client expects of a
		// server that reads in order: the application is given time to
		// handle the messages delivered (its replies are then queued),
		// and the close goes through the session, after them.
		c.s.AwaitHandled(context.Background(), handledGrace)
		c.bad.Store(true)
		if c.s.Close(code, reason) != nil {
			c.bad.Store(false) // closed already: its own close goes out, as usual
		}
	}
	_ = c.s.Close(code, reason) // no-op if the session closed first
	// The session is closed, by us or earlier: a writer sends what is left
	// and the close frame (unless the connection is gone, then the pump
	// stopped above). Kicked here because the close's own wake-up may
	// come after the reader has already seen the session end.
	c.pump.kick()
	c.pump.stop()
	// No writer runs any more: the lease is ours to end. The session is
	// closed by now, so interrupted changes no close code; the session lets
	// go of this receiver and of its wake-up, which would keep the stream
	// reachable for as long as anything holds the session.
	c.lease.Done(true)
	if c.pongTimer != nil {
		c.pongTimer.Stop()
	}
	if why == sessionEnded || why == badInput {
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
	if g, ok := nc.(*ws.Guard); ok {
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
	var e *ws.CloseError
	switch {
	case !errors.As(err, &e):
		return closecode.Interrupted, "Connection interrupted", peerGone
	case e.Protocol:
		return e.Code, e.Reason, badInput
	}
	return e.Code, e.Reason, peerGone // the peer's close frame, answered
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

// tick is the heartbeat: it has the writer ping (and send "h"), busy or
// not. Liveness: a peer that shows no sign of life within PongTimeout of a
// ping going out is gone, a half-open connection (see answered). Hixie-76
// has no ping, so there only a failed write finds a dead peer.
func (c *wsStream) tick() {
	c.beat.Store(true)
	c.pump.kick()
}

// pongDue runs PongTimeout after a ping went out: the writer judges it.
func (c *wsStream) pongDue() {
	c.pongCheck.Store(true)
	c.pump.kick()
}

// errNoPong fails a connection whose peer did not answer a ping in time.
var errNoPong = errors.New("sockjs: websocket peer did not answer a ping in time")

// answered judges the last ping, once PongTimeout has passed since it went
// out: the peer must have shown a sign of life since. Only the writer
// pings and judges, so a check that comes due just as the next ping is to
// go out (a pong timeout as long as the heartbeat) is made before that
// ping clears heard. The wait starts once a ping is out: one still waiting
// behind a long write counts neither way, and the write timeout bounds
// that wait.
func (c *wsStream) answered() bool {
	if !c.pinged || time.Since(c.pingedAt) < c.t.cfg.pongTimeout() {
		return true // nothing to judge yet: a newer ping reset the timer
	}
	c.pinged = false
	return c.heard.Load()
}

// flush writes everything the session has, pinging first when a heartbeat
// is due (it is checked again after every write, so a writer that never
// runs dry still pings on time). It reports false once the connection is
// done for: the close is written, or a write failed.
func (c *wsStream) flush() bool {
	t, conn := c.t, c.conn
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
		_ = c.lease.Next(b, c.heartbeatDue) // an ended lease leaves b empty
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
			if !t.raw && !c.bad.Load() {
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

// controlIfDue answers the pings waiting, judges the last ping once its
// pong timeout has passed (an error if unanswered) and, if the heartbeat
// asked for it since the last look, pings (and then wants an "h" frame on
// the framed transport).
func (c *wsStream) controlIfDue() error {
	c.pongMu.Lock()
	pongs := c.pongs
	c.pongs = nil
	c.pongMu.Unlock()
	for _, p := range pongs {
		if err := c.conn.WritePong(p); err != nil {
			return err
		}
	}
	if c.pongCheck.Swap(false) && !c.answered() {
		return errNoPong
	}
	if !c.beat.Swap(false) {
		return nil
	}
	c.heartbeatDue = !c.t.raw
	if c.noPing {
		return nil
	}
	if !c.answered() {
		return errNoPong
	}
	c.heard.Store(false) // before the ping: an answer to it may come at once
	if err := c.conn.WritePing(); err != nil {
		return err
	}
	c.pinged, c.pingedAt = true, time.Now()
	if d := c.t.cfg.pongTimeout(); c.pongTimer == nil {
		c.pongTimer = time.AfterFunc(d, c.pongDue)
	} else {
		c.pongTimer.Reset(d)
	}
	return nil
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
