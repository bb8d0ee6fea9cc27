package protocoltests

// HTTP/1.0 and HTTP/1.1 framing of responses, checked on the wire, and an
// HTTP quirk (http-quirks.py).

import (
	"strconv"
	"strings"
	"testing"
)

const greeting = "Welcome to SockJS!\n"

// keepAlive is what an HTTP/1.0 client that wants to reuse its connection
// sends (not valid HTTP/1.0, but sent in practice).
var keepAlive = H{"Connection": "Keep-Alive"}

// A plain response to HTTP/1.0 is delimited by Content-Length or by the
// end of the connection, never chunked.
func TestHTTP10_Synchronous(t *testing.T) {
	t.Parallel()
	url := baseURL(svcEcho)
	c := dialRaw(t, url)
	r := c.request("GET", url, "1.0", "", keepAlive)
	mustStatus(t, r, 200)
	if r.proto != "1.0" && r.proto != "1.1" {
		t.Errorf("response version HTTP/%s", r.proto)
	}
	checkNoHeader(t, r, "Transfer-Encoding")

	conn := strings.ToLower(r.header.Get("Connection"))
	if r.header.Get("Content-Length") == "" {
		if conn != "close" {
			t.Fatalf("no Content-Length and Connection %q, want close", conn)
		}
		if got := c.readAll(); got != greeting {
			t.Errorf("body %q, want %q", got, greeting)
		}
		return
	}
	if n, _ := strconv.Atoi(r.header.Get("Content-Length")); n != len(greeting) {
		t.Fatalf("Content-Length %q, want %d", r.header.Get("Content-Length"), len(greeting))
	}
	if got := c.readN(len(greeting)); got != greeting {
		t.Fatalf("body %q, want %q", got, greeting)
	}
	switch conn {
	case "close", "":
		c.mustBeClosed("HTTP/1.0 response without keep-alive")
	case "keep-alive":
		r = c.request("GET", url, "1.0", "", keepAlive)
		mustStatus(t, r, 200)
	default:
		t.Errorf("Connection %q, want close, keep-alive or none", conn)
	}
}

// A streaming response to HTTP/1.0 has neither Transfer-Encoding nor
// Content-Length: it ends with the connection.
func TestHTTP10_Streaming(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcClose) + "/xhr_streaming"
	c := dialRaw(t, url)
	r := c.request("POST", url, "1.0", "", keepAlive)
	mustStatus(t, r, 200)
	checkNoHeader(t, r, "Transfer-Encoding")
	checkNoHeader(t, r, "Content-Length")

	if got := c.readN(len(xhrPrelude)); got != xhrPrelude {
		t.Fatalf("prelude %.40q..., want 2048 'h' and a newline", got)
	}
	if got := c.readN(2); got != "o\n" {
		t.Fatalf("got %q, want %q", got, "o\n")
	}
	if got := c.readN(len(goAwayFrame) + 1); got != goAwayFrame+"\n" {
		t.Fatalf("got %q, want %q", got, goAwayFrame+"\n")
	}
	c.mustBeClosed("HTTP/1.0 streaming response after the close frame")
}

// HTTP/1.1 keeps the connection open and delimits with Content-Length or
// chunks.
func TestHTTP11_Synchronous(t *testing.T) {
	t.Parallel()
	url := baseURL(svcEcho)
	c := dialRaw(t, url)
	r := c.request("GET", url, "1.1", "", keepAlive)
	if conn := strings.ToLower(r.header.Get("Connection")); conn != "keep-alive" && conn != "" {
		t.Errorf("Connection %q: keep-alive not supported", conn)
	}
	if cl := r.header.Get("Content-Length"); cl != "" {
		if n, _ := strconv.Atoi(cl); n != len(greeting) {
			t.Fatalf("Content-Length %q, want %d", cl, len(greeting))
		}
		if got := c.readN(len(greeting)); got != greeting {
			t.Fatalf("body %q, want %q", got, greeting)
		}
		checkNoHeader(t, r, "Transfer-Encoding")
	} else {
		if te := strings.ToLower(r.header.Get("Transfer-Encoding")); te != "chunked" {
			t.Fatalf("neither Content-Length nor chunked (Transfer-Encoding %q)", te)
		}
		if got := c.readChunk(); got != greeting {
			t.Fatalf("chunk %q, want %q", got, greeting)
		}
		if got := c.readChunk(); got != "" {
			t.Fatalf("chunk %q, want the last chunk", got)
		}
	}
	r = c.request("GET", url, "1.1", "", keepAlive)
	mustStatus(t, r, 200)
}

// A streaming response to HTTP/1.1 is chunked, one frame per chunk.
func TestHTTP11_Streaming(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcClose) + "/xhr_streaming"
	c := dialRaw(t, url)
	r := c.request("POST", url, "1.1", "", keepAlive)
	mustStatus(t, r, 200)
	if te := strings.ToLower(r.header.Get("Transfer-Encoding")); te != "chunked" {
		t.Fatalf("Transfer-Encoding %q, want chunked", te)
	}
	checkNoHeader(t, r, "Content-Length")

	if got := c.readChunk(); !strings.HasPrefix(got, "h") {
		t.Fatalf("first chunk %.40q, want the prelude", got)
	}
	for _, want := range []string{"o\n", goAwayFrame + "\n", ""} {
		if got := c.readChunk(); got != want {
			t.Fatalf("chunk %q, want %q", got, want)
		}
	}
}

// A POST with no Content-Length at all (and so no body) must still work.
func TestHTTPQuirks_EmptyContentLengthForPost(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho) + "/xhr"
	c := dialRaw(t, url)
	c.write("POST " + requestTarget(url) + " HTTP/1.1\r\nHost: " + c.host + "\r\n\r\n")
	r := c.readHead("POST (no Content-Length) " + url)
	c.readBody("POST", r)
	mustStatus(t, r, 200)
	mustBody(t, r, "o\n")
}
