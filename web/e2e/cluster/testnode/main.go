// Command testnode serves the four services of the protocol test suite
// (protocol-tests/testserver) as one node of a cluster, so that the suite
// can run through a load balancer over several nodes (web/e2e/cluster/run.sh).
//
//	SOCKJSD_CLUSTER_SECRET=... testnode -addr 127.0.0.1:9001 -redis redis://127.0.0.1:6379
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/sockjsd/sockjsd/protocol-tests/testserver"
	"github.com/sockjsd/sockjsd/sockjs/cluster"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "host:port to serve on (also advertised to the other nodes)")
	redisURL := flag.String("redis", "", "Redis URL")
	natsURL := flag.String("nats", "", "NATS URL")
	flag.Parse()
	if err := run(*addr, *redisURL, *natsURL); err != nil {
		fmt.Fprintln(os.Stderr, "testnode:", err)
		os.Exit(1)
	}
}

func run(addr, redisURL, natsURL string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var engine cluster.Engine
	switch {
	case redisURL != "":
		opts, err := redis.ParseURL(redisURL)
		if err != nil {
			return err
		}
		c := redis.NewClient(opts)
		defer c.Close()
		engine = cluster.NewRedis(c, nil)
	case natsURL != "":
		nc, err := nats.Connect(natsURL)
		if err != nil {
			return err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		if engine, err = cluster.NewNATS(ctx, js, nil); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-redis or -nats is required")
	}
	node, err := cluster.New(cluster.Config{
		Engine: engine, URL: "http://" + addr, Secret: []byte(os.Getenv("SOCKJSD_CLUSTER_SECRET")), Logger: log,
	})
	if err != nil {
		return err
	}
	ts := testserver.New(testserver.Config{Logger: log})
	// Routed by the first path segment, with no path cleaning (which
	// http.ServeMux does with a redirect): the suite checks that "//" and
	// "/./" paths get the services' own 404.
	services := map[string]http.Handler{}
	for _, name := range []string{"echo", "close", "disabled_websocket_echo", "cookie_needed_echo"} {
		services[name] = node.Wrap(name, ts.Service(name))
	}
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if h := services[first]; h != nil {
			h.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
	srv := &http.Server{Addr: addr, Handler: router, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = node.Shutdown(sctx)
	return srv.Shutdown(sctx)
}
