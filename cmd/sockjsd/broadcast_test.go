package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
)

// burstMessages is the burst of TestBroadcastBurst: the scenario
// (200,000 messages) at a tenth of its size, enough to fill a stalled
// client's socket buffers and send queue many times over.
const burstMessages = 20000

// burstPayload is message i of the burst: its number, padded to 1 KiB.
func burstPayload(i int) string {
	s := fmt.Sprintf("%08d", i)
	return s + strings.Repeat(".", 1024-len(s))
}

// maxGap is the longest a healthy reader may wait for its next message.
const maxGap = 5 * time.Second

// orderCheck fails on the first message that is not the next one, and on
// a wait for it longer than maxGap.
type orderCheck struct {
	next int
	last time.Time // when the last message came
}

func (o *orderCheck) add(msg string) error {
	if len(msg) < 8 || msg[:8] != fmt.Sprintf("%08d", o.next) {
		return fmt.Errorf("message %d: got %.12q...", o.next, msg)
	}
	now := time.Now()
	if o.next > 0 && now.Sub(o.last) > maxGap {
		return fmt.Errorf("message %d came %v after the one before", o.next, now.Sub(o.last).Round(time.Millisecond))
	}
	o.next++
	o.last = now
	return nil
}

// frameMessages returns the messages of an "a[...]" frame, nil for "o"
// and "h", and an error for a close frame (its text) or garbage.
func frameMessages(frame string) ([]string, error) {
	switch {
	case frame == "o" || frame == "h":
		return nil, nil
	case strings.HasPrefix(frame, "a"):
		var msgs []string
		if err := json.Unmarshal([]byte(frame[1:]), &msgs); err != nil {
			return nil, fmt.Errorf("bad frame %.40q: %v", frame, err)
		}
		return msgs, nil
	}
	return nil, fmt.Errorf("frame %q", frame)
}

// wsReader reads a framed websocket session until want messages came, in
// order.
func wsReader(c *websocket.Conn, want int) error {
	var order orderCheck
	for order.next < want {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, p, err := c.ReadMessage()
		if err != nil {
			return fmt.Errorf("after %d messages: %v", order.next, err)
		}
		msgs, err := frameMessages(string(p))
		if err != nil {
			return fmt.Errorf("after %d messages: %v", order.next, err)
		}
		for _, m := range msgs {
			if err := order.add(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// xhrStreamingReader reads an xhr-streaming session, opening a new
// response whenever one reaches the response limit, until want messages
// came, in order.
func xhrStreamingReader(ctx context.Context, url string, want int, opened chan<- struct{}) error {
	var order orderCheck
	for order.next < want {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		r := bufio.NewReaderSize(resp.Body, 64<<10)
		for {
			line, err := r.ReadString('\n')
			if err == io.EOF {
				break
			}
			if err != nil {
				resp.Body.Close()
				return fmt.Errorf("after %d messages: %v", order.next, err)
			}
			frame := strings.TrimSuffix(line, "\n")
			if strings.Trim(frame, "h") == "" { // the prelude, or a heartbeat
				continue
			}
			if frame == "o" && opened != nil {
				close(opened)
				opened = nil
			}
			msgs, err := frameMessages(frame)
			if err != nil {
				resp.Body.Close()
				return fmt.Errorf("after %d messages: %v", order.next, err)
			}
			for _, m := range msgs {
				if err := order.add(m); err != nil {
					resp.Body.Close()
					return err
				}
			}
		}
		resp.Body.Close()
	}
	return nil
}

// The burst at reduced scale: one sender as fast as TCP takes its
// messages, three readers (two websockets, one xhr-streaming) that read
// as fast as they can, one session that never reads. The sender and the
// readers get every message in order, with no pause over maxGap, and stay
// open; the stalled session is closed as a slow client soon after its
// queue fills. Its client never learns why: by the time it reads, the
// server has given up writing to it (WriteTimeout), so its end is checked
// on the server.
func TestBroadcastBurst(t *testing.T) {
	b := newHub()
	type ending struct {
		code   int
		reason string
		at     time.Time
	}
	var endMu sync.Mutex // guards ended
	ended := make(map[string]ending)
	serve := func(s *sockjs.Session) {
		b.serve(s)
		code, reason, _ := s.CloseStatus()
		endMu.Lock()
		ended[s.ID()] = ending{code, reason, time.Now()}
		endMu.Unlock()
	}
	const sendTimeout = sockjs.DefaultSendTimeout
	srv := sockjs.New("/broadcast", serve, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	wsURL := "ws" + strings.TrimPrefix(ts.URL, "http") + "/broadcast/000/"
	dial := func(id string, d *websocket.Dialer) *websocket.Conn {
		c, _, err := d.Dial(wsURL+id+"/websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// The stalled client reads nothing, through a small socket buffer.
	dial("stalled", &websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			_ = c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}})
	readers := []*websocket.Conn{dial("reader1", websocket.DefaultDialer), dial("reader2", websocket.DefaultDialer)}
	sender := dial("sender", websocket.DefaultDialer)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for i, c := range append(readers, sender) {
		wg.Go(func() {
			if err := wsReader(c, burstMessages); err != nil {
				errs <- fmt.Errorf("websocket reader %d: %v", i, err)
			}
		})
	}
	opened := make(chan struct{})
	wg.Go(func() {
		if err := xhrStreamingReader(ctx, ts.URL+"/broadcast/000/streamer/xhr_streaming", burstMessages, opened); err != nil {
			errs <- fmt.Errorf("xhr-streaming reader: %v", err)
		}
	})
	<-opened
	// Every session is in the topic before the first message.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p, _ := b.h.Presence(ctx, broadcastTopic)
		if len(p) == 1 && p[0].Sessions == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence %v, want 5 sessions", p)
		}
	}

	started := time.Now()
	wg.Go(func() {
		for i := range burstMessages {
			msg, _ := json.Marshal([]string{burstPayload(i)})
			if err := sender.WriteMessage(websocket.TextMessage, msg); err != nil {
				errs <- fmt.Errorf("sender, message %d: %v", i, err)
				return
			}
		}
	})
	wg.Wait()
	t.Logf("%d messages to 4 readers in %v", burstMessages, time.Since(started).Round(time.Millisecond))
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	endMu.Lock()
	defer endMu.Unlock()
	stalled, ok := ended["stalled"]
	switch {
	case !ok:
		t.Error("the stalled session is still open")
	case stalled.code != sockjs.CodeSlowClient || stalled.reason != "Send queue full":
		t.Errorf("the stalled session closed with %d %q, want %d", stalled.code, stalled.reason, sockjs.CodeSlowClient)
	case stalled.at.Sub(started) > 10*time.Second:
		t.Errorf("the stalled session closed %v into the burst, want its queue's SendTimeout (%v) after it filled", stalled.at.Sub(started), sendTimeout)
	}
	delete(ended, "stalled")
	for id, e := range ended {
		t.Errorf("healthy session %s closed with %d %q", id, e.code, e.reason)
	}
	p, _ := b.h.Presence(ctx, broadcastTopic)
	if len(p) != 1 || p[0].Sessions != 4 {
		t.Errorf("presence after the burst %v, want the 4 healthy sessions", p)
	}
}
