package transports

import (
	"net"
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

// netConn is for the end of reading, which never comes here.
func (c *slowConn) netConn() net.Conn { return nil }
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

// startTestStream serves a new session on conn as a websocket does, with
// heartbeat hb and the default pong timeout (capped at hb), minus the
// reader: the writer and the heartbeat run. With pongs, conn answers every
// ping as a live peer does.
func startTestStream(raw bool, hb time.Duration, conn *slowConn, pongs bool) (*wsStream, *session.Session) {
	return startTestStreamConfig(raw, &Config{Heartbeat: hb, WriteTimeout: time.Second, Observer: quietObserver{}}, conn, pongs)
}

func startTestStreamConfig(raw bool, cfg *Config, conn *slowConn, pongs bool) (*wsStream, *session.Session) {
	hb := cfg.Heartbeat
	tr := &websocketTransport{raw: raw, cfg: cfg}
	s := session.New("id", "", session.Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 1 << 16,
		RecvQueue: 4, RecvTimeout: time.Second, DisconnectDelay: time.Second}, nil)
	c := tr.newStream(conn, s)
	if pongs {
		conn.OnActivity(func() { c.heard.Store(true) })
	}
	c.pump.start(hb)
	c.pump.kick()
	return c, s
}

// A client that only receives shows it is alive only by answering pings,
// and one silent for a pong timeout after a ping is dropped, so the writer must ping
// every heartbeat even when it is never idle: here writes take 5ms and the
// application sends every 2ms, so there is always something to write.
func TestWebsocketWriterPingsWhileSaturated(t *testing.T) {
	for _, raw := range []bool{false, true} {
		t.Run(map[bool]string{false: "framed", true: "raw"}[raw], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const hb = 50 * time.Millisecond
				conn := &slowConn{writeTime: 5 * time.Millisecond}
				c, s := startTestStream(raw, hb, conn, true)
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
					t.Errorf("%d pings in %v of saturated writing with a %v heartbeat (%d text frames); want one per heartbeat, or a client that only receives is dropped",
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

// A live client (it answers every ping at once) stuck behind one long
// write, shorter than the write timeout, is not dropped: a ping still
// waiting for the writer counts neither as answered nor as missed.
func TestWebsocketLivenessLongWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hb = 100 * time.Millisecond
		conn := &slowConn{writeTime: 350 * time.Millisecond}
		c, s := startTestStream(false, hb, conn, true)
		for range 5 {
			_ = s.Send("x")
			time.Sleep(400 * time.Millisecond)
		}
		conn.mu.Lock()
		closed := conn.closed
		conn.mu.Unlock()
		_ = s.Close(1000, "done")
		c.pump.stop()
		if closed {
			t.Fatal("a live client was dropped while a write shorter than the write timeout was under way")
		}
	})
}

// A client that never answers is dropped PongTimeout after the first ping,
// not before; the pong timeout is capped at the heartbeat.
func TestWebsocketLivenessSilentPeer(t *testing.T) {
	const hb = 100 * time.Millisecond
	for _, tc := range []struct {
		name       string
		pong, want time.Duration // configured; the drop after the first ping
	}{
		{"pong 30ms", 30 * time.Millisecond, 30 * time.Millisecond},
		{"default capped", 0, hb},
		{"capped", 5 * hb, hb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conn := &slowConn{}
				cfg := &Config{Heartbeat: hb, PongTimeout: tc.pong, WriteTimeout: time.Second, Observer: quietObserver{}}
				c, s := startTestStreamConfig(false, cfg, conn, false)
				defer func() { _ = s.Close(1000, "done"); c.pump.stop() }()
				state := func() (bool, int) {
					conn.mu.Lock()
					defer conn.mu.Unlock()
					return conn.closed, len(conn.pings)
				}
				time.Sleep(hb + tc.want - time.Millisecond)
				if closed, pings := state(); closed || pings != 1 {
					t.Fatalf("%v after the first ping: closed %v, %d pings; want open, 1 ping", tc.want-time.Millisecond, closed, pings)
				}
				time.Sleep(2 * time.Millisecond)
				if closed, pings := state(); !closed {
					t.Fatalf("a peer silent for %v after the first ping (%d pings) is still connected", tc.want+time.Millisecond, pings)
				}
			})
		})
	}
}

// A peer that answers every ping at once stays, also when the pong
// timeout equals the heartbeat: the check of one ping then comes just as
// the next ping goes out, which must not count against the peer.
func TestWebsocketLivenessPongTimeoutAtHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hb = 10 * time.Millisecond
		conn := &slowConn{}
		cfg := &Config{Heartbeat: hb, PongTimeout: hb, WriteTimeout: time.Second, Observer: quietObserver{}}
		c, s := startTestStreamConfig(false, cfg, conn, true)
		defer func() { _ = s.Close(1000, "done"); c.pump.stop() }()
		for range 200 {
			time.Sleep(hb)
			conn.mu.Lock()
			closed, pings := conn.closed, len(conn.pings)
			conn.mu.Unlock()
			if closed {
				t.Fatalf("a peer that answers every ping was dropped after %d pings", pings)
			}
		}
	})
}

// A peer whose pong comes late, after PongTimeout, is dropped; one whose
// answer comes within it stays, and so does one that sends a message in
// place of a pong.
func TestWebsocketLivenessLateAnswer(t *testing.T) {
	const hb, pong = 100 * time.Millisecond, 20 * time.Millisecond
	for _, tc := range []struct {
		name    string
		after   time.Duration // the answer's delay after each ping
		dropped bool
	}{
		{"in time", pong / 2, false},
		{"late", pong + pong/2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conn := &slowConn{}
				cfg := &Config{Heartbeat: hb, PongTimeout: pong, WriteTimeout: time.Second, Observer: quietObserver{}}
				c, s := startTestStreamConfig(false, cfg, conn, false)
				defer func() { _ = s.Close(1000, "done"); c.pump.stop() }()
				// Pings go out at hb, 2hb, ...: each is answered after
				// tc.after, as the reader marks a pong or a message.
				time.Sleep(tc.after)
				for range 5 {
					time.Sleep(hb)
					c.heard.Store(true)
				}
				conn.mu.Lock()
				closed := conn.closed
				conn.mu.Unlock()
				if closed != tc.dropped {
					t.Fatalf("answers %v after each ping: closed %v, want %v", tc.after, closed, tc.dropped)
				}
			})
		})
	}
}

// A websocket whose peer is gone lets go of its session's lease: the
// session no longer hands it frames (its close frame among them) nor
// keeps its wake-up.
func TestWebsocketEndReleasesLease(t *testing.T) {
	conn := &slowConn{}
	c, s := startTestStream(false, time.Hour, conn, false)
	c.end(1002, "Connection interrupted", peerGone)
	var b session.Batch
	if err := c.lease.Next(&b, false); err != session.ErrLeaseEnded {
		t.Fatalf("after the end, the lease still hands out frames: kind %v, %v", b.Kind, err)
	}
	if code, _, closed := s.CloseStatus(); !closed || code != 1002 {
		t.Fatalf("session: closed %v with %d, want 1002", closed, code)
	}
}
