// Command sockjs-testserver serves the four services the SockJS protocol
// test suite expects (echo, close, disabled_websocket_echo,
// cookie_needed_echo), so that the official Python suite or our Go suite
// can be run against a real listening server:
//
//	go run ./cmd/sockjs-testserver -addr 127.0.0.1:8081
//	SOCKJS_URL=http://127.0.0.1:8081 go test ./protocol-tests/
//
// SIGINT or SIGTERM close every session with a close frame and stop the
// HTTP server gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sockjsd/sockjsd/protocol-tests/testserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sockjs-testserver:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	sockjsURL := flag.String("sockjs-url", "", "sockjs-client URL for the iframe page (empty: the engine's default)")
	heartbeat := flag.Duration("heartbeat", 0, "heartbeat interval (0: the engine's default, 25s)")
	disconnect := flag.Duration("disconnect-delay", 0, "session disconnect delay (0: the engine's default, 5s)")
	grace := flag.Duration("shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	verbose := flag.Bool("v", false, "log the engine's debug messages")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	services := testserver.New(testserver.Config{
		SockJSURL:       *sockjsURL,
		Heartbeat:       *heartbeat,
		DisconnectDelay: *disconnect,
		Logger:          logger,
	})
	httpSrv := &http.Server{
		Handler:           services,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	logger.Info("serving SockJS test services", "url", "http://"+ln.Addr().String(),
		"services", "echo close disabled_websocket_echo cookie_needed_echo")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	stop() // a second signal kills the process the default way
	logger.Info("shutting down")

	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()

	// The sockjs servers end long polls and streams with a close frame;
	// http.Server.Shutdown waits for those responses to finish, so both
	// run at once.
	sockjsErr := make(chan error, 1)
	go func() { sockjsErr <- services.Shutdown(sctx) }()
	httpErr := httpSrv.Shutdown(sctx)
	err = errors.Join(<-sockjsErr, httpErr)
	if e := <-serveErr; e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}
