package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// rrClient is a SockJS client in Go that sends each request of one
// session to the next node, round robin, as a load balancer without
// affinity would. Receivers run on a goroutine of their own and report
// frames on a channel; sends are serial, as sockjs-client's are.
type rrClient struct {
	t         *testing.T
	bases     []string // each node's SockJS URL, "http://127.0.0.1:p/echo"
	transport string
	server    string
	id        string
	http      *http.Client

	mu   sync.Mutex // guards next
	next int

	frames chan string // every frame received, in order
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the receiving goroutine ends
}

// receivers lists the receiving transports and the sender each pairs with.
var receivers = []struct{ name, sender string }{
	{"xhr", "xhr_send"},
	{"xhr_streaming", "xhr_send"},
	{"eventsource", "xhr_send"},
	{"htmlfile", "xhr_send"},
	{"jsonp", "jsonp_send"},
}

func newRRClient(t *testing.T, bases []string, transport string) *rrClient {
	ctx, cancel := context.WithCancel(context.Background())
	c := &rrClient{
		t:         t,
		bases:     bases,
		transport: transport,
		server:    fmt.Sprintf("%03d", rand.IntN(1000)),
		id:        fmt.Sprintf("s%07x", rand.Uint32()),
		http:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		next:      rand.IntN(len(bases)),
		frames:    make(chan string, 1024),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
	}
	t.Cleanup(c.close)
	return c
}

// nextBase returns the next node's URL.
func (c *rrClient) nextBase() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bases[c.next%len(c.bases)]
	c.next++
	return b
}

func (c *rrClient) url(base, transport string) string {
	return base + "/" + c.server + "/" + c.id + "/" + transport
}

// start runs the receiver until ctx ends or a close frame arrives.
func (c *rrClient) start() {
	go func() {
		defer close(c.done)
		defer close(c.frames)
		for c.ctx.Err() == nil {
			closed, err := c.receive(c.nextBase())
			if err != nil {
				if c.ctx.Err() == nil {
					c.frames <- "error: " + err.Error()
				}
				return
			}
			if closed {
				return
			}
		}
	}()
}

func (c *rrClient) close() {
	c.cancel()
	<-c.done
	c.http.CloseIdleConnections()
}

// receive makes one receiving request and reports whether a close frame
// ended the session.
func (c *rrClient) receive(base string) (closed bool, err error) {
	var req *http.Request
	switch c.transport {
	case "xhr", "xhr_streaming":
		req, err = http.NewRequestWithContext(c.ctx, http.MethodPost, c.url(base, c.transport), nil)
	case "eventsource":
		req, err = http.NewRequestWithContext(c.ctx, http.MethodGet, c.url(base, c.transport), nil)
	case "htmlfile", "jsonp":
		req, err = http.NewRequestWithContext(c.ctx, http.MethodGet, c.url(base, c.transport)+"?c=_jp.cb", nil)
	}
	if err != nil {
		return false, err
	}
	req.Header.Set("Origin", "http://example.com")
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return false, fmt.Errorf("%s: %s %q", c.transport, resp.Status, b)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://example.com" {
		return false, fmt.Errorf("%s: Access-Control-Allow-Origin %q", c.transport, got)
	}
	br := bufio.NewReader(resp.Body)
	switch c.transport {
	case "xhr":
		line, err := br.ReadString('\n')
		if err != nil {
			return false, err
		}
		return c.deliver(strings.TrimSuffix(line, "\n")), nil
	case "jsonp":
		b, err := io.ReadAll(br)
		if err != nil {
			return false, err
		}
		frame, err := unquoteCall(strings.TrimSuffix(string(b), "\r\n"), "/**/_jp.cb(", ");")
		if err != nil {
			return false, err
		}
		return c.deliver(frame), nil
	}
	// Streams: frames until the response ends or a close frame.
	first := true
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return false, nil // the response limit: open the next one
		}
		if err != nil {
			return false, err
		}
		line = strings.TrimRight(line, "\r\n")
		var frame string
		switch c.transport {
		case "xhr_streaming":
			if first { // the prelude: 2048 "h" characters
				first = false
				continue
			}
			frame = line
		case "eventsource":
			var ok bool
			if frame, ok = strings.CutPrefix(line, "data: "); !ok {
				continue
			}
		case "htmlfile":
			if !strings.HasPrefix(line, "p(") {
				continue
			}
			if frame, err = unquoteCall(line, "p(", ");"); err != nil {
				return false, err
			}
		}
		if c.deliver(frame) {
			return true, nil
		}
	}
}

// unquoteCall decodes the JSON string argument of a script call.
func unquoteCall(s, prefix, suffix string) (string, error) {
	arg, ok := strings.CutPrefix(s, prefix)
	if ok {
		arg, ok = strings.CutSuffix(arg, suffix)
	}
	if !ok {
		return "", fmt.Errorf("not a call: %q", s)
	}
	var frame string
	err := json.Unmarshal([]byte(arg), &frame)
	return frame, err
}

// deliver passes a frame on and reports whether it closes the session.
func (c *rrClient) deliver(frame string) bool {
	select {
	case c.frames <- frame:
	case <-c.ctx.Done():
	}
	return strings.HasPrefix(frame, "c")
}

// send sends msgs with the sender transport through the next node and
// returns the status.
func (c *rrClient) send(sender string, msgs ...string) (int, error) {
	body, _ := json.Marshal(msgs)
	var req *http.Request
	var err error
	base := c.nextBase()
	if sender == "jsonp_send" {
		form := url.Values{"d": {string(body)}}.Encode()
		req, err = http.NewRequestWithContext(c.ctx, http.MethodPost, c.url(base, sender), strings.NewReader(form))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(c.ctx, http.MethodPost, c.url(base, sender), strings.NewReader(string(body)))
		if req != nil {
			req.Header.Set("Content-Type", "text/plain")
		}
	}
	if err != nil {
		return 0, err
	}
	req.Header.Set("Origin", "http://example.com")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// frame waits for the next frame other than a heartbeat.
func (c *rrClient) frame() string {
	c.t.Helper()
	timeout := time.NewTimer(20 * time.Second) // a hang guard, not a measure
	defer timeout.Stop()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return "receiver ended"
			}
			if f == "h" {
				continue
			}
			return f
		case <-timeout.C:
			c.t.Fatalf("%s %s: no frame within 20 s", c.transport, c.id)
			return ""
		}
	}
}

// messages decodes an "a" frame.
func messages(frame string) ([]string, error) {
	p, ok := strings.CutPrefix(frame, "a")
	if !ok {
		return nil, fmt.Errorf("not a message frame: %q", frame)
	}
	var msgs []string
	err := json.Unmarshal([]byte(p), &msgs)
	return msgs, err
}

// echo sends n messages one by one, each through the next node, and
// checks that each comes back, in order, on the receiver.
func (c *rrClient) echo(sender string, n int) {
	c.t.Helper()
	var pending []string
	for i := range n {
		msg := fmt.Sprintf("%s-%d <&\"\u2028>", c.id, i)
		status, err := c.send(sender, msg)
		if err != nil || (status != http.StatusNoContent && status != http.StatusOK) {
			c.t.Fatalf("%s %s: send %d: status %d, %v", c.transport, c.id, i, status, err)
		}
		for len(pending) == 0 {
			f := c.frame()
			msgs, err := messages(f)
			if err != nil {
				c.t.Fatalf("%s %s: waiting for echo %d: %v", c.transport, c.id, i, err)
			}
			pending = msgs
		}
		if pending[0] != msg {
			c.t.Fatalf("%s %s: echo %d: got %q, want %q", c.transport, c.id, i, pending[0], msg)
		}
		pending = pending[1:]
	}
}
