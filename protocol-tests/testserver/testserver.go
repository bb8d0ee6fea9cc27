// Package testserver serves the four SockJS services that the SockJS
// protocol test suite (github.com/sockjs/sockjs-protocol) and our Go port
// of it in protocol-tests expect under one root:
//
//	/echo                     echoes every message; raw websocket enabled
//	/close                    closes every session at once with 3000 "Go away!"
//	/disabled_websocket_echo  echo with the websocket transports turned off
//	/cookie_needed_echo       echo with the JSESSIONID cookie turned on
//
// Streaming responses are cut after 4096 bytes on every service, the limit
// the suite assumes for a test server.
package testserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sockjsd/sockjsd/sockjs"
)

// DefaultResponseLimit is the streaming response limit the protocol suite
// expects from a test server.
const DefaultResponseLimit = 4096

// CloseCode and CloseReason are what the /close service closes every
// session with.
const (
	CloseCode   = 3000
	CloseReason = "Go away!"
)

// Config tunes the test services. The zero Config is what the protocol
// suite expects.
type Config struct {
	// SockJSURL is the sockjs-client URL the iframe page loads. Empty means
	// the engine's default.
	SockJSURL string

	// Heartbeat overrides the heartbeat interval. Zero means the engine's
	// default (25 s).
	Heartbeat time.Duration

	// DisconnectDelay overrides how long a session without a receiving
	// connection lives. Zero means the engine's default (5 s).
	DisconnectDelay time.Duration

	// ResponseLimit overrides the streaming response limit. Zero means
	// DefaultResponseLimit (4096 bytes).
	ResponseLimit int

	// Logger receives the engine's logs. Nil means none.
	Logger *slog.Logger
}

// Server is an http.Handler serving the four test services.
type Server struct {
	router   chi.Router
	services map[string]*sockjs.Server
}

// Service names, in the order they are mounted.
var serviceNames = []string{"echo", "close", "disabled_websocket_echo", "cookie_needed_echo"}

// New builds the four services described in the package documentation.
func New(c Config) *Server {
	limit := c.ResponseLimit
	if limit == 0 {
		limit = DefaultResponseLimit
	}
	base := func() *sockjs.Options {
		return &sockjs.Options{
			Heartbeat:       c.Heartbeat,
			DisconnectDelay: c.DisconnectDelay,
			ResponseLimit:   limit,
			SockJSURL:       c.SockJSURL,
			Logger:          c.Logger,
		}
	}

	echoOpts := base()
	closeOpts := base()
	noWSOpts := base()
	noWSOpts.DisableWebsocket = true
	cookieOpts := base()
	cookieOpts.JSessionID = true

	s := &Server{router: chi.NewRouter(), services: make(map[string]*sockjs.Server)}
	s.mount("echo", echo, echoOpts)
	s.mount("close", closeAtOnce, closeOpts)
	s.mount("disabled_websocket_echo", echo, noWSOpts)
	s.mount("cookie_needed_echo", echo, cookieOpts)
	return s
}

func (s *Server) mount(name string, h sockjs.HandlerFunc, o *sockjs.Options) {
	prefix := "/" + name
	srv := sockjs.New(prefix, h, o)
	s.services[name] = srv
	s.router.Mount(prefix, srv)
}

// ServeHTTP routes a request to its service; other paths get 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.router.ServeHTTP(w, r)
}

// Service returns the sockjs server mounted under /name, or nil.
func (s *Server) Service(name string) *sockjs.Server {
	return s.services[name]
}

// Shutdown shuts the four services down concurrently and returns when all
// have finished or ctx is done. It does not stop the http.Server that
// serves them; call both, concurrently, for a graceful exit.
func (s *Server) Shutdown(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, name := range serviceNames {
		srv := s.services[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// echo sends every message back to its sender.
func echo(s *sockjs.Session) {
	ctx := s.Context()
	for {
		msg, err := s.Recv(ctx)
		if err != nil {
			return
		}
		if err := s.Send(msg); err != nil {
			return
		}
	}
}

// closeAtOnce ends every session as soon as it opens.
func closeAtOnce(s *sockjs.Session) {
	_ = s.Close(CloseCode, CloseReason)
}
