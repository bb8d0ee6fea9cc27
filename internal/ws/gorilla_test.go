package ws

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The tests of the gorilla behaviours gorilla.go lists. Each fails if an
// upgrade of gorilla/websocket changes what we rely on.

const upgradeRequest = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

// upgradeServer serves every request with handle and returns its address.
func upgradeServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(handle))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func dialTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// 1. A client that sends a frame before the handshake is answered is
// refused, so nothing is left buffered for our reader to miss; one that
// waits is served.
func TestGorillaRefusesEarlyData(t *testing.T) {
	type result struct {
		c   *Conn
		err error
	}
	results := make(chan result, 1)
	u := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second})
	addr := upgradeServer(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, false)
		if c != nil {
			defer c.Close()
		}
		results <- result{c, err}
		if c != nil {
			_, _ = c.ReadMessage()
		}
	})
	frame := []byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i'} // masked with a zero key

	early := dialTCP(t, addr)
	if _, err := early.Write(append([]byte(upgradeRequest), frame...)); err != nil {
		t.Fatal(err)
	}
	if r := <-results; r.err == nil {
		t.Fatal("a handshake followed by a frame in the same read was accepted: gorilla may leave bytes buffered that our reader never sees")
	}
	if b, _ := io.ReadAll(early); bytes.Contains(b, []byte(" 101 ")) {
		t.Fatalf("the early client got %q", b)
	}

	patient := dialTCP(t, addr)
	if _, err := patient.Write([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(patient), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}
	if r := <-results; r.err != nil {
		t.Fatalf("a client that waited was refused: %v", r.err)
	}
}

// 2. The 101 response is one Write on the connection Hijack returned (our
// Guard), so that the guard can hold it for the first frame; the
// deadlines net/http set on the connection are cleared.
func TestGorillaHandshakeOneWriteThroughGuard(t *testing.T) {
	type seen struct {
		guard bool
		held  string
		err   error
	}
	seenc := make(chan seen, 1)
	u := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := u.Upgrade(w, r, true)
		if err != nil {
			seenc <- seen{err: err}
			return
		}
		defer c.Close()
		g, ok := c.NetConn().(*Guard)
		s := seen{guard: ok}
		if ok {
			g.mu.Lock()
			s.held = string(g.held)
			g.mu.Unlock()
		}
		seenc <- s
		// Past the server's ReadTimeout: a deadline left on the
		// connection would fail this read.
		msg, err := c.ReadMessage()
		if err == nil {
			buf := append(make([]byte, Headroom), msg...)
			err = c.WriteText(buf)
		}
		if err != nil {
			_ = c.WriteClose(1011, err.Error(), time.Now().Add(time.Second))
		}
	}))
	srv.Config.ReadTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()

	conn := dialTCP(t, srv.Listener.Addr().String())
	if _, err := conn.Write([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	s := <-seenc
	switch {
	case s.err != nil:
		t.Fatal(s.err)
	case !s.guard:
		t.Fatal("the connection under the frames is not the Guard Hijack returned")
	case !strings.HasPrefix(s.held, "HTTP/1.1 101 ") || !strings.HasSuffix(s.held, "\r\n\r\n"):
		t.Fatalf("the guard holds %q, want the whole 101 response from one write", s.held)
	}
	time.Sleep(150 * time.Millisecond) // the server's ReadTimeout passes
	if _, err := conn.Write([]byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i'}); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v, %v", resp, err)
	}
	frame := make([]byte, 4)
	if _, err := io.ReadFull(br, frame); err != nil || string(frame) != "\x81\x02hi" {
		t.Fatalf("after the handshake: % x, %v; want the echo (a deadline left by net/http would have failed the read)", frame, err)
	}
}

// 3. Compression is never negotiated, and cannot be asked for: Config has
// no field for it.
func TestGorillaNoCompression(t *testing.T) {
	u := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := u.Upgrade(w, r, false); err == nil {
			_ = c.Close()
		}
	}))
	defer srv.Close()
	d := websocket.Dialer{EnableCompression: true}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if ext := resp.Header.Values("Sec-WebSocket-Extensions"); len(ext) != 0 {
		t.Fatalf("the handshake negotiated extensions %q; our frames know no compression", ext)
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Config]()) {
		if strings.Contains(strings.ToLower(f.Name), "compress") {
			t.Errorf("Config.%s: compression must not be configurable", f.Name)
		}
	}
}

// 4. With a write buffer pool set, gorilla's connection does not adopt
// net/http's write buffer (nor draw from the pool, as it writes nothing).
func TestGorillaAdoptsNoWriteBuffer(t *testing.T) {
	u := NewUpgrader(Config{MaxMessageSize: 1 << 20, WriteTimeout: time.Second})
	type seen struct {
		writeBuf reflect.Value
		err      error
	}
	seenc := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Upgrader exactly as Upgrade uses it, to see gorilla's conn.
		gc, err := u.up.Upgrade(guardedHijacker{w, false}, r, nil)
		if err != nil {
			seenc <- seen{err: err}
			return
		}
		defer gc.Close()
		seenc <- seen{writeBuf: reflect.ValueOf(gc).Elem().FieldByName("writeBuf")}
	}))
	defer srv.Close()
	conn := dialTCP(t, srv.Listener.Addr().String())
	if _, err := conn.Write([]byte(upgradeRequest)); err != nil {
		t.Fatal(err)
	}
	s := <-seenc
	switch {
	case s.err != nil:
		t.Fatal(s.err)
	case !s.writeBuf.IsValid():
		t.Fatal("gorilla's Conn has no writeBuf field any more: check what it does with net/http's write buffer")
	case s.writeBuf.Len() != 0 || s.writeBuf.Cap() != 0:
		t.Fatalf("gorilla's Conn holds a write buffer of %d bytes after the handshake", s.writeBuf.Cap())
	}
	if b := writeBuffers.Get(); b != nil {
		t.Fatalf("gorilla drew a write buffer from the pool: %T", b)
	}
}
