package sockjsclient

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loopConn is a net.Conn that discards writes and answers reads from one
// canned byte string, over and over: the client's own cost per message,
// without a server or the kernel.
type loopConn struct {
	data []byte
	off  int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}

func (c *loopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *loopConn) Close() error                     { return nil }
func (c *loopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }
func newLoopConn(s string) *loopConn                 { return &loopConn{data: []byte(s)} }

// benchMessage is what the load tool's echo sends: 8 hex digits and
// padding, 64 bytes.
func benchMessage() string { return "00000007" + strings.Repeat("x", 56) }
func benchFrame() string   { return `a["` + benchMessage() + `"]` }

// benchHTTP is an httpConn of a session on 127.0.0.1:1 already
// connected to c.
func benchHTTP(c net.Conn) httpConn {
	s, err := newSession("http://127.0.0.1:1/echo", &Options{ServerID: "000", SessionID: "abcdefgh"})
	if err != nil {
		panic(err)
	}
	return httpConn{s: s, c: c, cur: s.fixed, br: bufio.NewReaderSize(c, 4096)}
}

func httpAnswer(status, body string) string {
	return "HTTP/1.1 " + status + "\r\nContent-Type: application/javascript; charset=UTF-8\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func BenchmarkWebsocketSend(b *testing.B) {
	ws := &wsConn{c: newLoopConn("x")}
	msgs := []string{benchMessage()}
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.Send(msgs, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWebsocketRecv(b *testing.B) {
	f := benchFrame()
	c := newLoopConn("\x81" + string(rune(len(f))) + f)
	ws := &wsConn{c: c, br: bufio.NewReaderSize(c, 4096)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadMessages(ws, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkXHRSend(b *testing.B) {
	c := newLoopConn("HTTP/1.1 204 No Content\r\n\r\n")
	s := &sender{hc: benchHTTP(c)}
	msgs := []string{benchMessage()}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(msgs, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkXHRPollingRecv(b *testing.B) {
	c := newLoopConn(httpAnswer("200 OK", benchFrame()+"\n"))
	x := &poller{kind: &xhrPollingKind, recv: benchHTTP(c)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadMessages(x, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkXHRStreamingRecv(b *testing.B) {
	c := newLoopConn(strings.Repeat(benchFrame()+"\n", 16))
	x := &stream{kind: &xhrStreamingKind, recv: benchHTTP(c), body: bufio.NewReaderSize(c, 4096), closer: c}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadMessages(x, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFrame(b *testing.B) {
	f := []byte(`a["` + benchMessage() + `","` + benchMessage() + `"]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFrame(f); err != nil {
			b.Fatal(err)
		}
	}
}
