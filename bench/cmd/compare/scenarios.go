package main

import (
	"fmt"
	"math"
	"time"
)

// benchResult is the part of sockjs-bench's -json output the comparison
// reads.
type benchResult struct {
	Seconds     float64 `json:"seconds"`
	Messages    int64   `json:"messages"`
	MsgsPerSec  float64 `json:"msgs_per_sec"`
	Connects    int64   `json:"connects"`
	ConnsPerSec float64 `json:"connects_per_sec"`
	Opened      int     `json:"opened"`
	Latency     *struct {
		P50 float64 `json:"p50_us"`
		P99 float64 `json:"p99_us"`
		Max float64 `json:"max_us"`
	} `json:"latency"`
	Server *struct {
		CPUPercent       float64 `json:"cpu_percent"`
		RSSPerSessionKiB float64 `json:"rss_per_session_kib"`
		Before           *struct {
			RSSKiB int64 `json:"rss_kib"`
		} `json:"before"`
		After *struct {
			RSSKiB int64 `json:"rss_kib"`
		} `json:"after"`
	} `json:"server"`
	ErrorCount int64 `json:"error_count"`
	Errors     []struct {
		Kind    string   `json:"kind"`
		Count   int64    `json:"count"`
		Samples []string `json:"samples"`
	} `json:"errors"`
	Valid bool `json:"valid"`
}

// scenario is one measurement made on several servers.
type scenario struct {
	Name    string
	Servers []string                  // which servers take part
	Kind    string                    // sockjs-bench scenario
	Service string                    // echo or broadcast
	Args    func(o *options) []string // sockjs-bench flags
	Metric  string                    // unit of the main figure
	Value   func(r *benchResult) float64
	Better  int  // +1: higher is better, -1: lower is better
	Once    bool // measured in the first round only (memory)
	Extra   bool // not in the default plan; run it with -only
}

// knownServers are the servers -servers may name; the default plan runs
// every one.
var knownServers = []string{"sockjsd", "bare", "igm", "node", "hub", "shipped"}

// base (with -base) is sockjsd as of an earlier revision: wherever sockjsd
// takes part.

// Who takes part in what: hub differs from sockjsd only in /broadcast.
var (
	allServers       = []string{"sockjsd", "base", "bare", "igm", "node", "shipped"}
	sockjsServers    = []string{"sockjsd", "base", "igm", "node", "shipped"}
	broadcastServers = []string{"sockjsd", "base", "bare", "igm", "node", "hub", "shipped"}
	topicServers     = []string{"sockjsd", "base", "hub", "shipped"}
	// Only cmd/sockjsd serves STOMP (at /stomp).
	stompServers = []string{"shipped"}
)

func msgsPerSec(r *benchResult) float64  { return r.MsgsPerSec }
func connsPerSec(r *benchResult) float64 { return r.ConnsPerSec }
func p99(r *benchResult) float64 {
	if r.Latency == nil {
		return math.NaN()
	}
	return r.Latency.P99
}
func rssPerSession(r *benchResult) float64 {
	if r.Server == nil {
		return math.NaN()
	}
	return r.Server.RSSPerSessionKiB
}

func timed(o *options) []string {
	return []string{"-duration", o.Duration.String(), "-warmup", o.Warmup.String()}
}

func scenarios() []*scenario {
	return []*scenario{
		{
			Name: "ws-echo", Kind: "echo", Service: "echo", Servers: allServers,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "websocket", "-sessions", "64", "-inflight", "32", "-size", "64")
			},
		},
		{
			Name: "ws-echo-1", Kind: "echo", Service: "echo", Servers: allServers,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "websocket", "-sessions", "64", "-inflight", "1", "-size", "64")
			},
		},
		{
			Name: "ws-latency", Kind: "echo", Service: "echo", Servers: allServers,
			Metric: "p99 µs", Value: p99, Better: -1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "websocket", "-sessions", "100", "-inflight", "1", "-size", "64",
					"-rate", fmt.Sprint(o.LatencyRate))
			},
		},
		{
			Name: "ws-broadcast", Kind: "broadcast", Service: "broadcast", Servers: broadcastServers,
			Metric: "deliveries/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "websocket", "-sessions", "1000", "-inflight", "16", "-size", "64")
			},
		},
		{
			Name: "ws-connect", Kind: "connect", Service: "echo", Servers: allServers,
			Metric: "sessions/s", Value: connsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "websocket", "-concurrency", "32", "-size", "64")
			},
		},
		{
			Name: "xhr-streaming-echo", Kind: "echo", Service: "echo", Servers: sockjsServers,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "xhr-streaming", "-sessions", "64", "-inflight", "32", "-size", "64")
			},
		},
		{
			Name: "xhr-polling-echo", Kind: "echo", Service: "echo", Servers: sockjsServers,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "xhr-polling", "-sessions", "64", "-inflight", "32", "-size", "64")
			},
		},
		{
			Name: "xhr-polling-echo-1", Kind: "echo", Service: "echo", Servers: sockjsServers, Extra: true,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-transport", "xhr-polling", "-sessions", "64", "-inflight", "1", "-size", "64")
			},
		},
		// STOMP over websocket on cmd/sockjsd's /stomp, each the load of
		// the plain scenario above it: echo through /app/echo (answered
		// on /user/queue/echo) and fan-out of SENDs to a /topic every
		// session subscribes to.
		{
			Name: "stomp-echo", Kind: "echo", Service: "stomp", Servers: stompServers,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-stomp", "-transport", "websocket", "-sessions", "64", "-inflight", "32", "-size", "64")
			},
		},
		{
			Name: "stomp-echo-1", Kind: "echo", Service: "stomp", Servers: stompServers,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-stomp", "-transport", "websocket", "-sessions", "64", "-inflight", "1", "-size", "64")
			},
		},
		{
			Name: "stomp-latency", Kind: "echo", Service: "stomp", Servers: stompServers,
			Metric: "p99 µs", Value: p99, Better: -1,
			Args: func(o *options) []string {
				return append(timed(o), "-stomp", "-transport", "websocket", "-sessions", "100", "-inflight", "1", "-size", "64",
					"-rate", fmt.Sprint(o.LatencyRate))
			},
		},
		{
			Name: "stomp-broadcast", Kind: "broadcast", Service: "stomp", Servers: stompServers,
			Metric: "deliveries/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-stomp", "-transport", "websocket", "-sessions", "1000", "-inflight", "16", "-size", "64")
			},
		},
		{
			Name: "stomp-xhr-streaming-echo", Kind: "echo", Service: "stomp", Servers: stompServers, Extra: true,
			Metric: "msg/s", Value: msgsPerSec, Better: +1,
			Args: func(o *options) []string {
				return append(timed(o), "-stomp", "-transport", "xhr-streaming", "-sessions", "64", "-inflight", "32", "-size", "64")
			},
		},
		{
			Name: "ws-idle", Kind: "idle", Service: "echo", Servers: allServers, Once: true,
			Metric: "KiB/session", Value: rssPerSession, Better: -1,
			Args: func(o *options) []string {
				return []string{"-duration", "2s", "-transport", "websocket", "-sessions", fmt.Sprint(o.IdleSessions)}
			},
		},
		{
			// Idle sessions each subscribed to the one topic of the
			// broadcast service (a map entry for sockjsd's own).
			Name: "ws-idle-topic", Kind: "idle", Service: "broadcast", Servers: topicServers, Once: true,
			Metric: "KiB/session", Value: rssPerSession, Better: -1,
			Args: func(o *options) []string {
				return []string{"-duration", "2s", "-transport", "websocket", "-verify=false", "-sessions", fmt.Sprint(o.IdleSessions)}
			},
		},
		{
			Name: "xhr-streaming-idle", Kind: "idle", Service: "echo", Servers: sockjsServers, Once: true,
			Metric: "KiB/session", Value: rssPerSession, Better: -1,
			Args: func(o *options) []string {
				return []string{"-duration", "2s", "-transport", "xhr-streaming", "-sessions", fmt.Sprint(o.IdleSessions)}
			},
		},
	}
}

// target is one of the acceptance ratios for our server.
type target struct {
	Desc            string
	Scenario        string
	Ours            string  // the server held to it; empty: sockjsd
	Against         string  // server compared with; empty: an absolute bound
	AgainstScenario string  // the scenario of the comparison; empty: Scenario
	Ratio           float64 // ours/against must be ≥ Ratio (higher-better) or ≤ (lower-better)
	Bound           float64 // absolute bound when Against is empty
	// Above, if not zero, replaces Ratio: ours may exceed against by at
	// most this much (lower-better figures).
	Above float64
}

var targets = []target{
	{Desc: "websocket echo ≥ 0.9× bare", Scenario: "ws-echo", Against: "bare", Ratio: 0.9},
	{Desc: "websocket echo, 1 in flight ≥ 0.9× bare", Scenario: "ws-echo-1", Against: "bare", Ratio: 0.9},
	{Desc: "broadcast fan-out ≥ 0.95× bare", Scenario: "ws-broadcast", Against: "bare", Ratio: 0.95},
	{Desc: "connect rate ≥ 0.95× bare", Scenario: "ws-connect", Against: "bare", Ratio: 0.95},
	{Desc: "cmd/sockjsd connect rate ≥ 0.95× bare", Scenario: "ws-connect", Ours: "shipped", Against: "bare", Ratio: 0.95},
	{Desc: "hub broadcast ≥ 0.9× sockjsd's own", Scenario: "ws-broadcast", Ours: "hub", Against: "sockjsd", Ratio: 0.9},
	{Desc: "STOMP /topic fan-out ≥ 0.8× hub broadcast", Scenario: "stomp-broadcast", Ours: "shipped", Against: "shipped",
		AgainstScenario: "ws-broadcast", Ratio: 0.8},
	{Desc: "idle in a topic ≤ plain idle + 1 KiB", Scenario: "ws-idle-topic", Ours: "hub", Against: "sockjsd", AgainstScenario: "ws-idle", Above: 1},
	{Desc: "xhr-streaming echo ≥ 2× sockjs-node", Scenario: "xhr-streaming-echo", Against: "node", Ratio: 2},
	{Desc: "xhr-polling echo ≥ 5× sockjs-node", Scenario: "xhr-polling-echo", Against: "node", Ratio: 5},
	{Desc: "p99 echo latency ≤ bare's", Scenario: "ws-latency", Against: "bare", Ratio: 1},
	{Desc: "idle websocket ≤ 16 KiB/session", Scenario: "ws-idle", Bound: 16},
	{Desc: "idle xhr-streaming ≤ 18 KiB/session", Scenario: "xhr-streaming-idle", Bound: 18},
}

// options are the comparison's flags.
type options struct {
	Rounds       int
	Duration     time.Duration
	Warmup       time.Duration
	LatencyRate  int
	IdleSessions int
	Sources      string
	Pin          bool
	Nice         int
	Base         string // git revision of the "base" server
	ShippedFlags string // more flags for "shipped"
}
