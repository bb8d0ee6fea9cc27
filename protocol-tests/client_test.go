package protocoltests

// Whole sessions over every transport, spoken the way sockjs-client
// speaks them (internal/sockjsclient): where the byte-exact checks of the
// other files say what the server writes, these say that a client decodes
// it back to what was sent.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// dialClient opens a session of service with transport; it is closed
// when the test ends.
func dialClient(t testing.TB, transport, service string) sockjsclient.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	c, err := sockjsclient.Dial(ctx, transport, baseURL(service), nil)
	if err != nil {
		t.Fatalf("%s session of %s: %v", transport, service, err)
	}
	t.Cleanup(func() { _ = c.Close(sockjsclient.CloseGraceful) })
	return c
}

// clientEcho sends msgs in one batch and wants each back, in order.
func clientEcho(t testing.TB, c sockjsclient.Conn, msgs ...string) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	if err := c.Send(msgs, deadline); err != nil {
		t.Fatalf("send: %v", err)
	}
	var got []string
	for len(got) < len(msgs) {
		m, err := sockjsclient.ReadMessages(c, deadline)
		if err != nil {
			t.Fatalf("after %d of %d echoes: %v", len(got), len(msgs), err)
		}
		got = append(got, m...)
	}
	for i := range msgs {
		if got[i] != msgs[i] {
			t.Fatalf("echo %d is %+q, want %+q", i, got[i], msgs[i])
		}
	}
}

// Spring did not escape '%' for eventsource (decodeURI throws on it);
// sockjs-node let "</script>" end htmlfile's script element. Any string
// must come back intact over every transport.
func TestRegression_EveryTransportDeliversAnyMessage(t *testing.T) {
	t.Parallel()
	msgs := []string{
		"100% %41 %zz %", "</script><script>alert(1)</script>", "<!-- --> ]]>",
		"line\nfeed\rreturn\x00nul\ttab", `quote " backslash \ slash /`, "\"); alert(1); (\"",
		";/?:@&=+$,#", "é ü 😀 \u2028\u2029 \ufeff \uffff", "",
		string(codePoints(clientEscapes, 0)), string(codePoints(serverEscapes, 0xff)),
	}
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			c := dialClient(t, tr, svcEcho)
			clientEcho(t, c, msgs...)
			for _, m := range msgs {
				clientEcho(t, c, m)
			}
		})
	}
}

// Spring wrote the close frame without the transport's envelope, so
// sockjs-client never saw it. Every transport must deliver it.
func TestRegression_CloseFrameReachesEveryTransport(t *testing.T) {
	t.Parallel()
	for _, tr := range sockjsclient.Transports() {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			c := dialClient(t, tr, svcClose)
			_, err := sockjsclient.ReadMessages(c, time.Now().Add(ioTimeout))
			var ce *sockjsclient.CloseError
			if !errors.As(err, &ce) || ce.Code != 3000 || ce.Reason != "Go away!" {
				t.Fatalf("got %v, want the close frame 3000 \"Go away!\"", err)
			}
		})
	}
}

// A streaming response ends at the response limit (4096 bytes on the test
// server); the client opens the next and the session goes on, nothing
// lost or repeated.
func TestStreaming_SessionOutlivesResponses(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{sockjsclient.XHRStreaming, sockjsclient.EventSource, sockjsclient.HTMLFile} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			c := dialClient(t, tr, svcEcho)
			for i := range 12 { // about 12 KiB: three responses at least
				clientEcho(t, c, strings.Repeat(string(rune('a'+i)), 1000), "small")
			}
		})
	}
}

// The disabled_websocket_echo service refuses the websocket; every other
// transport works.
func TestDisabledWebsocket_OtherTransports(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if c, err := sockjsclient.Dial(ctx, sockjsclient.WebSocket, baseURL(svcNoWS), nil); err == nil {
		c.Close(sockjsclient.CloseDrop)
		t.Error("websocket session opened on disabled_websocket_echo")
	}
	for _, tr := range sockjsclient.Transports() {
		if tr == sockjsclient.WebSocket {
			continue
		}
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			clientEcho(t, dialClient(t, tr, svcNoWS), "a", "b")
		})
	}
}
