package sockjsclient

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The websocket client is written here rather than taken from a library
// so that a load generator pinned to one core stays cheaper than the
// servers it measures: Send writes a whole batch of frames with one
// syscall, and reads go through one small buffer per connection.
// Masks come from math/rand/v2: a client's mask protects proxies from
// content a page chooses, not a secret, and this client is not a page.

const (
	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xA
)

type wsConn struct {
	c  net.Conn
	br *bufio.Reader

	wmu  sync.Mutex // guards wbuf and writes to c
	wbuf []byte

	msg []byte // reassembly buffer for the message being read
}

func dialWebsocket(ctx context.Context, s *session) (Conn, error) {
	t, err := s.pick()
	if err != nil {
		return nil, err
	}
	c, err := s.dial(ctx, t)
	if err != nil {
		return nil, err
	}
	ws := &wsConn{c: c, br: bufio.NewReaderSize(c, s.opts.ReadBufferSize)}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if err := ws.handshake(s, t); err != nil {
		c.Close()
		return nil, err
	}
	f, err := ws.Recv(time.Time{})
	if err == nil {
		err = expectOpen(f)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return ws, nil
}

func (ws *wsConn) handshake(s *session, t *target) error {
	var key [16]byte
	_, _ = crand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	path := t.prefix + "/websocket"
	b := append([]byte("GET "), path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, t.host...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, k...)
	b = append(b, "\r\nSec-WebSocket-Version: 13\r\n"...)
	b = s.appendHeaders(b, t, "/websocket")
	b = append(b, "\r\n"...)
	if _, err := ws.c.Write(b); err != nil {
		return err
	}
	resp, err := http.ReadResponse(ws.br, getRequest)
	if err != nil {
		return err
	}
	s.storeCookies(t, "/websocket", resp)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{Request: "GET " + path, StatusCode: resp.StatusCode, Body: quoteShort(body)}
	}
	sum := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	switch {
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		return badHandshake("GET %s: Upgrade header %q", path, resp.Header.Get("Upgrade"))
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return badHandshake("GET %s: wrong Sec-WebSocket-Accept", path)
	}
	return nil
}

// Send writes one websocket message per SockJS message, each a one-element
// JSON array as sockjs-client sends it, in a single write.
func (ws *wsConn) Send(msgs []string, deadline time.Time) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	b := ws.wbuf[:0]
	var one [1]string
	for _, m := range msgs {
		one[0] = m
		start := len(b)
		b = append(b, make([]byte, 14)...) // room for the largest header
		b = AppendSendBody(b, one[:])
		b = wsFrameInPlace(b, start, wsOpText)
	}
	ws.wbuf = b
	return ws.writeLocked(b, deadline)
}

func (ws *wsConn) writeLocked(b []byte, deadline time.Time) error {
	_ = ws.c.SetWriteDeadline(deadline)
	if _, err := ws.c.Write(b); err != nil {
		return err
	}
	return nil
}

// wsFrameInPlace turns b[start:] — 14 reserved bytes followed by the
// payload — into a masked client frame and returns the shortened slice.
func wsFrameInPlace(b []byte, start int, op byte) []byte {
	payload := b[start+14:]
	n := len(payload)
	var hdr [14]byte
	hdr[0] = 0x80 | op
	h := 2
	switch {
	case n < 126:
		hdr[1] = 0x80 | byte(n)
	case n <= 0xFFFF:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		h = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		h = 10
	}
	key := rand.Uint32()
	binary.BigEndian.PutUint32(hdr[h:], key)
	mask := hdr[h : h+4]
	h += 4
	// Move the payload down to just after the header, masking it.
	dst := b[start+h:]
	for i := 0; i < n; i++ {
		dst[i] = payload[i] ^ mask[i&3]
	}
	copy(b[start:], hdr[:h])
	return b[:start+h+n]
}

// Recv returns the next SockJS frame: every websocket text message is
// exactly one frame.
func (ws *wsConn) Recv(deadline time.Time) (Frame, error) {
	_ = ws.c.SetReadDeadline(deadline)
	data, err := ws.readMessage()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			err = ErrClosed
		}
		return Frame{}, err
	}
	return ParseFrame(data)
}

// readMessage returns the payload of the next data message, answering
// pings on the way. The result is valid until the next call.
func (ws *wsConn) readMessage() ([]byte, error) {
	ws.msg = ws.msg[:0]
	inMessage := false
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(ws.br, hdr[:]); err != nil {
			return nil, err
		}
		fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0F
		if hdr[0]&0x70 != 0 {
			return nil, badFrame("websocket frame with RSV bits %#x", hdr[0])
		}
		if hdr[1]&0x80 != 0 {
			return nil, badFrame("masked websocket frame from server")
		}
		n := uint64(hdr[1] & 0x7F)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(ws.br, ext[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(ws.br, ext[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(ext[:])
		}
		if n > maxMessage || uint64(len(ws.msg))+n > maxMessage {
			return nil, badFrame("websocket message over %d bytes", maxMessage)
		}
		if op >= wsOpClose {
			if !fin || n > 125 {
				return nil, badFrame("bad websocket control frame")
			}
			var ctl [125]byte
			if _, err := io.ReadFull(ws.br, ctl[:n]); err != nil {
				return nil, err
			}
			switch op {
			case wsOpPing:
				if err := ws.control(wsOpPong, ctl[:n]); err != nil {
					return nil, err
				}
			case wsOpPong:
			case wsOpClose:
				code := 1005
				if n >= 2 {
					code = int(binary.BigEndian.Uint16(ctl[:2]))
				}
				return nil, fmt.Errorf("sockjs: websocket closed by the server (code %d): %w", code, io.EOF)
			default:
				return nil, badFrame("unknown websocket opcode %#x", op)
			}
			continue
		}
		switch {
		case op == wsOpContinuation && !inMessage:
			return nil, badFrame("websocket continuation without a message")
		case op != wsOpContinuation && inMessage:
			return nil, badFrame("websocket message interleaved")
		case op == wsOpBinary:
			return nil, badFrame("binary websocket message")
		case op != wsOpContinuation && op != wsOpText:
			return nil, badFrame("unknown websocket opcode %#x", op)
		}
		inMessage = true
		start := len(ws.msg)
		ws.msg = append(ws.msg, make([]byte, n)...)
		if _, err := io.ReadFull(ws.br, ws.msg[start:]); err != nil {
			return nil, err
		}
		if fin {
			return ws.msg, nil
		}
	}
}

// control writes a control frame (pong, close).
func (ws *wsConn) control(op byte, payload []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	b := append(ws.wbuf[:0], make([]byte, 14)...)
	b = append(b, payload...)
	b = wsFrameInPlace(b, 0, op)
	ws.wbuf = b
	return ws.writeLocked(b, time.Now().Add(time.Second))
}

func (ws *wsConn) Close(mode CloseMode) error {
	if mode == CloseGraceful {
		_ = ws.control(wsOpClose, []byte{0x03, 0xE8}) // 1000
	}
	err := closeConn(ws.c, mode)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
