package ws

import (
	"encoding/binary"
	"net"
	"time"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// CloseError is how reading a websocket ended other than by a network
// error: the peer's close frame, already answered (Protocol unset), or
// input the protocol does not allow (Protocol set: the server is to answer
// with a close frame carrying Code and Reason, and end the connection).
type CloseError struct {
	Code     int
	Reason   string
	Protocol bool
}

func (e *CloseError) Error() string {
	if e.Protocol {
		return "sockjs: websocket protocol error: " + e.Reason
	}
	return "sockjs: websocket closed by peer"
}

func protocolError(code int, reason string) error {
	return &CloseError{Code: code, Reason: reason, Protocol: true}
}

// Conn is the server's end of an RFC 6455 connection after the handshake.
//
// ReadMessage, OnPing and OnActivity are for one goroutine, the reader.
// WriteText, WritePing and WritePong are for one writer at a time;
// WriteClose, SetReadDeadline and Close may be called from any goroutine:
// each write is one Write call of a whole frame, and the Guard under the
// conn serialises them and stops them at the close frame.
type Conn struct {
	nc         net.Conn      // the Guard over the connection
	timeout    time.Duration // for the answer to a close frame
	in         frameReader
	onActivity func()
	onPing     func(data []byte)
	stream     bool // over an HTTP/2 stream (see OverHTTP2)
}

// newConn takes over nc, on which the handshake has been answered and
// nothing has been read since (see gorilla.go).
func newConn(nc net.Conn, maxMessage int64, writeTimeout time.Duration) *Conn {
	c := &Conn{nc: nc, timeout: writeTimeout, onActivity: func() {}, onPing: func([]byte) {}}
	under := nc
	if g, ok := nc.(*Guard); ok {
		under = g.Conn
	}
	c.in.init(under, maxMessage, c.control)
	return c
}

// ReadMessage returns the next data message. It is valid until the next
// call: a message that arrived in one frame is unmasked in the read buffer
// and not copied. A *CloseError is the peer's close frame or input to
// answer with a close frame; any other error ends the connection. Once it
// has failed, it fails for good with the same error.
func (c *Conn) ReadMessage() ([]byte, error) {
	r := &c.in
	if r.err != nil {
		return nil, r.err
	}
	msg, err := r.next()
	if err != nil {
		r.err = err // reading fails for good
		r.release()
		r.msg = nil
		return nil, err
	}
	return msg, nil
}

// control handles a control frame the reader met between data frames.
func (c *Conn) control(op byte, payload []byte) error {
	switch op {
	case opPing:
		c.onPing(append([]byte(nil), payload...)) // payload is the read buffer's
	case opPong:
		c.onActivity()
	case opClose:
		code, reason := closecode.NoStatus, ""
		switch {
		case len(payload) == 1:
			return protocolError(closecode.ProtocolError, "Bad close frame")
		case len(payload) >= 2:
			code, reason = int(binary.BigEndian.Uint16(payload)), string(payload[2:])
			if !validReceivedCloseCode(code) {
				return protocolError(closecode.ProtocolError, "Bad close code")
			}
			if !utf8.ValidString(reason) {
				return protocolError(closecode.InvalidPayload, "Invalid UTF-8 in close reason")
			}
		}
		// Answer with the peer's code, as RFC 6455 §5.5.1 suggests; no code
		// for none. The connection ends after it either way.
		var frame [Headroom + 2]byte
		p := frame[:Headroom]
		if code != closecode.NoStatus {
			p = binary.BigEndian.AppendUint16(p, uint16(code))
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
		_, _ = c.nc.Write(Frame(p, opClose))
		return &CloseError{Code: code, Reason: reason}
	}
	return nil
}

// validReceivedCloseCode reports whether a peer may send code in a close
// frame (RFC 6455 §7.4; 1005, 1006 and 1015 are for reporting only).
func validReceivedCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// WriteText sends buf[Headroom:] as one text message. The headroom is
// where the frame header goes.
func (c *Conn) WriteText(buf []byte) error {
	_, err := c.nc.Write(Frame(buf, opText))
	return err
}

// WritePing sends an empty ping.
func (c *Conn) WritePing() error { return c.writeControl(opPing, nil) }

// WritePong answers a ping with its payload.
func (c *Conn) WritePong(data []byte) error { return c.writeControl(opPong, data) }

func (c *Conn) writeControl(op int, data []byte) error {
	var buf [Headroom + maxControlPayload]byte
	n := copy(buf[Headroom:], data)
	_, err := c.nc.Write(Frame(buf[:Headroom+n], op))
	return err
}

// SetWriteDeadline applies to the writes above.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.nc.SetWriteDeadline(t) }

// WriteClose sends a close frame with code and reason (shortened to fit),
// after which nothing more is written.
func (c *Conn) WriteClose(code int, reason string, deadline time.Time) error {
	var buf [Headroom + maxControlPayload]byte
	p := binary.BigEndian.AppendUint16(buf[:Headroom], uint16(code))
	p = append(p, TruncateReason(reason)...)
	_ = c.nc.SetWriteDeadline(deadline)
	_, err := c.nc.Write(Frame(p, opClose))
	return err
}

// SetReadDeadline applies to ReadMessage.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.nc.SetReadDeadline(t) }

// NetConn is the connection under the frames: its Guard.
func (c *Conn) NetConn() net.Conn { return c.nc }

// OnActivity registers f to run whenever the peer shows it is alive
// without sending a message (a pong); OnPing, f to run on a ping, with a
// copy of its payload, which the writer is then to answer. Both are set
// before the first ReadMessage and run on the reader's goroutine.
func (c *Conn) OnActivity(f func())        { c.onActivity = f }
func (c *Conn) OnPing(f func(data []byte)) { c.onPing = f }

// OverHTTP2 reports whether the websocket is an HTTP/2 stream (RFC 8441),
// which lives only as long as the handler that accepted it: it is to be
// served on that handler's goroutine, which returns once the Conn is
// closed and nothing reads, writes or sets a deadline on it any more.
func (c *Conn) OverHTTP2() bool { return c.stream }

// Close closes the connection at once.
func (c *Conn) Close() error { return c.nc.Close() }
