package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started is a sockjsd running in the test.
type started struct {
	at     listening
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, args ...string) *started {
	t.Helper()
	cfg, err := parseConfig(append([]string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"}, args...),
		env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan listening, 1)
	go func() { s.done <- run(ctx, cfg, s.logs, func(l listening) { ready <- l }) }()
	select {
	case s.at = <-ready:
	case err := <-s.done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run never listened")
	}
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// stop cancels run's context and returns its error.
func (s *started) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
		return nil
	}
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func readWS(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	return string(p)
}

// TestRun serves, echoes over xhr and websocket, reads the admin server,
// then shuts down with a websocket still open.
func TestRun(t *testing.T) {
	s := start(t, "-pprof")
	base := "http://" + s.at.addr

	// xhr polling with xhr_send.
	if code, body := post(t, base+"/echo/000/x1/xhr", ""); code != 200 || body != "o\n" {
		t.Fatalf("xhr open: %d %q", code, body)
	}
	if code, body := post(t, base+"/echo/000/x1/xhr_send", `["hello"]`); code != 204 {
		t.Fatalf("xhr_send: %d %q", code, body)
	}
	if code, body := post(t, base+"/echo/000/x1/xhr", ""); code != 200 || body != "a[\"hello\"]\n" {
		t.Fatalf("xhr poll: %d %q", code, body)
	}

	// websocket.
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+s.at.addr+"/echo/000/w1/websocket", nil)
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	resp.Body.Close()
	defer ws.Close()
	if got := readWS(t, ws); got != "o" {
		t.Fatalf("websocket open frame %q", got)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`["hi"]`)); err != nil {
		t.Fatal(err)
	}
	if got := readWS(t, ws); got != `a["hi"]` {
		t.Fatalf("websocket echo %q", got)
	}

	// The demo page is still at /.
	if code, _, body := get(t, base+"/"); code != 200 || !strings.Contains(body, "sockjsd") {
		t.Errorf("demo page: %d", code)
	}

	// The admin server: metrics, status, pprof.
	admin := "http://" + s.at.admin
	waitForMetrics(t, admin, []string{
		`sockjs_sessions_opened_total{service="echo",transport="xhr"} 1`,
		`sockjs_sessions_opened_total{service="echo",transport="websocket"} 1`,
		`sockjs_sessions_open{service="echo",transport="websocket"} 1`,
		`sockjs_messages_received_total{service="echo",transport="xhr_send"} 1`,
		`sockjs_messages_sent_total{service="echo",transport="websocket"} 1`,
		`sockjs_requests_refused_total{reason="origin",service="broadcast"} 0`,
		"go_goroutines ",
		"process_open_fds ",
	})
	st := statusOf(t, admin)
	if st.Total.Open != 2 || st.Total.Opened != 2 || st.Total.MessagesIn != 2 || st.Total.MessagesOut != 2 {
		t.Errorf("status.json total = %+v, want 2 open, 2 opened, 2 messages in and out", st.Total)
	}
	if !st.Endpoints.Metrics || !st.Endpoints.Pprof {
		t.Errorf("status.json endpoints = %+v, want both", st.Endpoints)
	}
	if row := find(st.Transports, "websocket"); row.Open != 1 {
		t.Errorf("status.json websocket row = %+v, want 1 open", row)
	}
	if row := find(st.Services, "echo"); row.Open != 2 {
		t.Errorf("status.json echo row = %+v, want 2 open", row)
	}
	if code, hdr, body := get(t, admin+"/status"); code != 200 || !strings.Contains(body, `id="sessions-open"`) ||
		!strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("/status: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, asset := range []string{"/status/status.js", "/status/status.css"} {
		if code, _, _ := get(t, admin+asset); code != 200 {
			t.Errorf("%s: %d", asset, code)
		}
	}
	if code, _, body := get(t, admin+"/debug/pprof/"); code != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d", code)
	}
	if code, _, _ := get(t, admin+"/debug/pprof/goroutine?debug=1"); code != 200 {
		t.Errorf("/debug/pprof/goroutine: %d", code)
	}
	for _, p := range []string{"/", "/status/"} {
		resp, err := http.Get(admin + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/status" {
			t.Errorf("%s led to %s, want /status", p, resp.Request.URL.Path)
		}
	}
	// Nothing of the admin server on the main one.
	if code, _, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("/metrics on the main server: %d, want 404", code)
	}

	// Shutdown: the open websocket gets a close frame, run returns nil.
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := readWS(t, ws); got != `c[1001,"Server shutting down"]` {
		t.Errorf("websocket at shutdown got %q, want the close frame", got)
	}
	for _, addr := range []string{s.at.addr, s.at.admin} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after run returned", addr)
		}
	}
	logs := s.logs.String()
	for _, want := range []string{"sockjsd listening", "admin server listening", "sockjsd shutting down"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "level=ERROR") || strings.Contains(logs, "level=WARN") {
		t.Errorf("warnings or errors logged:\n%s", logs)
	}
}

// TestRunAdminFlags: -metrics=false leaves the status page, no pprof
// without -pprof.
func TestRunAdminFlags(t *testing.T) {
	s := start(t, "-metrics=false")
	admin := "http://" + s.at.admin
	if code, _, _ := get(t, admin+"/metrics"); code != 404 {
		t.Errorf("/metrics with -metrics=false: %d, want 404", code)
	}
	if code, _, _ := get(t, admin+"/debug/pprof/"); code != 404 {
		t.Errorf("/debug/pprof/ without -pprof: %d, want 404", code)
	}
	if code, _ := post(t, "http://"+s.at.addr+"/echo/000/a/xhr", ""); code != 200 {
		t.Fatalf("xhr open: %d", code)
	}
	st := statusOf(t, admin)
	if st.Total.Opened != 1 || st.Endpoints.Metrics || st.Endpoints.Pprof {
		t.Errorf("status.json = %+v %+v, want 1 session opened, no endpoints", st.Total, st.Endpoints)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestRunNoAdmin: an empty -admin-addr serves the services only.
func TestRunNoAdmin(t *testing.T) {
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-admin-addr", ""}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan listening, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, io.Discard, func(l listening) { ready <- l }) }()
	at := <-ready
	if at.admin != "" {
		t.Errorf("admin server at %s, want none", at.admin)
	}
	if code, body := post(t, "http://"+at.addr+"/echo/000/a/xhr", ""); code != 200 || body != "o\n" {
		t.Errorf("xhr open: %d %q", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestRunBusyPort: a taken admin port stops run before it serves.
func TestRunBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-admin-addr", ln.Addr().String()}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), cfg, io.Discard, func(listening) { t.Error("ready called") })
	if err == nil || !strings.Contains(err.Error(), "admin server") {
		t.Errorf("run: %v, want an admin server listen error", err)
	}
}

func waitForMetrics(t *testing.T, admin string, lines []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, body := get(t, admin+"/metrics")
		var missing []string
		for _, l := range lines {
			if !strings.Contains(body, l) {
				missing = append(missing, l)
			}
		}
		if code == 200 && len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics (%d) lacks %q:\n%s", code, missing, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statusOf(t *testing.T, admin string) statusJSON {
	t.Helper()
	code, hdr, body := get(t, admin+"/status.json")
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("/status.json: %d %s", code, hdr.Get("Content-Type"))
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status.json: %v\n%s", err, body)
	}
	return st
}

func find(rows []statusRow, name string) statusRow {
	for _, r := range rows {
		if r.Name == name {
			return r
		}
	}
	return statusRow{}
}
