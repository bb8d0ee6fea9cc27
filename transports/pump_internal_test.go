package transports

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockjsd/sockjsd/session"
)

type quietObserver struct{}

func (quietObserver) MessagesIn(string, int, int)  {}
func (quietObserver) MessagesOut(string, int, int) {}
func (quietObserver) Refused(string)               {}
func (quietObserver) ReceiverConflict(string)      {}
func (quietObserver) Heartbeat(string)             {}

// slowConn is a wsConn on a slow link: every text write takes writeTime.
type slowConn struct {
	writeTime time.Duration
	mu        sync.Mutex
	pings     []time.Time
	texts     int
	closed    bool
	pong      func()
}

func (c *slowConn) ReadMessage() ([]byte, error) { select {} }
func (c *slowConn) WriteText([]byte) error {
	time.Sleep(c.writeTime)
	c.mu.Lock()
	c.texts++
	c.mu.Unlock()
	return nil
}

// WritePing is answered at once by a pong, as a live peer does.
func (c *slowConn) WritePing() error {
	c.mu.Lock()
	c.pings = append(c.pings, time.Now())
	pong := c.pong
	c.mu.Unlock()
	if pong != nil {
		pong()
	}
	return nil
}
func (c *slowConn) WriteClose(int, string, time.Time) error { return nil }
func (c *slowConn) SetReadDeadline(time.Time) error         { return nil }
func (c *slowConn) WritePong([]byte) error                  { return nil }
func (c *slowConn) SetWriteDeadline(time.Time) error        { return nil }
func (c *slowConn) OnPing(func([]byte))                     {}
func (c *slowConn) OnActivity(f func())                     { c.mu.Lock(); c.pong = f; c.mu.Unlock() }
func (c *slowConn) Close() error                            { c.mu.Lock(); c.closed = true; c.mu.Unlock(); return nil }

// The reader's liveness deadline (2 heartbeats + write timeout) moves only
// on pongs from a client that only receives, so the writer must ping every
// heartbeat even when it is never idle: here writes take 5ms and the
// application sends every 2ms, so there is always something to write.
func TestWebsocketWriterPingsWhileSaturated(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(map[bool]string{false: "framed", true: "raw"}[raw], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const hb = 50 * time.Millisecond
				tr := &websocketTransport{raw: raw, cfg: &Config{Heartbeat: hb, WriteTimeout: time.Second, Observer: quietObserver{}}}
				s := session.New("id", "", session.Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 1 << 16,
					RecvQueue: 4, RecvTimeout: time.Second, DisconnectDelay: time.Second}, nil)
				conn := &slowConn{writeTime: 5 * time.Millisecond}
				c := tr.newStream(conn, s)
				conn.OnActivity(func() { c.heard.Store(true) })
				c.pump.start(hb)
				c.pump.kick()
				start := time.Now()
				for time.Since(start) < 20*hb {
					if err := s.Send("tick"); err != nil {
						t.Fatal(err)
					}
					time.Sleep(2 * time.Millisecond)
				}
				end := time.Now() // the heartbeat stops with the pump; the backlog drains after
				_ = s.Close(1000, "done")
				c.pump.stop()
				conn.mu.Lock()
				defer conn.mu.Unlock()
				if len(conn.pings) < 15 {
					t.Errorf("%d pings in %v of saturated writing with a %v heartbeat (%d text frames); want one per heartbeat, or a client that only receives is dropped after 2 heartbeats",
						len(conn.pings), 20*hb, hb, conn.texts)
				}
				last := start
				for _, p := range append(conn.pings, end) {
					if p.After(end) {
						break
					}
					if gap := p.Sub(last); gap > 2*hb {
						t.Errorf("%v without a ping (heartbeat %v)", gap, hb)
						break
					}
					last = p
				}
			})
		})
	}
}
