package protocoltests

// Checks beyond the official suite: sockjsd's documented choices and
// regressions seen in other SockJS servers.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
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

// keepAliveClient posts over one keep-alive connection and notes every
// time it had to open another one, with what came before.
type keepAliveClient struct {
	c          *http.Client
	dials      atomic.Int32
	requests   int
	last       string   // the previous exchange, for diagnostics
	reconnects []string // one line per extra connection
}

func newKeepAliveClient() *keepAliveClient {
	k := &keepAliveClient{}
	d := &net.Dialer{Timeout: ioTimeout}
	k.c = &http.Client{
		Timeout: ioTimeout,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				k.dials.Add(1)
				return d.DialContext(ctx, network, addr)
			},
			MaxConnsPerHost:     1,
			MaxIdleConnsPerHost: 1,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return k
}

// post posts body and returns the status and the response body.
func (k *keepAliveClient) post(url, body string) (int, string, error) {
	before := k.dials.Load()
	resp, err := k.c.Post(url, "text/plain", strings.NewReader(body))
	k.requests++
	if k.requests > 1 && k.dials.Load() != before {
		k.reconnects = append(k.reconnects, fmt.Sprintf("request %d (%s) needed a new connection; the one before: %s",
			k.requests, url[strings.LastIndexByte(url, '/')+1:], k.last))
	}
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	k.last = fmt.Sprintf("%s %d, Connection %q, body %q, read error %v",
		url[strings.LastIndexByte(url, '/')+1:], resp.StatusCode, resp.Header.Get("Connection"), b, err)
	return resp.StatusCode, string(b), err
}

func (k *keepAliveClient) close() { k.c.CloseIdleConnections() }

// runPolls opens a session at url and runs n xhr polls in a row on one
// keep-alive connection; before each poll, prepare (if set) makes sure a
// message is waiting. Each answer must be want(i), and never 2010.
func runPolls(t *testing.T, url string, n int, prepare func(k *keepAliveClient, i int) error, want func(i int) string) {
	t.Helper()
	k := newKeepAliveClient()
	defer k.close()

	if _, body, err := k.post(url+"/xhr", ""); err != nil || body != "o\n" {
		t.Fatalf("open: %q, %v", body, err)
	}
	start := time.Now()
	for i := range n {
		if prepare != nil {
			if err := prepare(k, i); err != nil {
				t.Fatalf("poll %d: prepare: %v", i, err)
			}
		}
		status, body, err := k.post(url+"/xhr", "")
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if strings.Contains(body, "c[2010") {
			t.Fatalf("poll %d of %d got %q: the previous poll still held the session", i, n, body)
		}
		if status != 200 || body != want(i) {
			t.Fatalf("poll %d: status %d body %q, want 200 %q", i, status, body, want(i))
		}
	}
	t.Logf("%d polls in %v", n, time.Since(start))
	for _, r := range k.reconnects {
		t.Errorf("want one keep-alive connection: %s", r)
	}
}

// The poll that follows a poll on the same connection must find the
// receiver slot free (igm/sockjs-go freed it asynchronously and answered
// c[2010,...] now and then, which ends the session in sockjs-client).
func TestRegression_TenThousandPollsNo2010(t *testing.T) {
	const n = 10000
	url := sessionURL(svcEcho)
	send := func(k *keepAliveClient, i int) error {
		status, body, err := k.post(url+"/xhr_send", fmt.Sprintf(`["%d"]`, i))
		if err == nil && status != 204 {
			err = fmt.Errorf("xhr_send: status %d body %q", status, body)
		}
		return err
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
