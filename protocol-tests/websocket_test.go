package protocoltests

// The websocket transports: <session>/websocket (framed, RFC 6455 and
// hixie-76) and the raw <base>/websocket.

import (
	"errors"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// ---- HTTP errors on the websocket URL ---------------------------------

func TestWebsocketHTTPErrors_HTTPMethod(t *testing.T) {
	t.Parallel()
	r := get(t, baseURL(svcEcho)+"/0/0/websocket", nil)
	mustStatus(t, r, 400)
}

// A proxy that rewrote Connection leaves a request that is no upgrade.
func TestWebsocketHTTPErrors_InvalidConnectionHeader(t *testing.T) {
	t.Parallel()
	r := get(t, baseURL(svcEcho)+"/0/0/websocket", H{"Upgrade": "WebSocket", "Connection": "close"})
	mustStatus(t, r, 400)
}

func TestWebsocketHTTPErrors_InvalidMethod(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]H{
		"upgrade": {"Upgrade": "WebSocket", "Connection": "Upgrade"},
		"plain":   nil,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			check405(t, post(t, baseURL(svcEcho)+"/0/0/websocket", "", h))
		})
	}
}

// ---- Framed websocket (RFC 6455) --------------------------------------

func TestWebsocket_Transport(t *testing.T) {
	t.Parallel()
	ws := dialWS(t, sessionURL(svcEcho)+"/websocket")
	ws.mustRecv("o")
	ws.send(`["a"]`)
	ws.mustRecv(`a["a"]`)
}

func TestWebsocket_Close(t *testing.T) {
	t.Parallel()
	ws := dialWS(t, sessionURL(svcClose)+"/websocket")
	ws.mustRecv("o")
	ws.mustRecv(goAwayFrame)
	ws.mustEnd(0)
}

// The handshake answer for the RFC 6455 sample key, checked on the wire.
func TestWebsocket_HeadersSanity(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho) + "/websocket"
	s := open(t, "GET", url, "", H{
		"Upgrade":               "websocket",
		"Connection":            "Upgrade",
		"Sec-WebSocket-Version": "13",
		"Sec-WebSocket-Origin":  "http://asd",
		"Sec-WebSocket-Key":     "x3JJHMbDL1EzLkh9GBhXDw==",
	})
	defer s.close()
	mustStatus(t, s.response, 101)
	checkHeader(t, s.response, "Sec-WebSocket-Accept", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=")
	if got := strings.ToLower(s.header.Get("Connection")); got != "upgrade" {
		t.Errorf("Connection %q, want upgrade", got)
	}
	if got := strings.ToLower(s.header.Get("Upgrade")); got != "websocket" {
		t.Errorf("Upgrade %q, want websocket", got)
	}
	checkNoHeader(t, s.response, "Content-Length")
}

// Empty messages and empty arrays are ignored.
func TestWebsocket_EmptyFrame(t *testing.T) {
	t.Parallel()
	ws := dialWS(t, sessionURL(svcEcho)+"/websocket")
	ws.mustRecv("o")
	ws.send("")
	ws.send("[]")
	ws.send(`["a"]`)
	ws.mustRecv(`a["a"]`)
}

// A websocket session lives as long as its connection: two connections
// may share a session id, and the id may be used again afterwards.
func TestWebsocket_ReuseSessionID(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho) + "/websocket"
	ws1 := dialWS(t, url)
	ws1.mustRecv("o")
	ws2 := dialWS(t, url)
	ws2.mustRecv("o")

	ws1.send(`["a"]`)
	ws1.mustRecv(`a["a"]`)
	ws2.send(`["b"]`)
	ws2.mustRecv(`a["b"]`)
	ws1.close()
	ws2.close()

	ws3 := dialWS(t, url)
	ws3.mustRecv("o")
	ws3.send(`["a"]`)
	ws3.mustRecv(`a["a"]`)
}

// Broken JSON ends the connection (one message before the end is
// tolerated, as in the official suite).
func TestWebsocket_BrokenJSON(t *testing.T) {
	t.Parallel()
	ws := dialWS(t, sessionURL(svcEcho)+"/websocket")
	ws.mustRecv("o")
	ws.send(`["a`)
	ws.mustEnd(1)
}

// ---- hixie-76 ----------------------------------------------------------

// HAProxy forwards the eight key bytes that follow a hixie-76 request
// only after the backend has answered with its headers, so the server
// must write the head of its 101 before it reads them.
func TestWebsocket_HAProxy(t *testing.T) {
	t.Parallel()
	hixieHandshake(t, sessionURL(svcEcho))
}

// A hixie-76 connection carries the same frames as any other websocket.
func TestWebsocket_Hixie76Echo(t *testing.T) {
	t.Parallel()
	c := hixieHandshake(t, sessionURL(svcEcho))
	c.hixieMustRecv("o")
	c.hixieSend(`["a"]`)
	c.hixieMustRecv(`a["a"]`)
	c.hixieSend(`["b"]`)
	c.hixieMustRecv(`a["b"]`)
}

func TestWebsocket_Hixie76Close(t *testing.T) {
	t.Parallel()
	c := hixieHandshake(t, sessionURL(svcClose))
	c.hixieMustRecv("o")
	c.hixieMustRecv(goAwayFrame)
	if msg, closed := c.hixieNext(); !closed {
		t.Fatalf("hixie-76: got %q, want the connection to end", msg)
	}
}

func TestWebsocket_Hixie76BrokenJSON(t *testing.T) {
	t.Parallel()
	c := hixieHandshake(t, sessionURL(svcEcho))
	c.hixieMustRecv("o")
	c.hixieSend(`["a`)
	for i := 0; ; i++ {
		msg, closed := c.hixieNext()
		if closed {
			break
		}
		if i >= 1 {
			t.Fatalf("hixie-76: got %q, want the connection to end", msg)
		}
	}
}

// ---- Raw websocket: <base>/websocket ----------------------------------

func TestRawWebsocket_Transport(t *testing.T) {
	t.Parallel()
	ws := dialWS(t, baseURL(svcEcho)+"/websocket")
	ws.send("Hello world!\uffff")
	ws.mustRecv("Hello world!\uffff")
}

// The app's close reaches a raw websocket client as a close frame with
// the app's reason.
func TestRawWebsocket_Close(t *testing.T) {
	t.Parallel()
	ws := dialWS(t, baseURL(svcClose)+"/websocket")
	err := ws.mustEnd(0)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("connection ended with %v, want a close frame", err)
	}
	if ce.Text != "Go away!" {
		t.Errorf("close reason %q, want %q", ce.Text, "Go away!")
	}
}
