package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
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

// TestRunBusyPort: a taken port, main or admin, stops run before it
// serves, with a message that names the setting to change.
func TestRunBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"admin port", []string{"-addr", "127.0.0.1:0", "-admin-addr", busy}, nil, []string{
			"admin server: cannot listen on -admin-addr " + busy, "address already in use",
			"choose another address with -admin-addr", `turn the admin server off with -admin-addr ""`,
		}},
		{"admin port from the environment", []string{"-addr", "127.0.0.1:0"}, map[string]string{"SOCKJSD_ADMIN_ADDR": busy}, []string{
			"cannot listen on SOCKJSD_ADMIN_ADDR " + busy, "choose another address with SOCKJSD_ADMIN_ADDR",
		}},
		{"main port", []string{"-addr", busy, "-admin-addr", "127.0.0.1:0"}, nil, []string{
			"cannot listen on -addr " + busy, "choose another address with -addr",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, env(tt.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			err = run(context.Background(), cfg, io.Discard, func(listening) { t.Error("ready called") })
			if err == nil {
				t.Fatal("run served on a busy port")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("run: %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestRunOptions: the flags of the SockJS options reach every service.
func TestRunOptions(t *testing.T) {
	s := start(t, "-trusted-proxies", "127.0.0.0/8", "-jsessionid", "-max-sessions", "2",
		"-allowed-origins", "https://ok.example")
	base := "http://" + s.at.addr
	do := func(method, path, body string, hdr map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, svc := range services() {
		// -jsessionid: /info asks for cookies.
		if _, _, body := get(t, base+svc.prefix+"/info"); !strings.Contains(body, `"cookie_needed":true`) {
			t.Errorf("%s/info = %s, want cookie_needed true", svc.prefix, body)
		}
		// -allowed-origins: another origin is refused, the allowed one is not.
		if r := do("POST", svc.prefix+"/000/refused/xhr", "", map[string]string{"Origin": "https://evil.example"}); r.StatusCode != 403 {
			t.Errorf("%s: xhr from another origin: %d, want 403", svc.prefix, r.StatusCode)
		}
	}
	ok := map[string]string{"Origin": "https://ok.example", "X-Forwarded-For": "203.0.113.5"}
	r := do("POST", "/echo/000/a/xhr", "", ok)
	if r.StatusCode != 200 {
		t.Fatalf("xhr from the allowed origin: %d", r.StatusCode)
	}
	// -jsessionid over plain HTTP: a cookie, neither Secure nor SameSite=None.
	if c := r.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "JSESSIONID=") || strings.Contains(c, "Secure") {
		t.Errorf("Set-Cookie %q, want a plain JSESSIONID", c)
	}
	// -trusted-proxies: the client is the forwarded address, so a send
	// from another client address finds no session.
	other := map[string]string{"Origin": "https://ok.example", "X-Forwarded-For": "203.0.113.6"}
	if r := do("POST", "/echo/000/a/xhr_send", `["x"]`, other); r.StatusCode != 404 {
		t.Errorf("xhr_send from another forwarded client: %d, want 404", r.StatusCode)
	}
	if r := do("POST", "/echo/000/a/xhr_send", `["x"]`, ok); r.StatusCode != 204 {
		t.Errorf("xhr_send from the session's client: %d, want 204", r.StatusCode)
	}
	// ... and its X-Forwarded-Proto: https makes the cookie cross-site.
	https := map[string]string{"Origin": "https://ok.example", "X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"}
	r = do("POST", "/echo/000/b/xhr", "", https)
	if c := r.Header.Get("Set-Cookie"); !strings.Contains(c, "Secure") || !strings.Contains(c, "SameSite=None") {
		t.Errorf("Set-Cookie %q behind a trusted https proxy, want SameSite=None; Secure", c)
	}
	// -max-sessions 2: a third session at once gets 503.
	if r := do("POST", "/echo/000/c/xhr", "", ok); r.StatusCode != 503 {
		t.Errorf("third session: %d, want 503", r.StatusCode)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
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

// selfSigned writes a certificate for 127.0.0.1 and localhost and its key
// to dir, and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sockjsd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestRunTLS serves over TLS: HTTP/2 for the HTTP transports (a stream
// included), HTTP/1.1 for a websocket, and the JSESSIONID cookie a
// cross-site page needs.
func TestRunTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	s := start(t, "-tls-cert", certFile, "-tls-key", keyFile, "-jsessionid")
	base := "https://" + s.at.addr
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	resp, err := client.Get(base + "/echo/info")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" || !strings.Contains(string(body), `"websocket":true`) {
		t.Fatalf("/echo/info: %d over %s: %s; want 200 over HTTP/2.0", resp.StatusCode, resp.Proto, body)
	}

	// An xhr-streaming response over HTTP/2: its prelude, the open
	// frame, then the echo of a message sent meanwhile, all on one stream.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/echo/000/tls1/xhr_streaming", nil)
	stream, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.Proto != "HTTP/2.0" {
		t.Errorf("xhr_streaming over %s, want HTTP/2.0", stream.Proto)
	}
	if c := stream.Header.Get("Set-Cookie"); !strings.Contains(c, "JSESSIONID=") || !strings.Contains(c, "Secure") ||
		!strings.Contains(c, "SameSite=None") {
		t.Errorf("Set-Cookie %q over TLS, want JSESSIONID with SameSite=None; Secure", c)
	}
	lines := bufio.NewReader(stream.Body)
	readLine := func() string {
		t.Helper()
		l, err := lines.ReadString('\n')
		if err != nil {
			t.Fatalf("xhr_streaming: %v after %q", err, l)
		}
		return strings.TrimSuffix(l, "\n")
	}
	if l := readLine(); strings.Trim(l, "h") != "" {
		t.Fatalf("xhr_streaming prelude %q", l)
	}
	if l := readLine(); l != "o" {
		t.Fatalf("xhr_streaming open frame %q", l)
	}
	sendResp, err := client.Post(base+"/echo/000/tls1/xhr_send", "text/plain", strings.NewReader(`["over h2"]`))
	if err != nil {
		t.Fatal(err)
	}
	sendResp.Body.Close()
	if sendResp.StatusCode != 204 {
		t.Fatalf("xhr_send: %d", sendResp.StatusCode)
	}
	if l := readLine(); l != `a["over h2"]` {
		t.Fatalf("xhr_streaming echo %q", l)
	}

	// A websocket over TLS (HTTP/1.1, as browsers open them).
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}, HandshakeTimeout: 5 * time.Second}
	ws, wsResp, err := d.Dial("wss://"+s.at.addr+"/echo/000/tls2/websocket", nil)
	if err != nil {
		t.Fatalf("wss dial: %v", err)
	}
	wsResp.Body.Close()
	defer ws.Close()
	if got := readWS(t, ws); got != "o" {
		t.Fatalf("wss open frame %q", got)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`["secure"]`)); err != nil {
		t.Fatal(err)
	}
	if got := readWS(t, ws); got != `a["secure"]` {
		t.Fatalf("wss echo %q", got)
	}

	// Plain HTTP to the TLS port gets net/http's 400, not silence.
	c, err := net.DialTimeout("tcp", s.at.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /echo/info HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if status, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(status, "HTTP/1.0 400") {
		t.Errorf("plain HTTP to the TLS port got %q, want a 400", status)
	}

	logs := s.logs.String()
	if !strings.Contains(logs, "url=https://"+s.at.addr+"/") {
		t.Errorf("logs do not give the https URL:\n%s", logs)
	}
	stream.Body.Close()
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestRunTLSBadFiles: unreadable or mismatched files stop run at once,
// naming both flags.
func TestRunTLSBadFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := selfSigned(t, dir)
	_, otherKey, _ := selfSigned(t, t.TempDir())
	for name, args := range map[string][]string{
		"missing key":    {"-tls-cert", certFile, "-tls-key", filepath.Join(dir, "nope.pem")},
		"mismatched key": {"-tls-cert", certFile, "-tls-key", otherKey},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := parseConfig(append([]string{"-addr", "127.0.0.1:0", "-admin-addr", ""}, args...), env(nil), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			err = run(context.Background(), cfg, io.Discard, func(listening) { t.Error("ready called") })
			if err == nil || !strings.Contains(err.Error(), "-tls-cert and -tls-key: ") {
				t.Errorf("run: %v, want an error naming -tls-cert and -tls-key", err)
			}
		})
	}
}
