package sockjsclient

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Hixie76 is a websocket of draft-hixie-thewebsocketprotocol-76, which
// Safari 5 and other browsers of its time speak and SockJS servers still
// accept on <session>/websocket. It works at the frame level, for tests:
// Send writes whatever text it is given, well-formed SockJS or not, and
// Recv hands back each frame's text as it came.
//
// The draft's handshake carries two keys in headers and eight more bytes
// after them; the server answers with the MD5 of the three. Frames are
// 0x00 <UTF-8 text> 0xFF; the closing frame is 0xFF 0x00.
type Hixie76 struct {
	// Response is the server's answer to the handshake (its body empty),
	// for tests of its headers.
	Response *http.Response

	conn net.Conn
	br   *bufio.Reader
}

// ErrClosingFrame is Recv's error for the closing frame (0xFF 0x00): the
// server ended the connection in order. A bare end of the connection is
// io.EOF instead.
var ErrClosingFrame = errors.New("sockjs: hixie-76 closing frame")

// The keys the official protocol suite sends (any would do: the answer
// is checked by computing it).
const (
	hixieKey1 = "4 @1  46546xW%0l 1 5"
	hixieKey2 = "12998 5 Y3 1  .P00"
	hixieKey3 = "aaaaaaaa"
)

// DialHixie76 opens a hixie-76 websocket on rawURL (http:// or ws://, a
// session's /websocket URL) with header added to the handshake (Origin
// defaults to the URL's own). It reads the response head before sending
// the eight key bytes, as a proxy in between would make it (a server that
// waits for them before answering times out here), then checks the
// server's 16-byte answer. ctx bounds the handshake only. A status other
// than 101 is a *StatusError, a wrong answer wraps ErrHandshake.
func DialHixie76(ctx context.Context, rawURL string, header http.Header) (*Hixie76, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sockjs: hixie-76 URL: %w", err)
	}
	scheme := map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	if scheme == "" {
		scheme = u.Scheme
	}
	if scheme != "http" {
		return nil, fmt.Errorf("sockjs: hixie-76 URL %q: want http or ws (no TLS)", rawURL)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrDial, u.Host, err)
	}
	h := &Hixie76{conn: conn, br: bufio.NewReader(conn)}
	if err := h.handshake(ctx, u, header); err != nil {
		conn.Close()
		return nil, err
	}
	return h, nil
}

func (h *Hixie76) handshake(ctx context.Context, u *url.URL, header http.Header) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = h.conn.SetDeadline(dl)
		defer func() { _ = h.conn.SetDeadline(time.Time{}) }()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n", u.RequestURI(), u.Host)
	if header.Get("Origin") == "" {
		fmt.Fprintf(&b, "Origin: http://%s\r\n", u.Host)
	}
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Sec-WebSocket-Key1: %s\r\nSec-WebSocket-Key2: %s\r\n\r\n", hixieKey1, hixieKey2)
	if _, err := io.WriteString(h.conn, b.String()); err != nil {
		return err
	}
	resp, err := http.ReadResponse(h.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return &StatusError{Request: "GET " + u.RequestURI(), StatusCode: resp.StatusCode, Body: quoteShort(body)}
	}
	// A 101 has no body: ReadResponse left the answer unread in h.br.
	h.Response = resp
	if _, err := io.WriteString(h.conn, hixieKey3); err != nil {
		return err
	}
	want := HixieAnswer(hixieKey1, hixieKey2, hixieKey3)
	var got [16]byte
	if _, err := io.ReadFull(h.br, got[:]); err != nil {
		return fmt.Errorf("sockjs: hixie-76 answer: %w", err)
	}
	if got != want {
		return badHandshake("hixie-76 answer %q, want %q", got[:], want[:])
	}
	return nil
}

// HixieAnswer is the server's answer to a hixie-76 handshake with keys
// key1 and key2 and the eight bytes key3: the MD5 of each key's digits
// divided by its count of spaces (as big-endian 32-bit numbers) and key3.
func HixieAnswer(key1, key2, key3 string) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint32(b[0:], hixieNumber(key1))
	binary.BigEndian.PutUint32(b[4:], hixieNumber(key2))
	copy(b[8:], key3)
	return md5.Sum(b[:])
}

func hixieNumber(k string) uint32 {
	var n, spaces uint64
	for _, c := range k {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + uint64(c-'0')
		case c == ' ':
			spaces++
		}
	}
	if spaces == 0 {
		return 0
	}
	return uint32(n / spaces)
}

// Send writes text as one frame.
func (h *Hixie76) Send(text string, deadline time.Time) error {
	_ = h.conn.SetWriteDeadline(deadline)
	_, err := h.conn.Write([]byte("\x00" + text + "\xff"))
	return err
}

// Recv returns the next frame's text. The closing frame is
// ErrClosingFrame, the end of the connection io.EOF; anything else the
// draft does not allow wraps ErrBadFrame.
func (h *Hixie76) Recv(deadline time.Time) (string, error) {
	_ = h.conn.SetReadDeadline(deadline)
	b, err := h.br.ReadByte()
	if err != nil {
		return "", err
	}
	switch b {
	case 0x00:
		s, err := h.br.ReadString(0xff)
		if err != nil {
			if err == io.EOF {
				return "", badFrame("hixie-76: connection ended inside a frame")
			}
			return "", err
		}
		return s[:len(s)-1], nil
	case 0xff:
		b2, err := h.br.ReadByte()
		if err != nil || b2 != 0x00 {
			return "", badFrame("hixie-76: closing frame 0xff %#x (%v)", b2, err)
		}
		return "", ErrClosingFrame
	}
	return "", badFrame("hixie-76: frame type %#x", b)
}

// CloseHandshake sends the client's closing frame; the connection stays
// open for the server's answer.
func (h *Hixie76) CloseHandshake(deadline time.Time) error {
	_ = h.conn.SetWriteDeadline(deadline)
	_, err := h.conn.Write([]byte{0xff, 0x00})
	return err
}

// Close closes the connection (a RST with CloseReset), sending nothing.
func (h *Hixie76) Close(mode CloseMode) error { return closeConn(h.conn, mode) }
