package transports

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/session"
)

type nopObserver struct{}

func (nopObserver) MessagesIn(string, int, int)  {}
func (nopObserver) MessagesOut(string, int, int) {}
func (nopObserver) Refused(string)               {}
func (nopObserver) ReceiverConflict(string)      {}
func (nopObserver) Heartbeat(string)             {}

func benchLimits() session.Limits {
	return session.Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 1024, RecvQueue: 16,
		RecvTimeout: time.Second, DisconnectDelay: time.Minute}
}

// BenchmarkEnvelope measures each HTTP transport's framing of one frame.
func BenchmarkEnvelope(b *testing.B) {
	frame := session.AppendMessages(nil, []string{`a message with "quotes" </script> and 100%`})
	for _, k := range []*receiverKind{&xhrPolling, &eventSource, &htmlFile, &jsonpPolling} {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 512)
			for b.Loop() {
				buf = k.envelope(buf[:0], "callback", frame)
			}
		})
	}
}

// discardConn is a websocket connection that writes nowhere and tells the
// benchmark each time a frame was written.
type discardConn struct{ wrote chan struct{} }

func (c *discardConn) ReadMessage() ([]byte, error) { select {} }

// netConn is for the end of reading, which never comes here.
func (c *discardConn) netConn() net.Conn { return nil }
func (c *discardConn) WriteText([]byte) error {
	c.wrote <- struct{}{}
	return nil
}
func (c *discardConn) WritePing() error                        { return nil }
func (c *discardConn) WritePong([]byte) error                  { return nil }
func (c *discardConn) SetWriteDeadline(time.Time) error        { return nil }
func (c *discardConn) OnPing(func([]byte))                     {}
func (c *discardConn) WriteClose(int, string, time.Time) error { return nil }
func (c *discardConn) SetReadDeadline(time.Time) error         { return nil }
func (c *discardConn) OnActivity(func())                       {}
func (c *discardConn) Close() error                            { return nil }

// BenchmarkWebsocketWritePath is one outgoing websocket message end to
// end, minus the network: Send, the writer's wake-up, Next, framing, the
// write call. The design allows it no allocation.
func BenchmarkWebsocketWritePath(b *testing.B) {
	cfg := &Config{Heartbeat: time.Hour, WriteTimeout: time.Second, Observer: nopObserver{},
		Logger: slog.New(slog.DiscardHandler)}
	t := &websocketTransport{cfg: cfg}
	s := session.New("bench", "", benchLimits(), nil)
	conn := &discardConn{wrote: make(chan struct{})}
	c := t.newStream(conn, s)
	c.pump.kick()
	benchSendOneByOne(b, s, conn.wrote)
	c.pump.stop()
}

// discardResponse is an http.ResponseWriter that writes nowhere.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(p []byte) (int, error) { return io.Discard.Write(p) }
func (d *discardResponse) WriteHeader(int)             {}
func (d *discardResponse) Flush()                      {}

func (d *discardResponse) SetWriteDeadline(time.Time) error { return nil }

// BenchmarkHTTPWritePath is one outgoing message on each HTTP receiver's
// response served by net/http (polls; streams where the connection cannot
// be taken over): framing, envelope, and the write with its deadline and,
// for streams, flush.
func BenchmarkHTTPWritePath(b *testing.B) {
	for _, k := range []*receiverKind{&xhrPolling, &jsonpPolling, &xhrStreaming, &eventSource, &htmlFile} {
		b.Run(k.name, func(b *testing.B) {
			fw := newFrameWriter(&discardResponse{h: http.Header{}}, time.Second, k, "callback")
			batch := session.Batch{Kind: session.FrameMessages, Messages: []string{"hello, world 123"}}
			b.ReportAllocs()
			for b.Loop() {
				if err := fw.writeBatch(&batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// notifyConn is a net.Conn that writes nowhere and tells the benchmark
// each time something was written.
type notifyConn struct {
	net.Conn // nil: only the methods below are used
	wrote    chan struct{}
}

func (c *notifyConn) Write(p []byte) (int, error) {
	c.wrote <- struct{}{}
	return len(p), nil
}
func (c *notifyConn) SetWriteDeadline(time.Time) error { return nil }
func (c *notifyConn) SetReadDeadline(time.Time) error  { return nil }
func (c *notifyConn) Close() error                     { return nil }

// BenchmarkHijackedStreamWritePath is one outgoing message on each HTTP
// streaming response served on the hijacked connection (HTTP/1.1): Send,
// the writer's wake-up, Next, framing, envelope, chunk and write, minus
// the network.
func BenchmarkHijackedStreamWritePath(b *testing.B) {
	cfg := &Config{Heartbeat: time.Hour, WriteTimeout: time.Second, ResponseLimit: math.MaxInt,
		Observer: nopObserver{}, Logger: slog.New(slog.DiscardHandler)}
	for _, k := range []*receiverKind{&xhrStreaming, &eventSource, &htmlFile} {
		b.Run(k.name, func(b *testing.B) {
			s := session.New("bench", "", benchLimits(), nil)
			conn := &notifyConn{wrote: make(chan struct{})}
			c := &hijackStream{t: &receiver{cfg: cfg, kind: k}, conn: conn, s: s, callback: "callback"}
			c.pump.flush = c.flush
			_ = s.Attach(context.Background(), &c.lease, c.t.mode(), 0, c.pump.kick)
			c.pump.kick()
			benchSendOneByOne(b, s, conn.wrote)
			c.pump.stop()
		})
	}
}

// benchSendOneByOne sends messages into s one at a time, each time
// waiting until the connection under test has written it (wrote), after
// the open frame and before the close frame.
func benchSendOneByOne(b *testing.B, s *session.Session, wrote <-chan struct{}) {
	<-wrote // the open frame
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send("hello, world 123"); err != nil {
			b.Fatal(err)
		}
		<-wrote
	}
	b.StopTimer()
	_ = s.Close(1000, "")
	<-wrote // the close frame
}
