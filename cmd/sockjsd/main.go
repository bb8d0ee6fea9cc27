// Command sockjsd is a SockJS server with three services and a demo page:
//
//	/echo       sends every message back
//	/broadcast  relays every message to every open session
//	/close      closes every session at once with 3000 "Go away!"
//	/           the demo page (chat, echo test, transport picker)
//
// Run it with
//
//	go run ./cmd/sockjsd
//
// and open http://127.0.0.1:8081/. Every flag has an environment variable
// equivalent (SOCKJSD_ADDR for -addr, and so on); a flag given on the
// command line wins. SIGINT or SIGTERM close every session with a close
// frame and stop the server gracefully.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/web"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		if errors.Is(err, errHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "sockjsd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sockjsd:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. If ready is
// not nil it receives the listening address.
func run(ctx context.Context, cfg config, ready chan<- string) error {
	logger := cfg.logger(os.Stderr)
	opts := func() *sockjs.Options {
		return &sockjs.Options{
			Heartbeat:       cfg.heartbeat,
			DisconnectDelay: cfg.disconnectDelay,
			SockJSURL:       cfg.sockjsURL,
			Logger:          logger,
		}
	}
	services := map[string]*sockjs.Server{
		"/echo":      sockjs.New("/echo", echo, opts()),
		"/broadcast": sockjs.New("/broadcast", newHub().serve, opts()),
		"/close":     sockjs.New("/close", closeAtOnce, opts()),
	}
	r := chi.NewRouter()
	for prefix, srv := range services {
		r.Mount(prefix, srv)
	}
	r.Mount("/", web.Handler())

	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	logger.Info("sockjsd listening", "url", "http://"+ln.Addr().String()+"/")
	if ready != nil {
		ready <- ln.Addr().String()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	logger.Info("sockjsd shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	// SockJS first: close frames go out over connections still open, long
	// polls and websockets end; then the HTTP server drains the rest.
	var errs []error
	for _, s := range services {
		errs = append(errs, s.Shutdown(shutdownCtx))
	}
	errs = append(errs, srv.Shutdown(shutdownCtx))
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
