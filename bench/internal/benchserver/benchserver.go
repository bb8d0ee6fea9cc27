// Package benchserver is what the benchmark servers share: flags, a
// loopback listener, a goroutine count endpoint and a clean shutdown.
package benchserver

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// addr is every server's -addr.
var addr = flag.String("addr", "127.0.0.1:0", "listen address (loopback)")

// Main parses -addr, serves h (plus GET /debug/goroutines) on it, prints
// "listening on ADDR" once the listener is ready, and returns after
// SIGINT or SIGTERM.
//
// A server with flags of its own defines them, calls flag.Parse itself and
// then Main.
func Main(name string, h http.Handler) {
	if !flag.Parsed() {
		flag.Parse()
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("GET /debug/goroutines", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, strconv.Itoa(runtime.NumGoroutine()))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening on %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Fatalf("%s: %v", name, err)
		}
	}()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}
