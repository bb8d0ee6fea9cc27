package prometheus_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockjsd/sockjsd/sockjs"
	sockjsprom "github.com/sockjsd/sockjsd/sockjs/prometheus"
)

// An echo service with its metrics at /metrics. A client opens a session
// over xhr polling; a scrape then shows it.
func Example() {
	reg := prometheus.NewRegistry()
	metrics := sockjsprom.New(reg, "chat")

	echo := sockjs.New("/echo", func(s *sockjs.Session) {
		for {
			msg, err := s.Recv(context.Background())
			if err != nil || s.Send(msg) != nil {
				return
			}
		}
	}, &sockjs.Options{Metrics: metrics})
	mux := http.NewServeMux()
	mux.Handle("/echo/", echo)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ts := httptest.NewServer(mux)
	defer ts.Close()
	defer echo.Shutdown(context.Background())

	// A client opens a session: its first poll answers "o".
	resp, err := http.Post(ts.URL+"/echo/000/abc/xhr", "text/plain", nil)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()

	resp, err = http.Get(ts.URL + "/metrics")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "chat_sockjs_sessions_") {
			fmt.Println(lines.Text())
		}
	}
	fmt.Println("open now:", metrics.Snapshot().Total().Open)
	// Output:
	// chat_sockjs_sessions_open{transport="xhr"} 1
	// chat_sockjs_sessions_opened_total{transport="xhr"} 1
	// open now: 1
}
