package transports_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Websockets over HTTP/2 are tested in internal/ws (the handshake and the
// stream as a connection) and in Chromium (web/e2e/h2ws.test.js): Go's own
// client cannot send an extended CONNECT, as http.Transport refuses the
// ":protocol" header before its HTTP/2 code would send it.

// A CONNECT over HTTP/1.1 is no websocket handshake: 400, saying why.
func TestWebsocketConnectOverHTTP1(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest(http.MethodConnect, e.sessionURL(e.newID("h1c"), "websocket"), nil)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTP/2") {
		t.Fatalf("HTTP/1.1 CONNECT: %d %q, want 400 naming HTTP/2", resp.StatusCode, body)
	}
}
