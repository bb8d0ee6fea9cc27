package prometheus_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/sockjsd/sockjsd/sockjs"
	sockjsprom "github.com/sockjsd/sockjsd/sockjs/prometheus"
)

// env is a real sockjs.Server at /echo, with metrics, behind httptest.
type env struct {
	reg *prometheus.Registry
	m   *sockjsprom.Metrics
	url string // the server's base URL, without the /echo prefix
}

// newEnv starts a server whose handler echoes every message, except
// "close" (the handler closes with 3001 "bye") and "flood" (it sends 1000
// messages at once, enough to pass any small send queue).
func newEnv(t *testing.T, opts sockjs.Options) *env {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := sockjsprom.New(reg, "test")
	opts.Metrics = m
	if opts.Heartbeat == 0 {
		opts.Heartbeat = time.Minute // only the heartbeat tests want them
	}
	srv := sockjs.New("/echo", handler, &opts)
	mux := http.NewServeMux()
	mux.Handle("/echo/", srv)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.Close()
	})
	return &env{reg: reg, m: m, url: ts.URL}
}

func handler(s *sockjs.Session) {
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		switch msg {
		case "close":
			_ = s.Close(3001, "bye")
			return
		case "flood":
			for i := range 1000 {
				if s.Send(fmt.Sprint(i)) != nil {
					return
				}
			}
		default:
			if s.Send(msg) != nil {
				return
			}
		}
	}
}

// post sends a request to the server and returns the status and body.
func (e *env) post(t *testing.T, path, body string, header ...string) (int, string) {
	t.Helper()
	return e.do(t, http.MethodPost, path, body, header...)
}

func (e *env) do(t *testing.T, method, path, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// expect checks a request's status and body.
func expect(t *testing.T, what string, status int, body string, wantStatus int, wantBody string) {
	t.Helper()
	if status != wantStatus || body != wantBody {
		t.Fatalf("%s: got %d %q, want %d %q", what, status, body, wantStatus, wantBody)
	}
}

// value returns the value of the sample of metric name whose labels are
// exactly labels (pairs of name and value): a counter's or gauge's value,
// a histogram's sample count. ok is false if there is no such sample.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (v float64, ok bool) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if !labelsMatch(m.GetLabel(), labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func labelsMatch(got []*dto.LabelPair, want []string) bool {
	if len(got)*2 != len(want) {
		return false
	}
	for _, lp := range got {
		found := false
		for i := 0; i+1 < len(want); i += 2 {
			if want[i] == lp.GetName() && want[i+1] == lp.GetValue() {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitFor waits until the metric has the value want: some counts are
// recorded just after the client sees their effect (a websocket message
// is counted once written; a session's end once its handler returned).
func waitFor(t *testing.T, g prometheus.Gatherer, want float64, name string, labels ...string) {
	t.Helper()
	waitUntil(t, g, func(v float64) bool { return v == want }, fmt.Sprint(want), name, labels...)
}

// waitAtLeast waits until the metric is at least min.
func waitAtLeast(t *testing.T, g prometheus.Gatherer, min float64, name string, labels ...string) {
	t.Helper()
	waitUntil(t, g, func(v float64) bool { return v >= min }, fmt.Sprint(">= ", min), name, labels...)
}

func waitUntil(t *testing.T, g prometheus.Gatherer, ok func(float64) bool, want, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, found := value(t, g, name, labels...)
		if found && ok(v) {
			return
		}
		if time.Now().After(deadline) {
			if !found {
				t.Fatalf("%s%v: no such sample, want %s", name, labels, want)
			}
			t.Fatalf("%s%v = %v, want %s", name, labels, v, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestXHRPollingAndSend(t *testing.T) {
	e := newEnv(t, sockjs.Options{})
	s, b := e.post(t, "/echo/000/s1/xhr", "")
	expect(t, "open", s, b, 200, "o\n")
	waitFor(t, e.reg, 1, "test_sockjs_sessions_opened_total", "transport", "xhr")
	waitFor(t, e.reg, 1, "test_sockjs_sessions_open", "transport", "xhr")

	s, b = e.post(t, "/echo/000/s1/xhr_send", `["a","bb"]`)
	expect(t, "xhr_send", s, b, 204, "")
	s, b = e.post(t, "/echo/000/s1/xhr", "")
	expect(t, "poll", s, b, 200, "a[\"a\",\"bb\"]\n")
	waitFor(t, e.reg, 2, "test_sockjs_messages_received_total", "transport", "xhr_send")
	waitFor(t, e.reg, 3, "test_sockjs_received_bytes_total", "transport", "xhr_send")
	waitFor(t, e.reg, 2, "test_sockjs_messages_sent_total", "transport", "xhr")
	waitFor(t, e.reg, 3, "test_sockjs_sent_bytes_total", "transport", "xhr")

	// A broken payload is refused.
	s, _ = e.post(t, "/echo/000/s1/xhr_send", `not json`)
	if s != 500 {
		t.Fatalf("xhr_send of broken JSON: got %d, want 500", s)
	}
	waitFor(t, e.reg, 1, "test_sockjs_requests_refused_total", "reason", "bad_payload")

	// The application closes with 3001: counted under "3xxx".
	s, b = e.post(t, "/echo/000/s1/xhr_send", `["close"]`)
	expect(t, "xhr_send close", s, b, 204, "")
	s, b = e.post(t, "/echo/000/s1/xhr", "")
	expect(t, "poll close", s, b, 200, "c[3001,\"bye\"]\n")
	waitFor(t, e.reg, 1, "test_sockjs_sessions_closed_total", "transport", "xhr", "code", "3xxx")
	waitFor(t, e.reg, 0, "test_sockjs_sessions_open", "transport", "xhr")
	waitFor(t, e.reg, 1, "test_sockjs_session_duration_seconds", "transport", "xhr")

	snap := e.m.Snapshot()
	want := sockjsprom.TransportStats{Opened: 1, Closed: 1, MessagesOut: 2, BytesOut: 3}
	if got := snap.Transports["xhr"]; got != want {
		t.Errorf("Snapshot xhr = %+v, want %+v", got, want)
	}
	if got := snap.Transports["xhr_send"]; got.MessagesIn != 3 || got.BytesIn != 8 {
		t.Errorf("Snapshot xhr_send = %+v, want 3 messages in (a, bb, close), 8 bytes", got)
	}
	if snap.Refused["bad_payload"] != 1 || snap.Refused["origin"] != 0 {
		t.Errorf("Snapshot refused = %v, want bad_payload 1", snap.Refused)
	}
}

func TestHeartbeatXHR(t *testing.T) {
	e := newEnv(t, sockjs.Options{Heartbeat: 20 * time.Millisecond})
	s, b := e.post(t, "/echo/000/hb/xhr", "")
	expect(t, "open", s, b, 200, "o\n")
	s, b = e.post(t, "/echo/000/hb/xhr", "")
	expect(t, "idle poll", s, b, 200, "h\n")
	waitFor(t, e.reg, 1, "test_sockjs_heartbeats_sent_total", "transport", "xhr")
}

func dialWS(t *testing.T, e *env, path string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c
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

func TestWebsocket(t *testing.T) {
	e := newEnv(t, sockjs.Options{Heartbeat: 30 * time.Millisecond})
	c := dialWS(t, e, "/echo/000/ws/websocket")
	if got := readWS(t, c); got != "o" {
		t.Fatalf("first frame %q, want o", got)
	}
	waitFor(t, e.reg, 1, "test_sockjs_sessions_opened_total", "transport", "websocket")
	waitFor(t, e.reg, 1, "test_sockjs_sessions_open", "transport", "websocket")

	if err := c.WriteMessage(websocket.TextMessage, []byte(`["hi"]`)); err != nil {
		t.Fatal(err)
	}
	if got := readWS(t, c); got != `a["hi"]` {
		t.Fatalf("echo %q, want a[\"hi\"]", got)
	}
	if got := readWS(t, c); got != "h" {
		t.Fatalf("idle frame %q, want h", got)
	}
	waitFor(t, e.reg, 1, "test_sockjs_messages_received_total", "transport", "websocket")
	// The framed websocket transport counts the bytes of the frame it
	// read (`["hi"]`, 6), not of the message in it (2) as xhr_send does:
	// hold it to at least the message's.
	waitAtLeast(t, e.reg, 2, "test_sockjs_received_bytes_total", "transport", "websocket")
	waitFor(t, e.reg, 1, "test_sockjs_messages_sent_total", "transport", "websocket")
	waitFor(t, e.reg, 2, "test_sockjs_sent_bytes_total", "transport", "websocket")
	waitAtLeast(t, e.reg, 1, "test_sockjs_heartbeats_sent_total", "transport", "websocket")

	// The client closes with 1000.
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, e.reg, 1, "test_sockjs_sessions_closed_total", "transport", "websocket", "code", "1000")
	waitFor(t, e.reg, 0, "test_sockjs_sessions_open", "transport", "websocket")
	waitFor(t, e.reg, 1, "test_sockjs_session_duration_seconds", "transport", "websocket")
}

func TestRawWebsocket(t *testing.T) {
	e := newEnv(t, sockjs.Options{})
	c := dialWS(t, e, "/echo/websocket")
	if err := c.WriteMessage(websocket.TextMessage, []byte("raw")); err != nil {
		t.Fatal(err)
	}
	if got := readWS(t, c); got != "raw" {
		t.Fatalf("echo %q, want raw", got)
	}
	waitFor(t, e.reg, 1, "test_sockjs_sessions_opened_total", "transport", "rawwebsocket")
	waitFor(t, e.reg, 1, "test_sockjs_messages_received_total", "transport", "rawwebsocket")
	waitFor(t, e.reg, 3, "test_sockjs_received_bytes_total", "transport", "rawwebsocket")
	waitFor(t, e.reg, 1, "test_sockjs_messages_sent_total", "transport", "rawwebsocket")
	waitFor(t, e.reg, 3, "test_sockjs_sent_bytes_total", "transport", "rawwebsocket")
	c.Close() // abruptly: no close frame
	time.Sleep(500 * time.Millisecond)
	for code := 1000; code < 1016; code++ {
		if v, ok := value(t, e.reg, "test_sockjs_sessions_closed_total", "transport", "rawwebsocket", "code", fmt.Sprint(code)); ok {
			t.Log("DEBUG", code, v)
		}
	}
}

// TestReceiverConflict attaches a streaming receiver, then polls the same
// session: the poll gets 2010. Heartbeats flow on the stream meanwhile.
func TestReceiverConflict(t *testing.T) {
	e := newEnv(t, sockjs.Options{Heartbeat: 30 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/echo/000/st/xhr_streaming", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readLine := func() string {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading stream: %v", err)
		}
		return line
	}
	if prelude := readLine(); len(prelude) != 2049 {
		t.Fatalf("prelude of %d bytes, want 2049", len(prelude))
	}
	if got := readLine(); got != "o\n" {
		t.Fatalf("stream frame %q, want o", got)
	}

	s, b := e.post(t, "/echo/000/st/xhr", "")
	expect(t, "second receiver", s, b, 200, "c[2010,\"Another connection still open\"]\n")
	waitFor(t, e.reg, 1, "test_sockjs_receiver_conflicts_total", "transport", "xhr")

	if got := readLine(); got != "h\n" {
		t.Fatalf("stream frame %q, want h", got)
	}
	waitAtLeast(t, e.reg, 1, "test_sockjs_heartbeats_sent_total", "transport", "xhr_streaming")

	// The client goes away: the session ends as interrupted (1002).
	cancel()
	waitFor(t, e.reg, 1, "test_sockjs_sessions_closed_total", "transport", "xhr_streaming", "code", "1002")
	waitFor(t, e.reg, 0, "test_sockjs_sessions_open", "transport", "xhr_streaming")
}

func TestOriginRefused(t *testing.T) {
	e := newEnv(t, sockjs.Options{AllowedOrigins: []string{"https://good.example"}})
	s, _ := e.do(t, http.MethodGet, "/echo/info", "", "Origin", "https://evil.example")
	if s != http.StatusForbidden {
		t.Fatalf("/info from a refused origin: got %d, want 403", s)
	}
	s, _ = e.do(t, http.MethodGet, "/echo/info", "", "Origin", "https://good.example")
	if s != http.StatusOK {
		t.Fatalf("/info from an allowed origin: got %d, want 200", s)
	}
	s, _ = e.post(t, "/echo/000/o1/xhr", "", "Origin", "https://evil.example")
	if s != http.StatusForbidden {
		t.Fatalf("xhr from a refused origin: got %d, want 403", s)
	}
	waitFor(t, e.reg, 2, "test_sockjs_requests_refused_total", "reason", "origin")
	waitFor(t, e.reg, 0, "test_sockjs_requests_refused_total", "reason", "session_limit")
	if _, ok := value(t, e.reg, "test_sockjs_sessions_opened_total", "transport", "xhr"); ok {
		t.Error("a refused request opened a session")
	}
}

func TestSlowClient(t *testing.T) {
	e := newEnv(t, sockjs.Options{SendQueueMessages: 4})
	s, b := e.post(t, "/echo/000/slow/xhr", "")
	expect(t, "open", s, b, 200, "o\n")
	// No receiver is attached while the handler floods the session.
	s, b = e.post(t, "/echo/000/slow/xhr_send", `["flood"]`)
	expect(t, "xhr_send", s, b, 204, "")
	waitFor(t, e.reg, 1, "test_sockjs_slow_client_closes_total", "transport", "xhr")
	waitFor(t, e.reg, 1, "test_sockjs_sessions_closed_total", "transport", "xhr", "code", "1008")
	waitFor(t, e.reg, 0, "test_sockjs_sessions_open", "transport", "xhr")
}

func TestSessionLimit(t *testing.T) {
	e := newEnv(t, sockjs.Options{MaxSessions: 1})
	s, b := e.post(t, "/echo/000/first/xhr", "")
	expect(t, "first session", s, b, 200, "o\n")
	s, _ = e.post(t, "/echo/000/second/xhr", "")
	if s != http.StatusServiceUnavailable {
		t.Fatalf("second session: got %d, want 503", s)
	}
	waitFor(t, e.reg, 1, "test_sockjs_requests_refused_total", "reason", "session_limit")
	waitFor(t, e.reg, 1, "test_sockjs_sessions_opened_total", "transport", "xhr")
}

// TestLint runs promlint over every metric, each with a sample.
func TestLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := sockjsprom.New(reg, "")
	m.SessionOpened("websocket")
	m.SessionClosed("websocket", 1000, time.Second)
	m.MessagesIn("websocket", 1, 1)
	m.MessagesOut("websocket", 1, 1)
	m.SlowClient("websocket")
	m.ReceiverConflict("xhr")
	m.Heartbeat("websocket")
	m.Refused("origin")
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(m); n != 20 {
		t.Errorf("%d samples, want 20 (10 with transport websocket or xhr, 9 reasons, 1 histogram)", n)
	}
}

// TestLabelsBounded feeds every code and odd transports and reasons: the
// number of series stays small.
func TestLabelsBounded(t *testing.T) {
	m := sockjsprom.New(nil, "")
	for code := -1; code < 70000; code++ {
		m.SessionOpened("websocket")
		m.SessionClosed("websocket", code, 0)
	}
	for i := range 1000 {
		name := fmt.Sprint("bogus", i)
		m.SessionOpened(name)
		m.Refused(name)
	}
	if n := testutil.CollectAndCount(m, "sockjs_sessions_closed_total"); n != 19 {
		t.Errorf("%d series of sockjs_sessions_closed_total, want 19 (1000-1015, 3xxx, 4xxx, other)", n)
	}
	if n := testutil.CollectAndCount(m, "sockjs_sessions_opened_total"); n != 2 {
		t.Errorf("%d series of sockjs_sessions_opened_total, want 2 (websocket, other)", n)
	}
	if n := testutil.CollectAndCount(m, "sockjs_requests_refused_total"); n != 10 {
		t.Errorf("%d series of sockjs_requests_refused_total, want 10 (9 reasons, other)", n)
	}
	want := `
# HELP sockjs_sessions_open SockJS sessions open now, by the transport that opened them.
# TYPE sockjs_sessions_open gauge
sockjs_sessions_open{transport="other"} 1000
sockjs_sessions_open{transport="websocket"} 0
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "sockjs_sessions_open"); err != nil {
		t.Error(err)
	}
}

// TestSeveralServers registers one Metrics per server on one registry,
// told apart by a constant label.
func TestSeveralServers(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a := sockjsprom.New(prometheus.WrapRegistererWith(prometheus.Labels{"service": "a"}, reg), "")
	b := sockjsprom.New(prometheus.WrapRegistererWith(prometheus.Labels{"service": "b"}, reg), "")
	a.SessionOpened("xhr")
	b.SessionOpened("xhr")
	b.SessionOpened("xhr")
	if v, _ := value(t, reg, "sockjs_sessions_opened_total", "service", "b", "transport", "xhr"); v != 2 {
		t.Errorf("service b: %v sessions opened, want 2", v)
	}
	if v, _ := value(t, reg, "sockjs_sessions_opened_total", "service", "a", "transport", "xhr"); v != 1 {
		t.Errorf("service a: %v sessions opened, want 1", v)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a second Metrics with the same labels did not panic")
		}
	}()
	sockjsprom.New(prometheus.WrapRegistererWith(prometheus.Labels{"service": "a"}, reg), "")
}

func TestInvalidNamespace(t *testing.T) {
	for _, ns := range []string{"1abc", "a-b", "a b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(nil, %q) did not panic", ns)
				}
			}()
			sockjsprom.New(nil, ns)
		}()
	}
}

// TestConcurrent updates and scrapes at once, for the race detector.
func TestConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := sockjsprom.New(reg, "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				m.SessionOpened("xhr")
				m.MessagesIn("xhr_send", 2, 10)
				m.MessagesOut("xhr", 2, 10)
				m.Heartbeat("xhr")
				m.SessionClosed("xhr", 1000, time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
			_ = m.Snapshot()
		}
	})
	wg.Wait()
	got := m.Snapshot().Total()
	want := sockjsprom.TransportStats{Opened: 8000, Closed: 8000, MessagesIn: 16000, BytesIn: 80000,
		MessagesOut: 16000, BytesOut: 80000, Heartbeats: 8000}
	if got != want {
		t.Errorf("Total = %+v, want %+v", got, want)
	}
}

// A session refused by Options.Authenticate is counted under its own
// reason, not "other".
func TestRefusedUnauthorized(t *testing.T) {
	m := sockjsprom.New(nil, "")
	m.Refused("unauthorized")
	if got := m.Snapshot().Refused; got["unauthorized"] != 1 || got["other"] != 0 {
		t.Fatalf("Refused = %v, want unauthorized 1, other 0", got)
	}
}

// BenchmarkSessionClosed is what every session's end costs the metrics:
// no label lookup, no allocation.
func BenchmarkSessionClosed(b *testing.B) {
	m := sockjsprom.New(nil, "")
	b.ReportAllocs()
	for b.Loop() {
		m.SessionClosed("websocket", 1000, time.Second)
	}
}
