package sockjs_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/websocket"

	"github.com/sockjsd/sockjsd/sockjs"
)

func echo(s *sockjs.Session) {
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		_ = s.Send(msg)
	}
}

// roundTrip opens an xhr-polling session under base and echoes one message.
func roundTrip(t *testing.T, base string) {
	t.Helper()
	url := base + "/000/" + newID()
	expect(t, post(t, url+"/xhr", ""), 200, "o\n")
	expect(t, post(t, url+"/xhr_send", `["hi"]`), 204, "")
	expect(t, post(t, url+"/xhr", ""), 200, "a[\"hi\"]\n")
}

func TestMounting(t *testing.T) {
	tests := []struct {
		name   string
		router func() http.Handler
		base   string
	}{
		{"chi Mount", func() http.Handler {
			r := chi.NewRouter()
			r.Mount("/echo", sockjs.New("/echo", echo, nil))
			return r
		}, "/echo"},
		{"chi Mount, prefix from chi", func() http.Handler {
			r := chi.NewRouter()
			r.Route("/api", func(r chi.Router) { r.Mount("/echo", sockjs.New("", echo, nil)) })
			return r
		}, "/api/echo"},
		{"ServeMux", func() http.Handler {
			mux := http.NewServeMux()
			srv := sockjs.New("/a/b/echo", echo, nil)
			mux.Handle("/a/b/echo/", srv)
			mux.Handle("/a/b/echo", srv)
			return mux
		}, "/a/b/echo"},
		{"ServeMux pattern with a wildcard, prefix from the pattern", func() http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/rooms/{room}/chat/", sockjs.New("", echo, nil))
			return mux
		}, "/rooms/blue/chat"},
		{"ServeMux pattern with a wildcard, prefix given", func() http.Handler {
			mux := http.NewServeMux()
			srv := sockjs.New("/rooms/{room}/chat", echo, nil)
			mux.Handle("/rooms/{room}/chat/", srv)
			return mux
		}, "/rooms/red/chat"},
		{"StripPrefix", func() http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/echo/", http.StripPrefix("/echo", sockjs.New("", echo, nil)))
			return mux
		}, "/echo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := serve(t, tt.router()) + tt.base
			expect(t, do(t, "GET", base+"/", "", nil), 200, "Welcome to SockJS!\n")
			roundTrip(t, base)
			ws := dialWS(t, base+"/000/"+newID()+"/websocket", nil)
			if got := readWS(t, ws); got != "o" {
				t.Fatalf("websocket opened with %q", got)
			}
			// The iframe page loads the client script from where it is served.
			iframe := do(t, "GET", base+"/iframe.html", "", nil)
			src := base + "/sockjs-"
			src = src[strings.Index(src, tt.base):]
			if !strings.Contains(iframe.body, `src="`+src) {
				t.Fatalf("iframe page does not load the script from %s: %s", src, iframe.body)
			}
			script := do(t, "GET", base+"/sockjs-1.6.1.min.js", "", nil)
			if script.status != 200 || !strings.Contains(script.body, "sockjs-client v1.6.1") {
				t.Fatalf("client script: %d", script.status)
			}
		})
	}
}

// With chi, the application reads the URL parameters of the route the
// session was opened on, long after chi has recycled its routing context.
func TestRequestKeepsChiURLParams(t *testing.T) {
	rooms := make(chan string, 2)
	r := chi.NewRouter()
	r.Route("/rooms/{room}", func(r chi.Router) {
		r.Mount("/chat", sockjs.New("", func(s *sockjs.Session) {
			_, _ = s.Recv(context.Background()) // by then the opening request is long over
			rooms <- chi.URLParam(s.Request(), "room")
		}, nil))
	})
	base := serve(t, r)
	urls := []string{base + "/rooms/blue/chat/0/" + newID(), base + "/rooms/red/chat/0/" + newID()}
	for _, u := range urls {
		expect(t, post(t, u+"/xhr", ""), 200, "o\n")
	}
	for i := 0; i < 50; i++ { // let chi reuse its pooled contexts
		do(t, "GET", base+"/rooms/green/chat/info", "", nil)
	}
	for _, u := range urls {
		expect(t, post(t, u+"/xhr_send", `["x"]`), 204, "")
	}
	got := map[string]bool{<-rooms: true, <-rooms: true}
	if !got["blue"] || !got["red"] {
		t.Fatalf("rooms seen: %v, want blue and red", got)
	}
}

// Under an http.ServeMux pattern, the application reads the wildcards of
// the route the session was opened on, whether the prefix is given or
// left to the pattern.
func TestRequestKeepsServeMuxPathValues(t *testing.T) {
	for _, prefix := range []string{"", "/rooms/{room}/chat"} {
		t.Run(prefix, func(t *testing.T) {
			rooms := make(chan string, 2)
			mux := http.NewServeMux()
			mux.Handle("/rooms/{room}/chat/", sockjs.New(prefix, func(s *sockjs.Session) {
				_, _ = s.Recv(context.Background())
				rooms <- s.Request().PathValue("room")
			}, nil))
			base := serve(t, mux)
			for _, room := range []string{"blue", "red"} {
				u := base + "/rooms/" + room + "/chat/0/" + newID()
				expect(t, post(t, u+"/xhr", ""), 200, "o\n")
				expect(t, post(t, u+"/xhr_send", `["x"]`), 204, "")
			}
			got := map[string]bool{<-rooms: true, <-rooms: true}
			if !got["blue"] || !got["red"] {
				t.Fatalf("rooms seen: %v, want blue and red", got)
			}
			// Paths outside the pattern's shape are not SockJS paths.
			expect(t, do(t, "GET", base+"/rooms//chat/info", "", nil), 404, "404 page not found\n")
		})
	}
}

func TestMultiSegmentWildcardPrefixPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("New accepted a {name...} prefix")
		}
	}()
	sockjs.New("/files/{path...}", echo, nil)
}

func TestRequestSnapshot(t *testing.T) {
	reqs := make(chan *http.Request, 1)
	srv := sockjs.New("/echo", func(s *sockjs.Session) {
		if s.Transport() != "xhr" || s.ID() == "" {
			t.Errorf("transport %q id %q", s.Transport(), s.ID())
		}
		reqs <- s.Request()
		<-s.Context().Done()
	}, nil)
	base := serve(t, srv) + "/echo/0/" + newID()
	do(t, "POST", base+"/xhr", "", map[string]string{"Cookie": "user=ann", "X-Token": "t1"})
	r := <-reqs
	if c, err := r.Cookie("user"); err != nil || c.Value != "ann" || r.Header.Get("X-Token") != "t1" {
		t.Fatalf("opening request lost its cookie or header: %v", r.Header)
	}
	if err := r.Context().Err(); err != nil {
		t.Fatalf("request context is done after the request: %v", err)
	}
	if r.Body != http.NoBody {
		t.Fatal("request body should be empty")
	}
}

func TestShutdown(t *testing.T) {
	srv := sockjs.New("/echo", echo, &sockjs.Options{Heartbeat: time.Minute})
	base := serve(t, srv) + "/echo"

	// A websocket, and an xhr long poll waiting for data.
	ws := dialWS(t, base+"/000/"+newID()+"/websocket", nil)
	if got := readWS(t, ws); got != "o" {
		t.Fatal(got)
	}
	poll := base + "/000/" + newID()
	expect(t, post(t, poll+"/xhr", ""), 200, "o\n")
	polled := make(chan response, 1)
	go func() { polled <- post(t, poll+"/xhr", "") }()
	time.Sleep(50 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	const goingAway = `c[1001,"Server shutting down"]`
	if got := readWS(t, ws); got != goingAway {
		t.Fatalf("websocket got %q", got)
	}
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, 1001) {
		t.Fatalf("websocket close: %v", err)
	}
	if r := <-polled; r.body != goingAway+"\n" {
		t.Fatalf("long poll got %q", r.body)
	}
	// No new sessions after Shutdown.
	if r := post(t, base+"/000/"+newID()+"/xhr", ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("new session after Shutdown: %d %q", r.status, r.body)
	}
}

func TestShutdownHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := sockjs.New("/stuck", func(s *sockjs.Session) { <-release }, nil)
	base := serve(t, srv) + "/stuck/0/" + newID()
	expect(t, post(t, base+"/xhr", ""), 200, "o\n")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck handler: %v", err)
	}
	close(release)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
}

func TestHandlerPanicEndsOnlyItsSession(t *testing.T) {
	srv := sockjs.New("/p", func(s *sockjs.Session) {
		msg, _ := s.Recv(context.Background())
		if msg == "boom" {
			panic("application bug")
		}
		echo(s)
	}, nil)
	base := serve(t, srv) + "/p/0/"
	bad, good := base+newID(), base+newID()
	for _, u := range []string{bad, good} {
		expect(t, post(t, u+"/xhr", ""), 200, "o\n")
	}
	expect(t, post(t, bad+"/xhr_send", `["boom"]`), 204, "")
	expect(t, post(t, bad+"/xhr", ""), 200, "c[1011,\"Internal server error\"]\n")
	expect(t, post(t, good+"/xhr_send", `["fine","ok"]`), 204, "")
	expect(t, post(t, good+"/xhr", ""), 200, "a[\"ok\"]\n") // "fine" was the first Recv
}

func TestHandlerReturnClosesSession(t *testing.T) {
	srv := sockjs.New("/r", func(s *sockjs.Session) { _ = s.Send("bye") }, nil)
	base := serve(t, srv) + "/r/0/" + newID()
	expect(t, post(t, base+"/xhr", ""), 200, "o\n")
	expect(t, post(t, base+"/xhr", ""), 200, "a[\"bye\"]\n")
	expect(t, post(t, base+"/xhr", ""), 200, "c[1000,\"Normal closure\"]\n")
}

func TestAllowedOrigins(t *testing.T) {
	srv := sockjs.New("/echo", echo, &sockjs.Options{
		AllowedOrigins: []string{"https://app.example.com", "https://*.trusted.example"},
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := ts.URL + "/echo"
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a cross-origin browser request
		{"https://app.example.com", true},
		{"https://a.trusted.example", true},
		{ts.URL, true}, // same origin
		{"https://evil.example", false},
		{"null", false},
		{"https://app.example.com.evil.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			h := map[string]string{}
			if tt.origin != "" {
				h["Origin"] = tt.origin
			}
			r := do(t, "GET", base+"/info", "", h)
			if (r.status == 200) != tt.ok {
				t.Fatalf("/info: %d", r.status)
			}
			if !tt.ok && r.status != http.StatusForbidden {
				t.Fatalf("/info refused with %d, want 403", r.status)
			}
			r = do(t, "POST", base+"/000/"+newID()+"/xhr", "", h)
			if (r.status == 200) != tt.ok {
				t.Fatalf("xhr: %d", r.status)
			}
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/0/"+newID()+"/websocket", hdr)
			if (err == nil) != tt.ok {
				t.Fatalf("websocket: %v", err)
			}
			if err == nil {
				c.Close()
			} else if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("websocket refused with %d, want 403", resp.StatusCode)
			}
		})
	}
	// Iframe transports cannot be origin-checked: restricted origins turn them off.
	if r := do(t, "GET", base+"/iframe.html", "", nil); r.status != http.StatusForbidden {
		t.Fatalf("iframe page with restricted origins: %d", r.status)
	}
}

// fakeClient makes requests look as if they came from the address in the
// X-Test-Peer header, so one test can play several clients and a proxy.
func fakeClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.Header.Get("X-Test-Peer"); p != "" {
			r.RemoteAddr = p
		}
		h.ServeHTTP(w, r)
	})
}

func TestSessionBinding(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	srv := sockjs.New("/echo", echo, &sockjs.Options{TrustedProxies: []netip.Prefix{proxy}})
	base := serve(t, fakeClient(srv)) + "/echo/0/" + newID()
	alice := map[string]string{"X-Test-Peer": "192.0.2.1:1111"}
	expect(t, do(t, "POST", base+"/xhr", "", alice), 200, "o\n")

	// Another port of the same address is the same client (polling opens
	// new connections).
	expect(t, do(t, "POST", base+"/xhr_send", `["a"]`, map[string]string{"X-Test-Peer": "192.0.2.1:2222"}), 204, "")
	// Another address is not: the session does not exist for it.
	mallory := map[string]string{"X-Test-Peer": "198.51.100.7:1111"}
	if r := do(t, "POST", base+"/xhr_send", `["evil"]`, mallory); r.status != 404 {
		t.Fatalf("send from another client: %d", r.status)
	}
	if r := do(t, "POST", base+"/xhr", "", mallory); r.status != 404 {
		t.Fatalf("poll from another client: %d", r.status)
	}
	// Behind a trusted proxy, X-Forwarded-For names the client; a client
	// cannot forge it by prepending entries.
	viaProxy := map[string]string{"X-Test-Peer": "10.1.2.3:80", "X-Forwarded-For": "203.0.113.9, 192.0.2.1"}
	expect(t, do(t, "POST", base+"/xhr", "", viaProxy), 200, "a[\"a\"]\n")
	forged := map[string]string{"X-Test-Peer": "198.51.100.7:1", "X-Forwarded-For": "192.0.2.1"}
	if r := do(t, "POST", base+"/xhr_send", `["evil"]`, forged); r.status != 404 {
		t.Fatalf("X-Forwarded-For from an untrusted peer was believed: %d", r.status)
	}

	// Binding can be turned off.
	open := sockjs.New("/echo", echo, &sockjs.Options{SessionKey: sockjs.NoSessionBinding})
	base = serve(t, fakeClient(open)) + "/echo/0/" + newID()
	expect(t, do(t, "POST", base+"/xhr", "", alice), 200, "o\n")
	expect(t, do(t, "POST", base+"/xhr_send", `["a"]`, mallory), 204, "")
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:5", "", "192.0.2.1"},
		{"192.0.2.1:5", "203.0.113.9", "192.0.2.1"}, // untrusted peer: header ignored
		{"10.0.0.1:5", "203.0.113.9", "203.0.113.9"},
		{"10.0.0.1:5", "203.0.113.9, 10.0.0.2", "203.0.113.9"},
		{"10.0.0.1:5", "198.51.100.1, 203.0.113.9", "203.0.113.9"},
		{"10.0.0.1:5", "garbage, 10.0.0.3", "10.0.0.3"},
		{"10.0.0.1:5", "", "10.0.0.1"},
		{"[::1]:5", "2001:db8::1", "2001:db8::1"},
		{"not-an-address", "", "not-an-address"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := sockjs.ClientIP(r, trusted); got != tt.want {
			t.Errorf("ClientIP(%s, XFF %q) = %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}

func TestMaxSessions(t *testing.T) {
	srv := sockjs.New("/echo", echo, &sockjs.Options{MaxSessions: 1})
	base := serve(t, srv) + "/echo/0/"
	first := base + newID()
	expect(t, post(t, first+"/xhr", ""), 200, "o\n")
	if r := post(t, base+newID()+"/xhr", ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("second session: %d %q", r.status, r.body)
	}
	ws := dialWS(t, base+newID()+"/websocket", nil)
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseTryAgainLater) {
		t.Fatalf("websocket over the cap: %v", err)
	}
	// The existing session is unharmed.
	expect(t, post(t, first+"/xhr_send", `["x"]`), 204, "")
	expect(t, post(t, first+"/xhr", ""), 200, "a[\"x\"]\n")
}

func TestMaxSendBody(t *testing.T) {
	srv := sockjs.New("/echo", echo, &sockjs.Options{MaxSendBody: 64})
	base := serve(t, srv) + "/echo/0/" + newID()
	expect(t, post(t, base+"/xhr", ""), 200, "o\n")
	big := `["` + strings.Repeat("x", 100) + `"]`
	if r := post(t, base+"/xhr_send", big); r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("xhr_send over the limit: %d", r.status)
	}
	r := do(t, "POST", base+"/jsonp_send", "d="+big, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("jsonp_send over the limit: %d", r.status)
	}
	// The session carries on.
	expect(t, post(t, base+"/xhr_send", `["ok"]`), 204, "")
	expect(t, post(t, base+"/xhr", ""), 200, "a[\"ok\"]\n")
}

func TestSlowClientIsClosed(t *testing.T) {
	sent := make(chan error, 1)
	srv := sockjs.New("/flood", func(s *sockjs.Session) {
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			err = s.Send("message")
		}
		sent <- err
		<-s.Context().Done()
	}, &sockjs.Options{SendQueueMessages: 4})
	base := serve(t, srv) + "/flood/0/" + newID()
	expect(t, post(t, base+"/xhr", ""), 200, "o\n")
	if err := <-sent; !errors.Is(err, sockjs.ErrSlowClient) {
		t.Fatalf("Send past the queue bound: %v", err)
	}
	expect(t, post(t, base+"/xhr", ""), 200, "a[\"message\",\"message\",\"message\",\"message\"]\n")
	expect(t, post(t, base+"/xhr", ""), 200, "c[1008,\"Send queue full\"]\n")
}

// Sessions are independent: one whose application never reads does not
// delay another's messages.
func TestStalledSessionDoesNotBlockOthers(t *testing.T) {
	var once sync.Once
	stalled := make(chan struct{})
	srv := sockjs.New("/echo", func(s *sockjs.Session) {
		if strings.HasPrefix(s.ID(), "stall") {
			once.Do(func() { close(stalled) })
			<-s.Context().Done() // never reads
			return
		}
		echo(s)
	}, &sockjs.Options{RecvQueue: 1, RecvTimeout: time.Minute})
	base := serve(t, srv) + "/echo/0/"
	stall := base + "stall" + newID()
	expect(t, post(t, stall+"/xhr", ""), 200, "o\n")
	<-stalled
	go func() { // fills the queue, then waits for room
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", stall+"/xhr_send", strings.NewReader(`["1","2","3"]`))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	roundTrip(t, base[:len(base)-len("/0/")])
	if d := time.Since(start); d > time.Second {
		t.Fatalf("another session took %v", d)
	}
}

// A client that only receives, under steady traffic, is alive: it answers
// pings, which the server must send whether or not it is busy writing.
func TestReceiveOnlyWebsocketStaysOpen(t *testing.T) {
	srv := sockjs.New("/feed", func(s *sockjs.Session) {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if s.Send("tick") != nil {
					return
				}
			case <-s.Context().Done():
				return
			}
		}
	}, &sockjs.Options{Heartbeat: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	ws := dialWS(t, serve(t, srv)+"/feed/0/"+newID()+"/websocket", nil)
	// The liveness deadline is 2 heartbeats + the write timeout (150 ms);
	// read for many times that, never sending.
	end := time.Now().Add(time.Second)
	_ = ws.SetReadDeadline(end.Add(time.Second))
	for time.Now().Before(end) {
		if _, p, err := ws.ReadMessage(); err != nil {
			t.Fatalf("receive-only client dropped: %v", err)
		} else if strings.HasPrefix(string(p), "c") {
			t.Fatalf("receive-only client closed: %s", p)
		}
	}
}

// A client that stops reading is cut off by the write deadline: the
// writer never blocks longer than WriteTimeout, even with room left in the
// send queue.
func TestWriteDeadlineEndsStuckClient(t *testing.T) {
	closed := make(chan int, 1)
	srv := sockjs.New("/flood", func(s *sockjs.Session) {
		chunk := strings.Repeat("x", 64<<10)
		for s.Send(chunk) == nil {
			time.Sleep(time.Millisecond) // well below the queue bound
		}
		code, _, _ := s.CloseStatus()
		closed <- code
	}, &sockjs.Options{WriteTimeout: 200 * time.Millisecond, SendQueueBytes: 1 << 30, SendQueueMessages: 1 << 20})
	ws := dialWS(t, serve(t, srv)+"/flood/0/"+newID()+"/websocket", nil)
	if got := readWS(t, ws); got != "o" {
		t.Fatal(got)
	}
	// Read nothing more: the socket buffers fill and the writer blocks.
	select {
	case code := <-closed:
		if code != sockjs.CodeInterrupted {
			t.Fatalf("stuck client's session closed with %d, want %d (write timeout)", code, sockjs.CodeInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client that reads nothing kept its session for 10 s")
	}
}

// Sessions are logged at debug when they open and close, with what an
// operator needs; refusals at info with their reason; nothing per message.
func TestLogging(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := sockjs.New("/echo", echo, &sockjs.Options{Logger: logger, AllowedOrigins: []string{"https://ok.example"}})
	base := serve(t, srv) + "/echo"
	url := base + "/0/" + newID()
	expect(t, post(t, url+"/xhr", ""), 200, "o\n")
	expect(t, post(t, url+"/xhr_send", `["a","b","c"]`), 204, "")
	expect(t, post(t, url+"/xhr", ""), 200, "a[\"a\",\"b\",\"c\"]\n")
	do(t, "GET", base+"/info", "", map[string]string{"Origin": "https://evil.example"})
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		records = append(records, rec)
	}
	find := func(msg string) map[string]any {
		for _, r := range records {
			if r["msg"] == msg {
				return r
			}
		}
		t.Fatalf("no %q in the log:\n%s", msg, buf.String())
		return nil
	}
	opened := find("sockjs: session opened")
	closed := find("sockjs: session closed")
	refused := find("sockjs: request refused")
	for _, r := range []map[string]any{opened, closed} {
		if r["level"] != "DEBUG" || r["transport"] != "xhr" || r["remote"] == nil || r["session"] == nil {
			t.Errorf("session log lacks level, transport, remote or id: %v", r)
		}
	}
	if closed["code"] != float64(sockjs.CodeGoingAway) || closed["reason"] != "Server shutting down" || closed["duration"] == nil {
		t.Errorf("close log lacks code, reason or duration: %v", closed)
	}
	if refused["level"] != "INFO" || refused["reason"] != "origin" {
		t.Errorf("refusal log: %v", refused)
	}
	if len(records) != 3 {
		t.Errorf("want exactly 3 log records (no per-message logging), got %d:\n%s", len(records), buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// Over HTTPS the JSESSIONID cookie must be SameSite=None and Secure, or a
// cross-origin page never sends it back; over plain HTTP it stays as the
// protocol suite expects.
func TestJSessionIDCookie(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	srv := sockjs.New("/echo", echo, &sockjs.Options{JSessionID: true, TrustedProxies: []netip.Prefix{proxy}})
	plain := serve(t, fakeClient(srv))
	tlsServer := httptest.NewTLSServer(srv)
	t.Cleanup(tlsServer.Close)
	tests := []struct {
		name   string
		base   string
		client *http.Client
		header map[string]string
		secure bool
	}{
		{"plain HTTP", plain, http.DefaultClient, nil, false},
		{"TLS", tlsServer.URL, tlsServer.Client(), nil, true},
		{"trusted proxy says https", plain, http.DefaultClient, map[string]string{"X-Test-Peer": "10.1.2.3:1000", "X-Forwarded-Proto": "https"}, true},
		{"trusted proxy says http", plain, http.DefaultClient, map[string]string{"X-Test-Peer": "10.1.2.3:1000", "X-Forwarded-Proto": "http"}, false},
		{"trusted proxy appends to a forged https", plain, http.DefaultClient, map[string]string{"X-Test-Peer": "10.1.2.3:1000", "X-Forwarded-Proto": "https, http"}, false},
		{"client forges https", plain, http.DefaultClient, map[string]string{"X-Test-Peer": "192.0.2.1:1000", "X-Forwarded-Proto": "https"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", tt.base+"/echo/000/"+newID()+"/xhr", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cookie := resp.Header.Get("Set-Cookie")
			if !strings.HasPrefix(cookie, "JSESSIONID=dummy; Path=/") {
				t.Fatalf("Set-Cookie: %q", cookie)
			}
			secure := strings.Contains(cookie, "; Secure") && strings.Contains(cookie, "; SameSite=None")
			if secure != tt.secure || strings.Contains(cookie, "SameSite") != tt.secure {
				t.Fatalf("Set-Cookie: %q, want secure %v", cookie, tt.secure)
			}
		})
	}
}

// Ids far longer than any client sends are refused with 404 and open no
// session, on every transport.
func TestOversizedIDs(t *testing.T) {
	opened := make(chan struct{}, 10)
	srv := sockjs.New("/echo", func(s *sockjs.Session) { opened <- struct{}{} }, nil)
	base := serve(t, srv) + "/echo"
	long := strings.Repeat("x", 64<<10)
	for _, path := range []string{"/000/" + long, "/" + long + "/abcdefgh"} {
		for _, transport := range []string{"xhr", "xhr_streaming", "xhr_send", "eventsource"} {
			if r := do(t, "POST", base+path+"/"+transport, `["x"]`, nil); r.status != http.StatusNotFound {
				t.Errorf("%s with a %d-byte id: %d", transport, len(long), r.status)
			}
		}
		_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+path+"/websocket", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("websocket with a long id: %v", err)
		}
	}
	select {
	case <-opened:
		t.Fatal("a session opened")
	default:
	}
}

func TestLongHeartbeatWarns(t *testing.T) {
	for hb, warn := range map[time.Duration]bool{0: false, 59 * time.Second: false, 60 * time.Second: true, time.Hour: true} {
		var logs syncBuffer
		sockjs.New("/echo", echo, &sockjs.Options{Heartbeat: hb, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if got := strings.Contains(logs.String(), "level=WARN") && strings.Contains(logs.String(), "heartbeat="); got != warn {
			t.Errorf("heartbeat %v: warned %v, want %v: %s", hb, got, warn, logs.String())
		}
	}
}
