package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockjsd/sockjsd/sockjs"
	sockjsprom "github.com/sockjsd/sockjsd/sockjs/prometheus"
)

// The admin server is for operators: the status page, metrics and
// profiles. It listens on its own address, loopback by default, so none
// of this is reachable from where the public reaches the services, and a
// flood of public traffic does not stand between an operator and the
// page that shows it.
type adminServer struct {
	srv   *http.Server
	reg   *prometheus.Registry // nil with -metrics=false
	board *statusBoard
}

//go:embed status
var statusFiles embed.FS

func newAdmin(cfg config, logger *slog.Logger) *adminServer {
	logger = logger.With("server", "admin")
	a := &adminServer{board: newStatusBoard(time.Now(), cfg.metrics, cfg.pprof)}
	mux := http.NewServeMux()
	if cfg.metrics {
		a.reg = prometheus.NewRegistry()
		a.reg.MustRegister(
			collectors.NewGoCollector(),
			collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			collectors.NewBuildInfoCollector(),
		)
		h := promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{
			ErrorLog: promLog{logger},
			Registry: a.reg, // counts its own errors
		})
		mux.Handle("GET /metrics", promhttp.InstrumentMetricHandler(a.reg, h))
	}
	if cfg.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index) // and every named profile under it
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	toStatus := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status", http.StatusFound)
	}
	mux.HandleFunc("GET /{$}", toStatus)
	mux.HandleFunc("GET /status/{$}", toStatus)
	page, err := statusFiles.ReadFile("status/index.html")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		_, _ = w.Write(page)
	})
	mux.Handle("GET /status.json", a.board)
	assets, _ := fs.Sub(statusFiles, "status")
	mux.Handle("GET /status/", http.StripPrefix("/status/", noCache(http.FileServerFS(assets))))
	a.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: /debug/pprof/profile and trace take their time.
		ErrorLog: httpErrorLog(logger),
	}
	return a
}

// metricsFor returns the metrics of one SockJS service: registered with
// the label service="<name>" when metrics are on, and shown on the status
// page. Call it before serving.
func (a *adminServer) metricsFor(name string) sockjs.Metrics {
	var reg prometheus.Registerer
	if a.reg != nil {
		reg = prometheus.WrapRegistererWith(prometheus.Labels{"service": name}, a.reg)
	}
	m := sockjsprom.New(reg, "")
	a.board.add(name, m)
	return m
}

func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// promLog logs promhttp's errors: a failed gather is an error; a failed
// write, most often a scraper that went away, is not.
type promLog struct{ l *slog.Logger }

func (p promLog) Println(v ...any) {
	msg := fmt.Sprint(v...)
	level := slog.LevelError
	if clientGone(msg) {
		level = slog.LevelDebug
	}
	p.l.Log(context.Background(), level, "metrics: "+msg)
}
