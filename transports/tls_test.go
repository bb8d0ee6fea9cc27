package transports_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Streams work over TLS: on HTTP/1.1 the receiver takes the *tls.Conn
// over; HTTP/2 cannot be hijacked, so net/http serves the stream.
func TestStreamOverTLS(t *testing.T) {
	for _, tc := range []struct {
		name      string
		http2     bool
		wantProto int
		wantClose bool // Connection: close, the mark of a hijacked stream
	}{
		{"http1.1", false, 1, true},
		{"http2", true, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newHarness(nil, echoEach, &recMetrics{})
			ts := httptest.NewUnstartedServer(srv)
			ts.EnableHTTP2 = tc.http2
			ts.StartTLS()
			defer ts.Close()
			defer func() { _ = srv.Shutdown(context.Background()) }()
			client := ts.Client()

			base := ts.URL + "/echo/000/tls/"
			resp, err := client.Post(base+"xhr_streaming", "text/plain", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != tc.wantProto || resp.Close != tc.wantClose {
				t.Fatalf("status %d, %s, close %v; want 200, HTTP/%d, close %v",
					resp.StatusCode, resp.Proto, resp.Close, tc.wantProto, tc.wantClose)
			}
			lines := bufio.NewReader(resp.Body)
			next := func() string {
				t.Helper()
				line, err := lines.ReadString('\n')
				if err != nil {
					t.Fatalf("reading the stream: %v", err)
				}
				return strings.TrimSuffix(line, "\n")
			}
			if prelude := next(); prelude != strings.Repeat("h", 2048) {
				t.Fatalf("prelude of %d bytes", len(prelude))
			}
			if open := next(); open != "o" {
				t.Fatalf("first frame %q, want o", open)
			}
			sent, err := client.Post(base+"xhr_send", "text/plain", strings.NewReader(`["over tls"]`))
			if err != nil {
				t.Fatal(err)
			}
			sent.Body.Close()
			if sent.StatusCode != http.StatusNoContent {
				t.Fatalf("xhr_send: %d", sent.StatusCode)
			}
			if got := next(); got != `a["over tls"]` {
				t.Fatalf("frame %q, want the echo", got)
			}
		})
	}
}

// Websockets work over TLS, where the reader has no descriptor to wait on
// and reads through the *tls.Conn with a buffer of its own: messages in
// one frame and across many reads, the handshake held for the open frame
// (two TLS records there), and the close.
func TestWebsocketOverTLS(t *testing.T) {
	srv := newHarness(nil, echoEach, &recMetrics{})
	ts := httptest.NewTLSServer(srv)
	defer ts.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	dialer := websocket.Dialer{TLSClientConfig: ts.Client().Transport.(*http.Transport).TLSClientConfig}
	c, _, err := dialer.Dial(wsURL(ts.URL)+"/echo/000/tls/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, p, err := c.ReadMessage(); err != nil || string(p) != "o" {
		t.Fatalf("first frame %q, %v; want o", p, err)
	}
	for _, msg := range []string{"hello", strings.Repeat("x", 100<<10)} {
		frame, _ := json.Marshal([]string{msg})
		if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal([]string{msg})
		if _, p, err := c.ReadMessage(); err != nil || string(p) != "a"+string(want) {
			t.Fatalf("echo of a %d-byte message: %.40q…, %v", len(msg), p, err)
		}
	}
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"), time.Now().Add(time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, 1000) {
		t.Fatalf("after the client's close: %v, want the server's close 1000", err)
	}
}

// echoEach sends every message back.
func echoEach(s appSession) {
	for {
		msg, err := s.Recv(s.Context())
		if err != nil {
			return
		}
		_ = s.Send(msg)
	}
}
