package protocoltests

// Checks beyond the official suite: sockjsd's documented choices and
// regressions seen in other SockJS servers.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/protocol-tests/testserver"
)

// jsonp answers are scripts built from user data: they carry nosniff so
// that no browser treats them as anything else.
func TestSockjsd_JsonpNosniff(t *testing.T) {
	t.Parallel()
	r := get(t, sessionURL(svcEcho)+"/jsonp?c=x", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, jsonpBody("x", "o"))
	checkHeader(t, r, "X-Content-Type-Options", "nosniff")
}

// pollConn makes requests one after another on a single HTTP/1.1
// connection, with the suite's raw client: no connection pool stands
// between the test and the server, so if the server ever closed the
// connection the test would see exactly that.
type pollConn struct {
	c    *rawConn
	last string // the previous exchange, for diagnostics
}

func (k *pollConn) post(url, body string) (int, string) {
	k.c.t.Helper()
	r := k.c.request("POST", url, "1.1", body, nil)
	k.c.readBody("POST", r)
	if connectionClose(r.header) {
		k.c.t.Fatalf("%s: the server ends the keep-alive connection (Connection: close)", r.what)
	}
	k.last = fmt.Sprintf("%s %d %q", r.what, r.status, r.body)
	return r.status, r.body
}

// runPolls opens a session at url and runs n xhr polls in a row on one
// keep-alive connection; before each poll, prepare (if set) makes sure a
// message is waiting. Each answer must be want(i), and never 2010.
func runPolls(t *testing.T, url string, n int, prepare func(k *pollConn, i int), want func(i int) string) {
	t.Helper()
	k := &pollConn{c: dialRaw(t, url)}
	defer k.c.close()
	defer func() {
		if t.Failed() {
			t.Logf("the exchange before the failure: %s", k.last)
		}
	}()
	if _, body := k.post(url+"/xhr", ""); body != "o\n" {
		t.Fatalf("open: %q", body)
	}
	start := time.Now()
	for i := range n {
		if prepare != nil {
			prepare(k, i)
		}
		status, body := k.post(url+"/xhr", "")
		if strings.Contains(body, "c[2010") {
			t.Fatalf("poll %d of %d got %q: the previous poll still held the session", i, n, body)
		}
		if status != 200 || body != want(i) {
			t.Fatalf("poll %d: status %d body %q, want 200 %q", i, status, body, want(i))
		}
	}
	t.Logf("%d polls in %v on one connection", n, time.Since(start))
}

// The poll that follows a poll on the same connection must find the
// receiver slot free (igm/sockjs-go freed it asynchronously and answered
// c[2010,...] now and then, which ends the session in sockjs-client).
func TestRegression_TenThousandPollsNo2010(t *testing.T) {
	const n = 10000
	url := sessionURL(svcEcho)
	send := func(k *pollConn, i int) {
		if status, body := k.post(url+"/xhr_send", fmt.Sprintf(`["%d"]`, i)); status != 204 {
			t.Fatalf("xhr_send %d: status %d body %q", i, status, body)
		}
	}
	runPolls(t, url, n, send, func(i int) string { return fmt.Sprintf("a[\"%d\"]\n", i) })
}

// The same with polls back to back, each answered by a heartbeat, on a
// server of our own with a 1 ms heartbeat.
func TestRegression_BackToBackHeartbeatPollsNo2010(t *testing.T) {
	if external {
		t.Skip("needs an in-process server with a short heartbeat")
	}
	if testing.Short() {
		t.Skip("slow")
	}
	srv, stop := startServer(testserver.Config{Heartbeat: time.Millisecond})
	defer stop()
	runPolls(t, srv.URL+"/echo/000/"+newID(), 5000, nil, func(int) string { return "h\n" })
}
