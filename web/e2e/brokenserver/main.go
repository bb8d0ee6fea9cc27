// Command brokenserver is a deliberately broken SockJS server for checking
// that the browser end-to-end tests can fail. It serves what
// cmd/sockjs-testserver and cmd/sockjsd serve together (/echo with a
// 4096-byte response limit, /close, /broadcast, /disabled_websocket_echo,
// /cookie_needed_echo and the demo page at /), built on the real engine,
// with the faults named by -break (comma-separated):
//
//	drop          /echo loses every 50th message
//	reorder       /echo swaps every two messages
//	mangle        /echo turns U+2028 and U+2029 into "\n" and characters
//	              beyond the BMP into U+FFFD
//	truncate      /echo cuts messages to 64 KiB
//	early-close   /echo closes a session with 3000 "Too early" after its
//	              first message
//	close-code    /close closes with 3001 "Go away"
//	no-broadcast  /broadcast sends a message to everyone but its sender
//	lossy-stream  streaming responses (xhr_streaming, eventsource,
//	              htmlfile) silently lose one write once they pass 2000
//	              bytes: frames the engine thinks it delivered never arrive
//	no-heartbeat  heartbeats every hour, not every -heartbeat
//	proxy-buffering  streaming responses lack "X-Accel-Buffering: no",
//	              so nginx buffers (and gzips) them (run.sh puts nginx in
//	              front of a brokenserver too)
//	block=NAME    404 for every request whose path ends in /NAME
//	              (xhr_streaming, websocket, iframe.html, jsonp, ...)
//	none          no fault: the control run, which must pass
//
// It is test tooling: web/e2e/run.sh builds and starts it when E2E_BROKEN is
// set. Nothing else imports it.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/web"
)

type faults struct {
	set   map[string]bool
	block []string
}

func parseFaults(s string) (faults, error) {
	f := faults{set: map[string]bool{}}
	known := map[string]bool{"drop": true, "reorder": true, "mangle": true, "truncate": true,
		"early-close": true, "close-code": true, "no-broadcast": true, "lossy-stream": true, "no-heartbeat": true,
		"proxy-buffering": true}
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		switch {
		case m == "" || m == "none":
		case strings.HasPrefix(m, "block="):
			f.block = append(f.block, "/"+strings.TrimPrefix(m, "block="))
		case known[m]:
			f.set[m] = true
		default:
			return f, fmt.Errorf("unknown fault %q", m)
		}
	}
	return f, nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "address to listen on")
	breaks := flag.String("break", "", "faults to inject, comma-separated (see the package doc)")
	heartbeat := flag.Duration("heartbeat", 0, "heartbeat interval (0: the engine's default)")
	flag.Parse()
	f, err := parseFaults(*breaks)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brokenserver:", err)
		os.Exit(2)
	}
	hb := *heartbeat
	if f.set["no-heartbeat"] {
		hb = time.Hour
	}
	opts := func(o sockjs.Options) *sockjs.Options {
		o.Heartbeat = hb
		return &o
	}

	mux := http.NewServeMux()
	mount := func(prefix string, h sockjs.HandlerFunc, o *sockjs.Options) {
		mux.Handle(prefix+"/", sockjs.New(prefix, h, o))
	}
	mount("/echo", f.echo, opts(sockjs.Options{ResponseLimit: 4096}))
	mount("/disabled_websocket_echo", f.echo, opts(sockjs.Options{ResponseLimit: 4096, DisableWebsocket: true}))
	mount("/cookie_needed_echo", f.echo, opts(sockjs.Options{ResponseLimit: 4096, JSessionID: true}))
	mount("/close", f.close, opts(sockjs.Options{}))
	mount("/broadcast", newHub(f.set["no-broadcast"]).serve, opts(sockjs.Options{}))
	mux.Handle("/", web.Handler())

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "brokenserver:", err)
		os.Exit(1)
	}
	log.Printf("brokenserver: http://%s with faults %q", ln.Addr(), *breaks)
	srv := &http.Server{Handler: f.middleware(mux), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

func (f faults) echo(s *sockjs.Session) {
	var held *string
	for n := 1; ; n++ {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		if f.set["drop"] && n%50 == 0 {
			continue
		}
		if f.set["mangle"] {
			msg = strings.Map(func(r rune) rune {
				switch {
				case r == '\u2028' || r == '\u2029':
					return '\n'
				case r > 0xFFFF:
					return utf8.RuneError
				}
				return r
			}, msg)
		}
		if f.set["truncate"] && len(msg) > 64<<10 {
			msg = msg[:64<<10]
		}
		if f.set["reorder"] {
			if held == nil {
				m := msg
				held = &m
				continue
			}
			_ = s.Send(msg)
			msg, held = *held, nil
		}
		if s.Send(msg) != nil {
			return
		}
		if f.set["early-close"] {
			_ = s.Close(3000, "Too early")
			return
		}
	}
}

func (f faults) close(s *sockjs.Session) {
	if f.set["close-code"] {
		_ = s.Close(3001, "Go away")
		return
	}
	_ = s.Close(3000, "Go away!")
}

type hub struct {
	notSender bool
	mu        sync.Mutex
	sessions  map[*sockjs.Session]bool
}

func newHub(notSender bool) *hub {
	return &hub{notSender: notSender, sessions: map[*sockjs.Session]bool{}}
}

func (h *hub) serve(s *sockjs.Session) {
	h.mu.Lock()
	h.sessions[s] = true
	h.mu.Unlock()
	defer func() { h.mu.Lock(); delete(h.sessions, s); h.mu.Unlock() }()
	for {
		msg, err := s.Recv(context.Background())
		if err != nil {
			return
		}
		h.mu.Lock()
		var to []*sockjs.Session
		for t := range h.sessions {
			if !(h.notSender && t == s) {
				to = append(to, t)
			}
		}
		h.mu.Unlock()
		for _, t := range to {
			_ = t.Send(msg)
		}
	}
}

func (f faults) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, b := range f.block {
			if strings.HasSuffix(r.URL.Path, b) {
				http.NotFound(w, r)
				return
			}
		}
		streaming := false
		for _, t := range []string{"/xhr_streaming", "/eventsource", "/htmlfile"} {
			streaming = streaming || strings.HasSuffix(r.URL.Path, t)
		}
		if streaming && f.set["lossy-stream"] {
			w = &lossyWriter{ResponseWriter: w, after: 2000}
		}
		if streaming && f.set["proxy-buffering"] {
			w = &noAccelWriter{w: w}
		}
		next.ServeHTTP(w, r)
	})
}

// lossyWriter drops the first write that starts after `after` bytes, and
// says it wrote it.
type lossyWriter struct {
	http.ResponseWriter
	after   int
	written int
	dropped bool
}

func (l *lossyWriter) Write(p []byte) (int, error) {
	if !l.dropped && l.written > l.after {
		l.dropped = true
		return len(p), nil
	}
	n, err := l.ResponseWriter.Write(p)
	l.written += n
	return n, err
}

func (l *lossyWriter) Unwrap() http.ResponseWriter { return l.ResponseWriter }

func (l *lossyWriter) Flush() {
	if fl, ok := l.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// noAccelWriter removes X-Accel-Buffering from a response's header. It
// offers neither Hijack nor Unwrap, so the engine serves the stream through
// net/http's ResponseWriter, whose header passes here.
type noAccelWriter struct{ w http.ResponseWriter }

func (n *noAccelWriter) Header() http.Header { return n.w.Header() }

func (n *noAccelWriter) WriteHeader(code int) {
	n.w.Header().Del("X-Accel-Buffering")
	n.w.WriteHeader(code)
}

func (n *noAccelWriter) Write(p []byte) (int, error) {
	n.w.Header().Del("X-Accel-Buffering") // for a Write without WriteHeader
	return n.w.Write(p)
}

func (n *noAccelWriter) Flush() {
	if fl, ok := n.w.(http.Flusher); ok {
		fl.Flush()
	}
}
