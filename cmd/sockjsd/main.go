// Command sockjsd is a SockJS server with four services and a demo page:
//
//	/echo       sends every message back
//	/broadcast  relays every message to every open session
//	/chat       rooms, presence, history and private messages (the demo's chat)
//	/close      closes every session at once with 3000 "Go away!"
//	/           the demo page (chat, echo test, transport picker)
//
// and, on a separate admin address meant to stay private (-admin-addr,
// 127.0.0.1:9091 by default; empty turns it off):
//
//	/status        a live status page: sessions open by transport, message rates
//	/status.json   the same as JSON, refreshed every second
//	/metrics       Prometheus metrics (-metrics=false turns them off)
//	/debug/pprof/  Go profiles (only with -pprof)
//
// Run it with
//
//	go run ./cmd/sockjsd
//
// and open http://127.0.0.1:8081/ and http://127.0.0.1:9091/status. Every
// flag has an environment variable equivalent (SOCKJSD_ADDR for -addr, and
// so on); a flag given on the command line wins. SIGINT or SIGTERM close
// every session with a close frame and stop the server gracefully.
//
// For deployment (TLS with HTTP/2 through -tls-cert and -tls-key, reverse
// proxies and -trusted-proxies, -allowed-origins, -jsessionid and
// -max-sessions) see docs/deploy.md. Several sockjsd behind one load
// balancer, with no sticky sessions, share sessions and the broadcast
// service's hub through Redis (-redis) or NATS (-nats); see docs/cluster.md.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sockjsd/sockjsd/sockjs"
	"github.com/sockjsd/sockjsd/web"
)

func main() {
	cfg, err := parseConfig(os.Args[1:], os.LookupEnv, os.Stdout)
	if err != nil {
		if errors.Is(err, errHelp) {
			return
		}
		// One line per problem, each prefixed.
		msg := strings.ReplaceAll(err.Error(), "\n", "\nsockjsd: ")
		fmt.Fprintf(os.Stderr, "sockjsd: %s\nRun sockjsd -h for the flags.\n", msg)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "sockjsd:", err)
		os.Exit(1)
	}
}

// listening is where run serves: the main and the admin address (empty
// when the admin server is off).
type listening struct{ addr, admin string }

// run serves until ctx is done, then shuts down gracefully. Logs go to
// logOut. If ready is not nil it is called with the listening addresses
// once both listen.
func run(ctx context.Context, cfg config, logOut io.Writer, ready func(listening)) error {
	logger := cfg.logger(logOut)
	var admin *adminServer
	if cfg.adminAddr != "" {
		admin = newAdmin(cfg, logger)
	}

	// A broker makes this process one node of a cluster: every service is
	// wrapped by the node, and hubs share topics through the broker.
	cn, err := startCluster(ctx, cfg, logger)
	if err != nil {
		return err
	}
	svcs, err := clusterServices(ctx, services(), cn)
	if err != nil {
		_ = cn.shutdown(context.Background())
		return err
	}
	r := chi.NewRouter()
	var sockjsServers []*sockjs.Server
	for _, svc := range svcs {
		opts := serviceOptions(cfg, logger, svc.name)
		if admin != nil {
			opts.Metrics = admin.metricsFor(svc.name)
		}
		s := svc.newServer(opts)
		sockjsServers = append(sockjsServers, s)
		var h http.Handler = s
		if cn != nil {
			h = cn.node.Wrap(svc.name, s)
		}
		r.Mount(svc.prefix, h)
	}
	r.Mount("/", web.Handler())
	srv := &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          httpErrorLog(logger),
	}
	scheme := "http"
	if cfg.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return fmt.Errorf("%s and %s: %w", cfg.name("tls-cert"), cfg.name("tls-key"), err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		// HTTP/2 and HTTP/1.1, by ALPN. Go's HTTP/2 server offers
		// extended CONNECT (RFC 8441) only with GODEBUG=http2xconnect=1;
		// without it browsers open websockets on an HTTP/1.1 connection
		// of their own. The websocket transports serve both.
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetHTTP2(true)
		scheme = "https"
	}

	// Listen on both before serving either, so that a busy port stops
	// sockjsd before it answers anything.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		if cn != nil {
			_ = cn.shutdown(context.Background())
		}
		return listenError(cfg, "addr", err)
	}
	if srv.TLSConfig == nil {
		ln = plainListener{ln}
	}
	var adminLn net.Listener
	if admin != nil {
		if adminLn, err = net.Listen("tcp", cfg.adminAddr); err != nil {
			ln.Close()
			if cn != nil {
				_ = cn.shutdown(context.Background())
			}
			return fmt.Errorf("admin server: %w", listenError(cfg, "admin-addr", err))
		}
	}
	at := listening{addr: ln.Addr().String()}
	logger.Info("sockjsd listening", "url", scheme+"://"+at.addr+"/")

	serveErr := make(chan error, 2)
	if srv.TLSConfig != nil {
		go func() { serveErr <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}
	serving := 1
	if admin != nil {
		at.admin = adminLn.Addr().String()
		logger.Info("admin server listening", "status", "http://"+at.admin+"/status",
			"metrics", cfg.metrics, "pprof", cfg.pprof)
		// The sampler runs until the admin server is gone, so that the
		// status page shows the shutdown too.
		sampling, stopSampling := context.WithCancel(context.Background())
		adminDone := make(chan struct{})
		go func() {
			defer close(adminDone)
			admin.board.sampleUntil(sampling)
		}()
		defer func() {
			stopSampling()
			<-adminDone
		}()
		go func() { serveErr <- admin.srv.Serve(adminLn) }()
		serving++
	}
	if ready != nil {
		ready(at)
	}

	var errs []error
	select {
	case err := <-serveErr: // a listener failed: stop the rest
		errs = append(errs, err)
		serving--
		logger.Error("sockjsd stopping", "err", err)
	case <-ctx.Done():
		logger.Info("sockjsd shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	// SockJS first: close frames go out over connections still open, long
	// polls and websockets end; then the HTTP server drains the rest. The
	// admin server goes last, so that the end can be watched.
	// A cluster node shuts its Servers down itself, then releases what it
	// holds in the broker.
	if cn != nil {
		errs = append(errs, cn.shutdown(shutdownCtx))
	} else {
		for _, s := range sockjsServers {
			errs = append(errs, s.Shutdown(shutdownCtx))
		}
	}
	errs = append(errs, srv.Shutdown(shutdownCtx))
	if admin != nil {
		errs = append(errs, admin.srv.Shutdown(shutdownCtx))
	}
	for range serving {
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// serviceOptions are the options every SockJS service of sockjsd gets.
func serviceOptions(cfg config, logger *slog.Logger, name string) *sockjs.Options {
	return &sockjs.Options{
		Heartbeat:       cfg.heartbeat,
		DisconnectDelay: cfg.disconnectDelay,
		SockJSURL:       cfg.sockjsURL,
		TrustedProxies:  cfg.trustedProxies,
		AllowedOrigins:  cfg.allowedOrigins,
		JSessionID:      cfg.jsessionID,
		MaxSessions:     cfg.maxSessions,
		Logger:          logger.With("service", name),
	}
}

// listenError says which setting names the address that could not be
// listened on, and what to do about a busy one.
func listenError(cfg config, flag string, err error) error {
	addr := cfg.addr
	if flag == "admin-addr" {
		addr = cfg.adminAddr
	}
	hint := ""
	if errors.Is(err, syscall.EADDRINUSE) {
		hint = "; another process (another sockjsd?) listens there: choose another address with " + cfg.name(flag)
		if flag == "admin-addr" {
			hint += `, or turn the admin server off with -admin-addr ""`
		}
	}
	return fmt.Errorf("cannot listen on %s %s: %w%s", cfg.name(flag), addr, err, hint)
}
