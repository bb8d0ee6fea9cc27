package transports_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A websocket endpoint sends nothing after its close frame; browsers fail
// the connection otherwise ("Data frame received after close"). Here the
// application floods the session while the client closes: gorilla answers
// the client's close from the reader while our writer is busy writing
// messages, and the close must be the last frame either way.
func TestWebsocketNoDataAfterClose(t *testing.T) {
	srv := newHarness(nil, func(s appSession) {
		for s.Send("x") == nil {
			time.Sleep(10 * time.Microsecond) // leave the writer room to write
		}
	}, &recMetrics{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	for i := range 30 {
		conn, br := dialRawWebsocket(t, ts.URL+"/flood/000/c"+strings.Repeat("x", i)+"/websocket")
		// Let data flow, then close: a masked close frame, code 1000, with
		// a zero mask key so the payload reads as is.
		if op, _ := readRawFrame(t, br); op != 1 {
			t.Fatalf("first frame opcode %d, want text (o)", op)
		}
		_, _ = conn.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
		closed := false
		for {
			op, err := readFrameOrEnd(br)
			if err != nil {
				break // the server ended the connection
			}
			if closed && op < 8 {
				t.Fatalf("connection %d: data frame (opcode %d) after the server's close frame", i, op)
			}
			if op == 8 {
				closed = true
			}
		}
		if !closed {
			t.Fatalf("connection %d: no close frame", i)
		}
		conn.Close()
	}
}

// dialRawWebsocket opens a websocket by hand, so that the test sees every
// frame the server sends, those after a close included.
func dialRawWebsocket(t *testing.T, rawURL string) (net.Conn, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequest("GET", rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	return conn, wsHandshake(t, conn, req)
}

// wsHandshake performs the RFC 6455 handshake of req on conn.
func wsHandshake(t *testing.T, conn net.Conn, req *http.Request) *bufio.Reader {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	return br
}

func readRawFrame(t *testing.T, br *bufio.Reader) (opcode byte, payload []byte) {
	t.Helper()
	op, payload, err := readFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	return op, payload
}

func readFrameOrEnd(br *bufio.Reader) (byte, error) {
	op, _, err := readFrame(br)
	return op, err
}

// readFrame reads one unmasked frame, as a server sends them.
func readFrame(br *bufio.Reader) (opcode byte, payload []byte, err error) {
	var head [2]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	return head[0] & 0x0f, payload, nil
}

// The application closes its session while the websocket's reader is
// blocked in Deliver (it never reads, so the receive queue is full): the
// reader sees the session end first, and the client must still get the
// close frame, not a bare end of the connection (1006 in a browser).
func TestWebsocketCloseWhileDeliverBlocked(t *testing.T) {
	srv := newHarness(&harnessOptions{RecvQueue: 1, RecvTimeout: time.Minute}, func(s appSession) {
		time.Sleep(20 * time.Millisecond) // never reads: the client's messages fill the queue
		_ = s.Close(3000, "bye")
	}, &recMetrics{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	for i := range 10 {
		conn, br := dialRawWebsocket(t, ts.URL+"/echo/000/d"+strings.Repeat("x", i)+"/websocket")
		if op, _ := readRawFrame(t, br); op != 1 {
			t.Fatalf("first frame opcode %d, want text (o)", op)
		}
		// Three masked ["x"] messages (zero mask key): one fills the
		// queue, the next blocks the reader in Deliver.
		for range 3 {
			_, _ = conn.Write(append([]byte{0x81, 0x85, 0, 0, 0, 0}, `["x"]`...))
		}
		var closeFrame []byte
		for closeFrame == nil {
			op, payload, err := readFrame(br)
			if err != nil {
				t.Fatalf("connection %d ended without a close frame: %v", i, err)
			}
			if op == 8 {
				closeFrame = payload
			}
		}
		if len(closeFrame) < 2 || binary.BigEndian.Uint16(closeFrame) != 3000 {
			t.Fatalf("connection %d: close frame %q, want code 3000", i, closeFrame)
		}
		conn.Close()
	}
}

// A client that breaks the protocol gets a close frame and then an orderly
// end of the connection, even when it answers the close frame (as clients
// do) after the server has given up on it: closing a socket with bytes
// unread makes the kernel reset the connection, and a reset can reach the
// client before it has read the close frame, or turn its end-of-stream
// into "connection reset by peer" (the official suite's test_broken_json
// failed so, now and then).
func TestWebsocketBadInputEndsWithoutReset(t *testing.T) {
	srv := newHarness(nil, func(s appSession) {
		for {
			if _, err := s.Recv(s.Context()); err != nil {
				return
			}
		}
	}, &recMetrics{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	for i := range 40 {
		conn, br := dialRawWebsocket(t, fmt.Sprintf("%s/echo/000/reset%d/websocket", ts.URL, i))
		if op, p := readRawFrame(t, br); op != 1 || string(p) != "o" {
			t.Fatalf("first frame %d %q, want o", op, p)
		}
		// Broken JSON (masked with a zero key, so the payload reads as is).
		_, _ = conn.Write([]byte{0x81, 0x83, 0, 0, 0, 0, '[', '"', 'a'})
		op, p := readRawFrame(t, br)
		if op != 8 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1007 {
			t.Fatalf("connection %d: frame %d %q, want a close with 1007", i, op, p)
		}
		// The client's answer to the close, and then it waits for the end.
		_, _ = conn.Write([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xef})
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("connection %d: after the close frame %v, want the end of the stream (io.EOF)", i, err)
		}
		conn.Close()
	}
}

// clientFrame is one frame as a client sends it, masked with a zero key
// (so the payload reads as is); op carries the FIN and RSV bits too.
func clientFrame(b0 byte, payload string) []byte {
	var f []byte
	switch n := len(payload); {
	case n < 126:
		f = []byte{b0, 0x80 | byte(n)}
	case n <= 0xFFFF:
		f = binary.BigEndian.AppendUint16([]byte{b0, 0x80 | 126}, uint16(n))
	default:
		f = binary.BigEndian.AppendUint64([]byte{b0, 0x80 | 127}, uint64(n))
	}
	return append(append(f, 0, 0, 0, 0), payload...)
}

// readUntilClose reads frames until the server's close frame and returns
// the data frames before it (opcode and payload) and the close code.
func readUntilClose(t *testing.T, br *bufio.Reader) (frames []string, code int) {
	t.Helper()
	for {
		op, p, err := readFrame(br)
		if err != nil {
			t.Fatalf("no close frame after %q: %v", frames, err)
		}
		switch op {
		case 8:
			if len(p) < 2 {
				return frames, 1005
			}
			return frames, int(binary.BigEndian.Uint16(p))
		case 9, 10:
			continue
		}
		frames = append(frames, fmt.Sprintf("%d:%s", op, p))
	}
}
