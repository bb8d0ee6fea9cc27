package protocoltests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/protocol-tests/testserver"
)

// ioTimeout bounds every single network operation of the suite.
const ioTimeout = 5 * time.Second

// closeTimeout is how long a connection that must be closed by the server
// may take to report EOF. The official suite allows 0.1 s; we allow more
// so that a loaded machine running -race does not fail spuriously.
const closeTimeout = 2 * time.Second

// The services the suite expects under the top URL.
const (
	svcEcho      = "echo"
	svcClose     = "close"
	svcNoWS      = "disabled_websocket_echo"
	svcCookie    = "cookie_needed_echo"
	goAwayFrame  = `c[3000,"Go away!"]`
	anotherFrame = `c[2010,"Another connection still open"]`
	interrupted  = `c[1002,"Connection interrupted"]`
)

// The not-cached Cache-Control value, byte for byte.
const noCache = "no-store, no-cache, no-transform, must-revalidate, max-age=0"

var (
	topURL   string // e.g. http://127.0.0.1:41234, no trailing slash
	external bool   // SOCKJS_URL was given
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if u := os.Getenv("SOCKJS_URL"); u != "" {
		topURL = strings.TrimRight(u, "/")
		external = true
		return m.Run()
	}
	srv, stop := startServer(testserver.Config{})
	topURL = srv.URL
	defer stop()
	return m.Run()
}

// startServer serves testserver.New(c) on a loopback port. stop shuts the
// sockjs services down (ending streams with a close frame) and then the
// HTTP server, never waiting more than a few seconds.
func startServer(c testserver.Config) (*httptest.Server, func()) {
	ts := testserver.New(c)
	hs := httptest.NewServer(ts)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "protocol-tests: sockjs shutdown:", err)
		}
		hs.CloseClientConnections()
		hs.Close()
	}
	return hs, stop
}

// baseURL is the base URL of a service, e.g. http://host:port/echo.
func baseURL(service string) string { return topURL + "/" + service }

// newID returns a random version-4 UUID, the kind of session id the
// official suite uses.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sessionURL is a fresh session URL of a service: <base>/000/<uuid>.
func sessionURL(service string) string {
	return baseURL(service) + "/000/" + newID()
}

// H is a set of request headers, sent exactly as spelled.
type H map[string]string

// formHeaders is what jsonp_send requests carry in the official suite.
var formHeaders = H{"Content-Type": "application/x-www-form-urlencoded"}

// ---- assertions -------------------------------------------------------
//
// must* stop the test (the following steps would make no sense); check*
// report and go on, so that one run shows every wrong header.

func mustStatus(t testing.TB, r *response, want ...int) {
	t.Helper()
	for _, w := range want {
		if r.status == w {
			return
		}
	}
	t.Fatalf("%s: status %d, want %v (body %.200q)", r.what, r.status, want, r.body)
}

func mustBody(t testing.TB, r *response, want string) {
	t.Helper()
	if r.body != want {
		t.Fatalf("%s: body %q, want %q", r.what, r.body, want)
	}
}

func mustEmptyBody(t testing.TB, r *response) {
	t.Helper()
	if r.body != "" {
		t.Fatalf("%s: body %q, want none", r.what, r.body)
	}
}

func mustBodyContain(t testing.TB, r *response, sub string) {
	t.Helper()
	if !strings.Contains(r.body, sub) {
		t.Fatalf("%s: body %q does not contain %q", r.what, r.body, sub)
	}
}

// checkHeader wants header key to be exactly want.
func checkHeader(t testing.TB, r *response, key, want string) {
	t.Helper()
	if got := r.header.Get(key); got != want {
		t.Errorf("%s: %s is %q, want %q", r.what, key, got, want)
	}
}

// checkNoHeader wants header key absent or empty.
func checkNoHeader(t testing.TB, r *response, key string) {
	t.Helper()
	if got := r.header.Get(key); got != "" {
		t.Errorf("%s: unexpected %s: %q", r.what, key, got)
	}
}

// checkHeaderMatch wants header key to match the regular expression re.
func checkHeaderMatch(t testing.TB, r *response, key, re string) {
	t.Helper()
	if got := r.header.Get(key); !regexp.MustCompile(re).MatchString(got) {
		t.Errorf("%s: %s is %q, want a match for %s", r.what, key, got, re)
	}
}

// checkContentType compares Content-Type with want, spaces ignored.
func checkContentType(t testing.TB, r *response, want string) {
	t.Helper()
	if got := strings.ReplaceAll(r.header.Get("Content-Type"), " ", ""); got != want {
		t.Errorf("%s: Content-Type %q, want %q", r.what, r.header.Get("Content-Type"), want)
	}
}

func check404(t testing.TB, r *response) {
	t.Helper()
	if r.status != http.StatusNotFound {
		t.Errorf("%s: status %d, want 404", r.what, r.status)
	}
}

// check405: status 405, an Allow header, no Content-Type and no body.
func check405(t testing.TB, r *response) {
	t.Helper()
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("%s: status %d, want 405", r.what, r.status)
	}
	checkNoHeader(t, r, "Content-Type")
	if r.header.Get("Allow") == "" {
		t.Errorf("%s: no Allow header", r.what)
	}
	if r.body != "" {
		t.Errorf("%s: body %q, want none", r.what, r.body)
	}
}

func checkNoCookie(t testing.TB, r *response) {
	t.Helper()
	checkNoHeader(t, r, "Set-Cookie")
}

// checkCORS: with an Origin, it is echoed with credentials allowed;
// without one, "*" and no credentials.
func checkCORS(t testing.TB, r *response, origin string) {
	t.Helper()
	if origin == "" {
		checkHeader(t, r, "Access-Control-Allow-Origin", "*")
		checkNoHeader(t, r, "Access-Control-Allow-Credentials")
		return
	}
	checkHeader(t, r, "Access-Control-Allow-Origin", origin)
	checkHeader(t, r, "Access-Control-Allow-Credentials", "true")
}

// checkNotCached: responses to GETs of private data and to POSTs must
// forbid every cache.
func checkNotCached(t testing.TB, r *response) {
	t.Helper()
	checkHeader(t, r, "Cache-Control", noCache)
	checkNoHeader(t, r, "Expires")
	checkNoHeader(t, r, "Last-Modified")
}

// checkLongCache: strongly cacheable, for about a year.
func checkLongCache(t testing.TB, r *response) {
	t.Helper()
	checkHeaderMatch(t, r, "Cache-Control", `public`)
	checkHeaderMatch(t, r, "Cache-Control", `max-age=[1-9][0-9]{6}`)
	if r.header.Get("Expires") == "" {
		t.Errorf("%s: no Expires header", r.what)
	}
}

// checkOptions is the CORS preflight check every xhr-like endpoint gets,
// once with Origin "test" and once with Origin "null".
func checkOptions(t *testing.T, url, methods string) {
	t.Helper()
	for _, origin := range []string{"test", "null"} {
		r := do(t, "OPTIONS", url, "", H{"Access-Control-Request-Method": methods, "Origin": origin})
		mustStatus(t, r, 200, 204)
		checkLongCache(t, r)
		maxAge, err := strconv.Atoi(r.header.Get("Access-Control-Max-Age"))
		if err != nil || maxAge <= 1000000 {
			t.Errorf("%s: Access-Control-Max-Age %q, want an integer above 1000000",
				r.what, r.header.Get("Access-Control-Max-Age"))
		}
		allowed := r.header.Get("Access-Control-Allow-Methods")
		for _, m := range strings.Split(methods, ",") {
			if !strings.Contains(allowed, strings.TrimSpace(m)) {
				t.Errorf("%s: Access-Control-Allow-Methods %q lacks %s", r.what, allowed, strings.TrimSpace(m))
			}
		}
		if r.body != "" {
			t.Errorf("%s: body %q, want none", r.what, r.body)
		}
		checkCORS(t, r, origin)
	}
}

// checkCookie wants Set-Cookie to be "JSESSIONID=<value>; path=/..."
// (the path attribute second, its name in any case).
func checkCookie(t testing.TB, r *response, value string) {
	t.Helper()
	sc := r.header.Get("Set-Cookie")
	parts := strings.Split(sc, ";")
	if len(parts) < 2 {
		t.Errorf("%s: Set-Cookie %q, want JSESSIONID=%s;path=/", r.what, sc, value)
		return
	}
	if got := strings.TrimSpace(parts[0]); got != "JSESSIONID="+value {
		t.Errorf("%s: Set-Cookie %q starts with %q, want JSESSIONID=%s", r.what, sc, got, value)
	}
	if got := strings.ToLower(strings.TrimSpace(parts[1])); got != "path=/" {
		t.Errorf("%s: Set-Cookie %q: second attribute %q, want path=/", r.what, sc, got)
	}
}

// mustRead wants the next piece of a streaming response to be exactly want.
func mustRead(t testing.TB, s *stream, want string) {
	t.Helper()
	if got := s.read(); got != want {
		t.Fatalf("%s: read %q, want %q", s.what, got, want)
	}
}

// mustEnd wants a streaming response to be over.
func mustEnd(t testing.TB, s *stream) {
	t.Helper()
	if got := s.read(); got != "" {
		t.Fatalf("%s: read %q, want the end of the response", s.what, got)
	}
}

// openXhrSession opens a session of service with an xhr poll and checks
// the open frame.
func openXhrSession(t testing.TB, service string) string {
	t.Helper()
	url := sessionURL(service)
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, "o\n")
	return url
}

// xhrSend posts body to a session's xhr_send and wants 204 with no body.
func xhrSend(t testing.TB, url, body string) {
	t.Helper()
	r := post(t, url+"/xhr_send", body, nil)
	mustStatus(t, r, 204)
	mustEmptyBody(t, r)
}
