package transports

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
	"github.com/sockjsd/sockjsd/internal/ws"
)

// Hixie-76 (draft-hixie-thewebsocketprotocol-76), the websocket of Safari
// 5 and its peers. The handshake ends with an 8-byte nonce that the client
// sends after the request headers; proxies such as HAProxy forward it only
// once they have seen the response headers, so those are written first,
// then the nonce is read and answered. Frames are 0x00 <UTF-8> 0xFF; the
// closing handshake is 0xFF 0x00. There are no pings.

var errHixieClosed = errors.New("sockjs: hixie-76 connection closed by peer")

func upgradeHixie76(w http.ResponseWriter, r *http.Request, maxMessage int64, timeout time.Duration) (*hixieConn, error) {
	n1, ok1 := hixieKeyNumber(r.Header.Get("Sec-WebSocket-Key1"))
	n2, ok2 := hixieKeyNumber(r.Header.Get("Sec-WebSocket-Key2"))
	origin, host := r.Header.Get("Origin"), r.Host
	if !ok1 || !ok2 || strings.ContainsAny(origin+host, "\r\n") {
		plainError(w, "Invalid hixie-76 handshake.", http.StatusBadRequest)
		return nil, errors.New("sockjs: invalid hixie-76 handshake")
	}
	scheme := "ws://"
	if r.TLS != nil {
		scheme = "wss://"
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	_, _ = brw.WriteString("HTTP/1.1 101 WebSocket Protocol Handshake\r\n" +
		"Upgrade: WebSocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Origin: " + origin + "\r\n" +
		"Sec-WebSocket-Location: " + scheme + host + r.URL.RequestURI() + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	var key [16]byte
	binary.BigEndian.PutUint32(key[0:], n1)
	binary.BigEndian.PutUint32(key[4:], n2)
	if _, err := io.ReadFull(brw, key[8:]); err != nil {
		conn.Close()
		return nil, err
	}
	sum := md5.Sum(key[:])
	_, _ = brw.Write(sum[:])
	if err := brw.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	guarded := ws.NewGuard(conn, isHixieClose, false)
	return &hixieConn{conn: guarded, r: brw.Reader, max: maxMessage}, nil
}

// hixieKeyNumber decodes a Sec-WebSocket-Key header: its digits read as
// one number, divided by its count of spaces.
func hixieKeyNumber(key string) (uint32, bool) {
	var n uint64
	spaces := uint64(0)
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case '0' <= c && c <= '9':
			n = n*10 + uint64(c-'0')
			if n > 1<<40 {
				return 0, false
			}
		case c == ' ':
			spaces++
		}
	}
	if spaces == 0 || n%spaces != 0 || n/spaces > 1<<32-1 {
		return 0, false
	}
	return uint32(n / spaces), true
}

// isHixieClose reports whether p, a whole frame, is hixie-76's closing
// handshake (0xFF 0x00; text frames start with 0x00).
func isHixieClose(p []byte) bool { return len(p) > 0 && p[0] == 0xFF }

type hixieConn struct {
	conn net.Conn
	r    *bufio.Reader // used by the reader only
	max  int64
}

func (h *hixieConn) ReadMessage() ([]byte, error) {
	for {
		typ, err := h.r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch {
		case typ == 0x00: // text frame, up to 0xFF
			var msg []byte
			for {
				chunk, err := h.r.ReadSlice(0xFF)
				if int64(len(msg)+len(chunk)) > h.max+1 {
					return nil, errHixieTooBig
				}
				msg = append(msg, chunk...)
				if err == nil {
					return msg[:len(msg)-1], nil
				}
				if err != bufio.ErrBufferFull {
					return nil, err
				}
			}
		case typ == 0xFF: // closing handshake: 0xFF 0x00
			return nil, errHixieClosed
		case typ&0x80 != 0: // length-prefixed binary frame: skip it
			var length int64
			for {
				b, err := h.r.ReadByte()
				if err != nil {
					return nil, err
				}
				length = length*128 + int64(b&0x7f)
				if length > h.max {
					return nil, errHixieTooBig
				}
				if b&0x80 == 0 {
					break
				}
			}
			if _, err := h.r.Discard(int(length)); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("sockjs: bad hixie-76 frame")
		}
	}
}

// errHixieTooBig ends the connection: hixie-76 has no close code, so the
// client gets only the closing handshake.
var errHixieTooBig error = &ws.CloseError{Code: closecode.TooBig, Reason: "Message too big", Protocol: true}

// WriteText frames the message in place: 0x00 in the last byte of the
// headroom, 0xFF after it.
func (h *hixieConn) WriteText(buf []byte) error {
	buf[wsHeadroom-1] = 0x00
	_, err := h.conn.Write(append(buf, 0xFF)[wsHeadroom-1:])
	return err
}

func (h *hixieConn) SetWriteDeadline(t time.Time) error { return h.conn.SetWriteDeadline(t) }

// Hixie-76 has no ping or pong.
func (h *hixieConn) WritePing() error       { return nil }
func (h *hixieConn) WritePong([]byte) error { return nil }
func (h *hixieConn) OnPing(func([]byte))    {}

func (h *hixieConn) WriteClose(_ int, _ string, deadline time.Time) error {
	_ = h.conn.SetWriteDeadline(deadline)
	_, err := h.conn.Write([]byte{0xFF, 0x00})
	return err
}

func (h *hixieConn) SetReadDeadline(t time.Time) error { return h.conn.SetReadDeadline(t) }
func (h *hixieConn) netConn() net.Conn                 { return h.conn }
func (h *hixieConn) OnActivity(func())                 {}
func (h *hixieConn) Close() error                      { return h.conn.Close() }
