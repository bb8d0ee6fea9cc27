// Command sockjs-bench loads a SockJS 0.3 server on this machine and
// reports throughput, latency and every protocol error.
//
// Usage:
//
//	sockjs-bench <scenario> -url http://127.0.0.1:8081/echo [flags]
//
// Scenarios:
//
//	echo       S sessions, each with W messages of P bytes in flight
//	connect    open sessions as fast as possible (one echo each), close them
//	broadcast  S sessions on a broadcast service; one publishes, all receive
//	idle       open N sessions and hold them; report the server's RSS per session
//	soak       open, use and drop sessions for a while; compare the server's
//	           memory, descriptors and goroutines before and after
//	burst      on a broadcast service, one session that never reads, one that
//	           sends N messages as fast as it can, and readers that must get
//	           every one in order
//	spike      open N sessions on each of several transports, abandon them,
//	           and follow the server's RSS each second as it gives memory back
//
// With -stomp, echo, broadcast and connect speak STOMP over each session:
// CONNECT, one SUBSCRIBE, every message sent a SEND and every message
// received the body of a MESSAGE, each frame checked.
//
// It speaks the SockJS wire protocol itself, with internal/sockjsclient, over
// every transport sockjs-client uses without an iframe (websocket,
// xhr-streaming, eventsource, htmlfile, xhr-polling, jsonp-polling).
// Targets must be loopback addresses. A run
// with any protocol error is invalid: the tool prints every error and
// exits with status 1. Status 2 means bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// scenarios maps a scenario name to its runner.
var scenarios = map[string]func(context.Context, *runner) *Result{
	"echo":      runEcho,
	"connect":   runConnect,
	"broadcast": runBroadcast,
	"idle":      runIdle,
	"soak":      runSoak,
	"burst":     runBurst,
	"spike":     runSpike,
}

const usageText = `usage: sockjs-bench <scenario> -url http://127.0.0.1:PORT/PREFIX [flags]

scenarios:
  echo       S sessions, each keeping W messages of P bytes in flight
  connect    open sessions as fast as possible (one echo each), then close them
  broadcast  S sessions on a broadcast service: one publishes, every session receives
  idle       open N sessions and hold them; RSS per session of the server (-pid)
  soak       open, use and drop sessions for a while; the server's memory,
             descriptors and goroutines before and after (-pid)
  burst      on a broadcast service: one websocket session that never reads,
             one sender of -messages messages as fast as it can, -readers
             readers; every reader must get every message in order
  spike      open -sessions sessions on each -transport, abandon them at once;
             the server's RSS (-pid) each second after, and live sessions' latency

With -stomp, echo, broadcast and connect speak STOMP over every session
(CONNECT, SUBSCRIBE, SEND, MESSAGE), e.g. against /stomp of cmd/sockjsd:
  echo -stomp        SEND /app/echo, replies on /user/queue/echo
  broadcast -stomp   SEND to /topic/bench, every session subscribed to it

Run 'sockjs-bench <scenario> -h' for its flags. Only loopback targets are allowed.
Exit status: 0 valid run, 1 the run had errors, 2 bad usage.
`

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usageText)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	name := args[0]
	scenario, ok := scenarios[name]
	if !ok {
		fmt.Fprintf(stderr, "sockjs-bench: unknown scenario %q\n\n%s", name, usageText)
		return 2
	}
	cfg, err := parseFlags(name, args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sockjs-bench %s: %v\n", name, err)
		return 2
	}
	r, err := newRunner(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "sockjs-bench %s: %v\n", name, err)
		return 2
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "sockjs-bench %s: %v\n", name, err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "sockjs-bench %s: %v\n", name, err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	res := scenario(ctx, r)
	res.finish(r)
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
	} else {
		res.WriteText(stdout)
	}
	if !res.Valid {
		return 1
	}
	return 0
}

// splitList splits a comma separated flag value.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
