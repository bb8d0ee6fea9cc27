package transports_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A websocket endpoint sends nothing after its close frame; browsers fail
// the connection otherwise ("Data frame received after close"). Here the
// application floods the session while the client closes: the reader
// answers the client's close while our writer is busy writing messages,
// and the close must be the last frame either way. A client that reads on
// catches the writer between frames; one that pauses first (its buffers
// fill) leaves the writer blocked in a write, with the next frame ready
// the moment the answer to the close is out.
func TestWebsocketNoDataAfterClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int           // of each message
		pause time.Duration // the client reads nothing for that long, then closes
		conns int
	}{
		{"reading", 1, 0, 30},
		{"paused", 16 << 10, 20 * time.Millisecond, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := strings.Repeat("x", tc.size)
			srv := newHarness(&harnessOptions{SendQueueBytes: 64 << 20}, func(s appSession) {
				for s.Send(msg) == nil {
					time.Sleep(10 * time.Microsecond) // leave the writer room to write
				}
			}, &recMetrics{})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			defer func() { _ = srv.Shutdown(context.Background()) }()

			for i := range tc.conns {
				conn, br := dialRawWebsocket(t, ts.URL+"/flood/000/c"+strings.Repeat("x", i)+"/websocket")
				if op, _ := readRawFrame(t, br); op != 1 {
					t.Fatalf("first frame opcode %d, want text (o)", op)
				}
				time.Sleep(tc.pause)
				_, _ = conn.Write(abCloseFrame(1000, ""))
				closed := false
				for {
					op, _, err := readFrame(br)
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
		})
	}
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
		// Three ["x"] messages: one fills the queue, the next blocks the
		// reader in Deliver.
		for range 3 {
			_, _ = conn.Write(clientFrame(0x81, `["x"]`))
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
		// Broken JSON.
		_, _ = conn.Write(clientFrame(0x81, `["a`))
		op, p := readRawFrame(t, br)
		if op != 8 || len(p) < 2 || binary.BigEndian.Uint16(p) != 1007 {
			t.Fatalf("connection %d: frame %d %q, want a close with 1007", i, op, p)
		}
		// The client's answer to the close, and then it waits for the end.
		_, _ = conn.Write(abCloseFrame(1007, ""))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("connection %d: after the close frame %v, want the end of the stream (io.EOF)", i, err)
		}
		conn.Close()
	}
}
