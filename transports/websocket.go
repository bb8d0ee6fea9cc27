package transports

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/session"
)

// wsConn is the part of a websocket connection the pumps use; RFC 6455
// (gorilla) and hixie-76 each implement it. One goroutine reads and one
// writes; SetReadDeadline and Close may be called from either.
type wsConn interface {
	// ReadMessage returns the next data message.
	ReadMessage() ([]byte, error)
	WriteText(p []byte, deadline time.Time) error
	// WritePing sends a ping if the protocol has one.
	WritePing(deadline time.Time) error
	WriteClose(code int, reason string, deadline time.Time) error
	SetReadDeadline(t time.Time) error
	// OnActivity registers f to run whenever the peer shows it is alive
	// without sending a message (a pong).
	OnActivity(f func())
	Close() error
}

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

const wsReadBufferSize = 1024

// writeBuffers lends write buffers to connections only while they write,
// so an idle connection holds none.
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
				// A small read buffer of its own instead of net/http's 4 KiB
				// one: an idle connection holds it for life, and larger
				// frames are simply read in several pieces.
				ReadBufferSize:   wsReadBufferSize,
				HandshakeTimeout: t.cfg.WriteTimeout,
				WriteBufferPool:  &writeBuffers,
				CheckOrigin:      t.cfg.CheckOrigin,
			}
		})
		c, err := t.upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		c.SetReadLimit(t.cfg.MaxMessageSize)
		conn = gorillaConn{c}
	}
	s, err := t.cfg.Sessions.OpenWebsocket(r, sessionID, t.name())
	if err != nil {
		t.cfg.refuse(r, refusalReason(err), err)
		_ = conn.WriteClose(websocket.CloseTryAgainLater, "No new sessions accepted", time.Now().Add(t.cfg.WriteTimeout))
		_ = conn.Close()
		return
	}
	_ = s.Attach(context.Background(), 0) // the connection is the session's receiver for its whole life

	// The connection is ours now: serve it from a fresh goroutine and let
	// this handler return, so that net/http's goroutine, with its deep
	// stack, the request and the server's buffers, is freed. An idle
	// websocket then holds only what it needs.
	origin := &http.Request{Method: r.Method, URL: &url.URL{Path: r.URL.Path}, RemoteAddr: r.RemoteAddr}
	t.cfg.Sessions.Go(func() { t.serveConn(origin, conn, s) })
}

// serveConn runs a websocket connection: this goroutine reads, and the
// writer it starts is waited for before it returns.
func (t *websocketTransport) serveConn(r *http.Request, conn wsConn, s *session.Session) {
	defer conn.Close()
	defer t.cfg.Sessions.End(s)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		t.writeLoop(conn, s)
	}()
	code, reason, end := t.readLoop(r, conn, s)
	switch end {
	case peerGone:
		_ = conn.Close() // nothing more can be written: let the writer fail fast
	case badInput:
		// The client broke the protocol: it gets a websocket close frame
		// with the reason and the connection ends, with no SockJS frame
		// after its bad message. A close is a control frame, safe to write
		// beside the writer, which then finds the connection closed.
		_ = conn.WriteClose(code, reason, time.Now().Add(t.cfg.WriteTimeout))
		_ = conn.Close()
	}
	_ = s.Close(code, reason) // no-op if the session closed first
	<-writerDone
}

// readEnd says why a websocket's read loop ended.
type readEnd uint8

const (
	sessionEnded readEnd = iota // the session closed; the writer sends the close
	peerGone                    // the connection is closed or dead
	badInput                    // the client sent what the protocol does not allow
)

// readLoop delivers incoming messages until the connection or the session
// ends, and says how: the close code and reason, and why.
func (t *websocketTransport) readLoop(r *http.Request, conn wsConn, s *session.Session) (code int, reason string, end readEnd) {
	// Liveness: the writer pings every heartbeat; a peer that shows no
	// sign of life for two heartbeats is gone (half-open connection).
	// Hixie-76 has no ping, so only a failed write finds a dead peer there.
	idle := 2*t.cfg.Heartbeat + t.cfg.WriteTimeout
	_, noPing := conn.(*hixieConn)
	conn.OnActivity(func() { _ = conn.SetReadDeadline(time.Now().Add(idle)) })
	for {
		if !noPing {
			_ = conn.SetReadDeadline(time.Now().Add(idle))
		}
		data, err := conn.ReadMessage()
		if err != nil {
			code, reason = readErrorStatus(err)
			switch {
			case errors.Is(err, errHixieTooBig):
				return code, reason, badInput // hixie-76 has no close code: just end it
			case code == websocket.CloseMessageTooBig:
				return code, reason, sessionEnded // gorilla has sent the 1009 close
			}
			return code, reason, peerGone
		}
		var msgs []string
		if t.raw {
			msgs = []string{string(data)}
		} else {
			if len(data) == 0 {
				continue // the protocol says to ignore empty frames
			}
			if msgs, err = session.ParseMessages(data); err != nil {
				t.cfg.refuse(r, "bad_payload", err)
				return websocket.CloseInvalidFramePayloadData, "Broken JSON encoding.", badInput
			}
			if len(msgs) == 0 {
				continue
			}
		}
		t.cfg.Observer.MessagesIn(t.name(), len(msgs), messageBytes(msgs))
		if err := s.Deliver(context.Background(), msgs); err != nil {
			return session.CodeInterrupted, "Connection interrupted", sessionEnded
		}
	}
}

func readErrorStatus(err error) (int, string) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		return ce.Code, ce.Text
	case errors.Is(err, websocket.ErrReadLimit), errors.Is(err, errHixieTooBig):
		return websocket.CloseMessageTooBig, "Message too big"
	}
	return session.CodeInterrupted, "Connection interrupted"
}

// writeLoop is the connection's only writer: it waits for the session to
// have something and writes it with a deadline. Every heartbeat interval,
// busy or not, it pings (so the reader's liveness deadline moves even for
// a client that only receives) and, on the framed transport, queues an "h"
// frame that goes out unless messages do. A writer that never runs out of
// messages checks the ticker after every write. It ends after writing the
// close, or on an error.
func (t *websocketTransport) writeLoop(conn wsConn, s *session.Session) {
	heartbeat := time.NewTicker(t.cfg.Heartbeat)
	defer heartbeat.Stop()
	heartbeatDue := false
	ping := func() error {
		heartbeatDue = !t.raw
		return conn.WritePing(time.Now().Add(t.cfg.WriteTimeout))
	}
	// pingIfDue pings between writes when the writer is too busy to wait.
	pingIfDue := func() error {
		select {
		case <-heartbeat.C:
			return ping()
		default:
			return nil
		}
	}
	var b session.Batch
	var buf []byte
	for {
		s.Take(&b, -1, heartbeatDue)
		if b.Kind == session.FrameNone {
			select {
			case <-s.Wake():
			case <-heartbeat.C:
				if ping() != nil {
					t.fail(conn, s)
					return
				}
			}
			continue
		}
		heartbeatDue = false
		deadline := time.Now().Add(t.cfg.WriteTimeout)
		var err error
		switch {
		case b.Kind == session.FrameClose:
			if !t.raw {
				buf = session.AppendBatch(buf[:0], &b)
				err = conn.WriteText(buf, deadline)
			}
			if err == nil {
				err = conn.WriteClose(wsCloseCode(b.Code), b.Reason, deadline)
			}
			if err != nil {
				t.fail(conn, s)
				return
			}
			// Give the peer a moment to answer the close, then the reader ends.
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			return
		case t.raw:
			for _, m := range b.Messages { // FrameOpen carries no message here
				if err = conn.WriteText([]byte(m), time.Now().Add(t.cfg.WriteTimeout)); err == nil {
					err = pingIfDue()
				}
				if err != nil {
					break
				}
			}
		default:
			buf = session.AppendBatch(buf[:0], &b)
			if err = conn.WriteText(buf, deadline); err == nil {
				err = pingIfDue()
			}
		}
		if err != nil {
			t.fail(conn, s)
			return
		}
		t.countOut(&b)
	}
}

// fail ends a connection that could not be written to.
func (t *websocketTransport) fail(conn wsConn, s *session.Session) {
	_ = s.Close(session.CodeInterrupted, "Connection interrupted")
	_ = conn.Close() // unblocks the reader
}

func (t *websocketTransport) countOut(b *session.Batch) {
	switch b.Kind {
	case session.FrameMessages:
		t.cfg.Observer.MessagesOut(t.name(), len(b.Messages), messageBytes(b.Messages))
	case session.FrameHeartbeat:
		t.cfg.Observer.Heartbeat(t.name())
	}
}

// wsCloseCode maps a SockJS close code to one a websocket close frame may
// carry (RFC 6455 §7.4); SockJS-only codes such as 2010 become 1000.
func wsCloseCode(code int) int {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return code
	}
	return websocket.CloseNormalClosure
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
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// gorillaConn adapts a gorilla connection (RFC 6455) to wsConn.
type gorillaConn struct{ c *websocket.Conn }

func (g gorillaConn) ReadMessage() ([]byte, error) {
	_, p, err := g.c.ReadMessage()
	return p, err
}

func (g gorillaConn) WriteText(p []byte, deadline time.Time) error {
	_ = g.c.SetWriteDeadline(deadline)
	return g.c.WriteMessage(websocket.TextMessage, p)
}

func (g gorillaConn) WritePing(deadline time.Time) error {
	return g.c.WriteControl(websocket.PingMessage, nil, deadline)
}

func (g gorillaConn) WriteClose(code int, reason string, deadline time.Time) error {
	msg := websocket.FormatCloseMessage(code, truncateReason(reason))
	return g.c.WriteControl(websocket.CloseMessage, msg, deadline)
}

func (g gorillaConn) SetReadDeadline(t time.Time) error { return g.c.SetReadDeadline(t) }

func (g gorillaConn) OnActivity(f func()) {
	g.c.SetPongHandler(func(string) error { f(); return nil })
}

func (g gorillaConn) Close() error { return g.c.Close() }
