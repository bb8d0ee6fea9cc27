package ws

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// h2Request is an extended CONNECT as Go's HTTP/2 server hands it over.
func h2Request(body io.Reader, header http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://example.com/echo/websocket", body)
	r.Method = http.MethodConnect // set after: NewRequest reads a CONNECT's target as a host
	r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
	r.Header[":protocol"] = []string{"websocket"}
	r.Header.Set("Sec-WebSocket-Version", "13")
	for k, v := range header {
		r.Header[k] = v
	}
	return r
}

// flushRecorder is a ResponseRecorder that is safe to read while written
// and counts its flushes.
type flushRecorder struct {
	*httptest.ResponseRecorder
	mu      sync.Mutex
	flushes int
}

func (f *flushRecorder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ResponseRecorder.Write(p)
}

func (f *flushRecorder) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes++
	f.ResponseRecorder.Flush()
}

func (f *flushRecorder) body() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.Body.Bytes())
}

// An RFC 8441 handshake is answered 200 without Sec-WebSocket-Accept;
// the frames then go over the request body and the response, each write
// flushed; held, the 200 leaves with the first frame.
func TestUpgradeExtendedConnect(t *testing.T) {
	for _, hold := range []bool{false, true} {
		pr, pw := io.Pipe()
		rec := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
		r := h2Request(pr, nil)
		if !IsExtendedConnect(r) {
			t.Fatal("not taken for an extended CONNECT")
		}
		c, err := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second, TextOnly: true}).Upgrade(rec, r, hold)
		if err != nil {
			t.Fatal(err)
		}
		if !c.OverHTTP2() {
			t.Fatal("not OverHTTP2")
		}
		if rec.Code != http.StatusOK || rec.Header().Get("Sec-WebSocket-Accept") != "" {
			t.Fatalf("answer %d, Sec-WebSocket-Accept %q; want 200 and none", rec.Code, rec.Header().Get("Sec-WebSocket-Accept"))
		}
		if want := map[bool]int{false: 1, true: 0}[hold]; rec.flushes != want {
			t.Fatalf("hold %v: %d flushes after the handshake, want %d", hold, rec.flushes, want)
		}
		go func() { _, _ = pw.Write(clientFrame(true, opText, []byte("hello"), [4]byte{1, 2, 3, 4})) }()
		msg, err := c.ReadMessage()
		if err != nil || string(msg) != "hello" {
			t.Fatalf("read %q, %v", msg, err)
		}
		if err := c.WriteText(append(make([]byte, Headroom), "back"...)); err != nil {
			t.Fatal(err)
		}
		if got, want := rec.body(), Frame(append(make([]byte, Headroom), "back"...), OpText); !bytes.Equal(got, want) {
			t.Fatalf("wrote %q, want the frame %q", got, want)
		}
		if rec.flushes < 1 {
			t.Fatal("the frame was not flushed")
		}
		// Close makes writes fail; the recorder knows no deadlines, so
		// the body is closed here as the server's would be.
		_ = c.Close()
		if err := c.WriteText(append(make([]byte, Headroom), "late"...)); err == nil {
			t.Fatal("a write after Close succeeded")
		}
		_ = pw.Close()
	}
}

// Extended CONNECTs that are not websocket handshakes are refused.
func TestUpgradeExtendedConnectRefusals(t *testing.T) {
	u := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second})
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"protocol", http.Header{":protocol": {"connect-udp"}}, http.StatusBadRequest},
		{"version", http.Header{"Sec-Websocket-Version": {"8"}}, http.StatusBadRequest},
		{"origin", http.Header{"Origin": {"https://elsewhere.example"}}, http.StatusForbidden},
	} {
		rec := httptest.NewRecorder()
		if _, err := u.Upgrade(rec, h2Request(http.NoBody, tc.header), false); err == nil || rec.Code != tc.status {
			t.Errorf("%s: %d, %v; want %d and an error", tc.name, rec.Code, err, tc.status)
		}
		if tc.name == "version" && rec.Header().Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("version refusal names %q, want 13", rec.Header().Get("Sec-WebSocket-Version"))
		}
	}
	// Same origin passes the default check.
	rec := httptest.NewRecorder()
	if _, err := u.Upgrade(rec, h2Request(http.NoBody, http.Header{"Origin": {"https://example.com"}}), false); err != nil || rec.Code != http.StatusOK {
		t.Errorf("same origin: %d, %v", rec.Code, err)
	}
}
