package sockjs_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sockjsd/sockjsd/sockjs"
)

// poll plays a SockJS client on the xhr-polling transport: it POSTs to a
// session URL and prints the answer.
func poll(url, body string) {
	resp, err := http.Post(url, "text/plain", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %q\n", resp.StatusCode, b)
}

// An echo service mounted on a chi router.
func Example() {
	echo := sockjs.New("/echo", func(s *sockjs.Session) {
		for {
			msg, err := s.Recv(context.Background())
			if err != nil {
				return
			}
			_ = s.Send(msg)
		}
	}, nil)

	r := chi.NewRouter()
	r.Mount("/echo", echo)
	ts := httptest.NewServer(r)
	defer ts.Close()

	session := ts.URL + "/echo/000/abcdefgh"
	poll(session+"/xhr", "")               // opens the session
	poll(session+"/xhr_send", `["hello"]`) // sends a message
	poll(session+"/xhr", "")               // receives the echo
	// Output:
	// 200 "o\n"
	// 204 ""
	// 200 "a[\"hello\"]\n"
}

// An echo service on the standard library's ServeMux.
func Example_serveMux() {
	echo := sockjs.New("/echo", func(s *sockjs.Session) {
		for {
			msg, err := s.Recv(s.Context())
			if err != nil {
				return
			}
			_ = s.Send(strings.ToUpper(msg))
		}
	}, nil)
	mux := http.NewServeMux()
	mux.Handle("/echo", echo)
	mux.Handle("/echo/", echo)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/echo") // the greeting
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %q\n", resp.StatusCode, b)
	}
	session := ts.URL + "/echo/000/abcdefgh"
	poll(session+"/xhr", "")
	poll(session+"/xhr_send", `["shout"]`)
	poll(session+"/xhr", "")
	// Output:
	// 200 "Welcome to SockJS!\n"
	// 200 "o\n"
	// 204 ""
	// 200 "a[\"SHOUT\"]\n"
}

// hub relays every message to every session. Send never blocks, so the
// lock is held only to copy the set of sessions.
type hub struct {
	mu       sync.Mutex // guards sessions
	sessions map[*sockjs.Session]bool
}

func (h *hub) serve(s *sockjs.Session) {
	h.mu.Lock()
	h.sessions[s] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s)
		h.mu.Unlock()
	}()
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		h.mu.Lock()
		all := make([]*sockjs.Session, 0, len(h.sessions))
		for t := range h.sessions {
			all = append(all, t)
		}
		h.mu.Unlock()
		for _, t := range all {
			_ = t.Send(msg) // a slow client only loses its own session
		}
	}
}

// A broadcast hub: what one session sends, every session receives.
func Example_broadcast() {
	h := &hub{sessions: map[*sockjs.Session]bool{}}
	ts := httptest.NewServer(sockjs.New("/chat", h.serve, nil))
	defer ts.Close()

	ann, bob := ts.URL+"/chat/000/ann00000", ts.URL+"/chat/000/bob00000"
	poll(ann+"/xhr", "")
	poll(bob+"/xhr", "")
	time.Sleep(10 * time.Millisecond) // both handlers have joined the hub
	poll(ann+"/xhr_send", `["hi all"]`)
	poll(ann+"/xhr", "")
	poll(bob+"/xhr", "")
	// Output:
	// 200 "o\n"
	// 200 "o\n"
	// 204 ""
	// 200 "a[\"hi all\"]\n"
	// 200 "a[\"hi all\"]\n"
}

// Authentication from the request that opened the session: its cookies
// and headers stay available for the session's whole life.
func Example_auth() {
	srv := sockjs.New("/private", func(s *sockjs.Session) {
		c, err := s.Request().Cookie("token")
		if err != nil || c.Value != "secret" {
			_ = s.Close(4001, "Not authorized")
			return
		}
		_ = s.Send("welcome")
		<-s.Context().Done()
	}, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	session := ts.URL + "/private/000/abcdefgh"
	poll(session+"/xhr", "")
	time.Sleep(10 * time.Millisecond) // the handler has run
	poll(session+"/xhr", "")
	// Output:
	// 200 "o\n"
	// 200 "c[4001,\"Not authorized\"]\n"
}

// A graceful shutdown: every session gets a close frame, then the HTTP
// server drains.
func Example_shutdown() {
	srv := sockjs.New("/echo", func(s *sockjs.Session) { <-s.Context().Done() }, nil)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	session := ts.URL + "/echo/000/abcdefgh"
	poll(session+"/xhr", "")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fmt.Println(srv.Shutdown(ctx))
	poll(session+"/xhr", "") // the session is gone; no new ones open
	// Output:
	// 200 "o\n"
	// <nil>
	// 503 "No new sessions accepted."
}
