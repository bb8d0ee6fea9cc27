package sockjsclient_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

func dialHixie(t *testing.T, u string) *sockjsclient.Hixie76 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	h, err := sockjsclient.DialHixie76(ctx, u, nil)
	if err != nil {
		t.Fatalf("DialHixie76 %s: %v", u, err)
	}
	t.Cleanup(func() { _ = h.Close(sockjsclient.CloseDrop) })
	return h
}

func hixieMustRecv(t *testing.T, h *sockjsclient.Hixie76, want string) {
	t.Helper()
	got, err := h.Recv(time.Now().Add(ioTimeout))
	if err != nil || got != want {
		t.Fatalf("Recv = %q, %v; want %q", got, err, want)
	}
}

// The answer to the official suite's keys, as that suite has it.
func TestHixieAnswer(t *testing.T) {
	got := sockjsclient.HixieAnswer("4 @1  46546xW%0l 1 5", "12998 5 Y3 1  .P00", "aaaaaaaa")
	if want := "\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{"; string(got[:]) != want {
		t.Fatalf("HixieAnswer = %q, want %q", got[:], want)
	}
}

// Against the server: the handshake, frames both ways (as sent: broken
// SockJS too), the server's closing frame, and the client's.
func TestHixie76(t *testing.T) {
	ts := serve(t, newServer(t, nil))
	h := dialHixie(t, ts.URL+"/echo/000/hixie1/websocket")
	if up := h.Response.Header.Get("Upgrade"); !strings.EqualFold(up, "websocket") {
		t.Errorf("handshake Upgrade %q", up)
	}
	hixieMustRecv(t, h, "o")
	for _, m := range tricky {
		if err := h.Send(string(sockjsclient.AppendSendBody(nil, []string{m})), time.Now().Add(ioTimeout)); err != nil {
			t.Fatal(err)
		}
		f, err := h.Recv(time.Now().Add(ioTimeout))
		if err != nil {
			t.Fatal(err)
		}
		if fr, err := sockjsclient.ParseFrame([]byte(f)); err != nil || len(fr.Messages) != 1 || fr.Messages[0] != m {
			t.Fatalf("echo of %q: frame %q, %v", m, f, err)
		}
	}
	// Broken JSON ends the connection without a SockJS frame.
	if err := h.Send(`["a`, time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if f, err := h.Recv(time.Now().Add(ioTimeout)); !errors.Is(err, io.EOF) && !errors.Is(err, sockjsclient.ErrClosingFrame) {
		t.Fatalf("after broken JSON: %q, %v; want the end", f, err)
	}

	c := dialHixie(t, ts.URL+"/close/000/hixie2/websocket")
	hixieMustRecv(t, c, "o")
	hixieMustRecv(t, c, `c[3000,"Go away!"]`)
	if f, err := c.Recv(time.Now().Add(ioTimeout)); !errors.Is(err, sockjsclient.ErrClosingFrame) {
		t.Fatalf("after the close frame: %q, %v; want ErrClosingFrame", f, err)
	}

	q := dialHixie(t, ts.URL+"/echo/000/hixie3/websocket")
	hixieMustRecv(t, q, "o")
	if err := q.CloseHandshake(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if f, err := q.Recv(time.Now().Add(ioTimeout)); !errors.Is(err, io.EOF) && !errors.Is(err, sockjsclient.ErrClosingFrame) {
		t.Fatalf("after the client's closing frame: %q, %v; want the end", f, err)
	}
}

// A server that answers the handshake wrongly, or not with 101, is an
// error of Dial.
func TestHixie76BadHandshake(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		check        func(error) bool
	}{
		{"wrong answer", "HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n0123456789abcdef",
			func(err error) bool { return errors.Is(err, sockjsclient.ErrHandshake) }},
		{"not 101", "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNot found",
			func(err error) bool {
				var se *sockjsclient.StatusError
				return errors.As(err, &se) && se.StatusCode == 404
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					_, _ = io.WriteString(c, tc.answer)
				}
				_, _ = io.Copy(io.Discard, c) // until the client gives up
			}()
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			h, err := sockjsclient.DialHixie76(ctx, "ws://"+ln.Addr().String()+"/echo/000/x/websocket", nil)
			if err == nil {
				h.Close(sockjsclient.CloseDrop)
			}
			if !tc.check(err) {
				t.Fatalf("DialHixie76: %v", err)
			}
			<-done
		})
	}
}
