package ws

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// Frame's headers at the payload length boundaries, read back by
// gorilla's client: a reader we did not write.
func TestFrameLengths(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second}).Upgrade(w, r, false)
		if err != nil {
			return
		}
		defer c.Close()
		for _, n := range sizes {
			buf := append(make([]byte, Headroom, Headroom+n), bytes.Repeat([]byte{'a'}, n)...)
			if err := c.WriteText(buf); err != nil {
				return
			}
		}
		_ = c.WritePong(bytes.Repeat([]byte{'p'}, 125))
		_ = c.WriteClose(1000, "", time.Now().Add(time.Second))
		_, _ = c.ReadMessage() // until the client's answer
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pongs := 0
	c.SetPongHandler(func(data string) error {
		if len(data) == 125 {
			pongs++
		}
		return nil
	})
	for _, n := range sizes {
		typ, m, err := c.ReadMessage()
		if err != nil || typ != websocket.TextMessage || len(m) != n {
			t.Fatalf("payload of %d: type %d, %d bytes, %v", n, typ, len(m), err)
		}
	}
	_, _, err = c.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != 1000 || pongs != 1 {
		t.Fatalf("after the messages: %v, %d pongs of 125 bytes; want close 1000 and one pong", err, pongs)
	}
}

func TestTruncateReason(t *testing.T) {
	for _, s := range []string{"", "short", strings.Repeat("a", 123), strings.Repeat("a", 200), strings.Repeat("é", 100), strings.Repeat("😀", 40)} {
		got := TruncateReason(s)
		if len(got) > 123 || !strings.HasPrefix(s, got) || !utf8.ValidString(got) {
			t.Errorf("TruncateReason(%d bytes) = %d bytes %q", len(s), len(got), got)
		}
		if len(s) <= 123 && got != s {
			t.Errorf("TruncateReason shortened a %d-byte reason", len(s))
		}
		if len(s) > 123 && len(got) < 120 {
			t.Errorf("TruncateReason(%d bytes) cut to %d bytes", len(s), len(got))
		}
	}
}

// recordingConn is a net.Conn that records what is written to it.
type recordingConn struct {
	net.Conn // nil: only Write is used
	writes   [][]byte
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// The guard keeps the handshake back and sends it, in order, with the
// first frame; without holdFirst every write goes out as it comes; nothing
// passes after a close frame.
func TestGuard(t *testing.T) {
	handshake := []byte("HTTP/1.1 101 Switching Protocols\r\n\r\n")
	open := Frame(append(make([]byte, Headroom), 'o'), OpText)
	closing := Frame(append(make([]byte, Headroom), 0x03, 0xe8), OpClose)
	for _, hold := range []bool{true, false} {
		rec := &recordingConn{}
		g := NewGuard(rec, IsClose, hold)
		if n, err := g.Write(handshake); n != len(handshake) || err != nil {
			t.Fatalf("hold %v: handshake write = %d, %v", hold, n, err)
		}
		if hold && len(rec.writes) != 0 {
			t.Fatalf("handshake written before the first frame: %q", rec.writes)
		}
		if n, err := g.Write(open); n != len(open) || err != nil {
			t.Fatalf("hold %v: frame write = %d, %v", hold, n, err)
		}
		if n, err := g.Write(closing); n != len(closing) || err != nil {
			t.Fatalf("hold %v: close write = %d, %v", hold, n, err)
		}
		if _, err := g.Write(open); !errors.Is(err, ErrCloseSent) {
			t.Fatalf("hold %v: write after close: %v, want ErrCloseSent", hold, err)
		}
		got := bytes.Join(rec.writes, nil)
		if want := bytes.Join([][]byte{handshake, open, closing}, nil); !bytes.Equal(got, want) {
			t.Fatalf("hold %v: wrote %q, want %q", hold, got, want)
		}
	}
}
