package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"syscall"
	"time"
)

// Config is everything a run is told by its flags.
type Config struct {
	Scenario      string
	URL           string
	Targets       []Target // one per -url element
	Spread        string   // with several targets: "session" or "request"
	Transports    []string // one, except for soak
	Sessions      int
	InFlight      int
	Size          int
	Rate          float64 // messages (echo) or publishes (broadcast) per second in total; 0: as fast as possible
	Duration      time.Duration
	Warmup        time.Duration
	Count         int64 // 0: bounded by duration only
	Timeout       time.Duration
	Concurrency   int
	Sources       []netip.Addr
	PID           int
	GoroutinesURL string
	Settle        time.Duration
	Verify        bool // idle: echo at the end; spike: read the spike's sessions
	Messages      int  // soak: echoes per session; burst: messages sent
	Readers       int  // burst: healthy reading sessions
	RcvBuf        int  // burst: the stalled session's receive buffer
	Batch         int  // burst: messages per Send
	Live          int  // spike: live websocket sessions echoing throughout
	BufSize       int
	Stomp         *StompConfig // -stomp: sessions speak STOMP (echo, broadcast, connect); nil otherwise
	JSON          bool
	Quiet         bool
	CPUProfile    string
}

// maxDuration bounds every run, whatever the flags say.
const maxDuration = 24 * time.Hour

func parseFlags(scenario string, args []string, stderr io.Writer) (*Config, error) {
	c := &Config{Scenario: scenario}
	fs := flag.NewFlagSet("sockjs-bench "+scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var transport, sources string
	var stompOn bool
	var stompVersions, stompSend, stompSubscribe string
	defSessions, defDuration, defConcurrency := 64, 10*time.Second, 64
	switch scenario {
	case "idle":
		defSessions, defDuration, defConcurrency = 3000, 10*time.Second, 128
	case "broadcast":
		defSessions = 1000
	case "connect":
		defConcurrency = 32
	case "soak":
		defDuration, defConcurrency = 30*time.Second, 32
	case "burst":
		defDuration = 2 * time.Minute
	case "spike":
		defSessions, defDuration, defConcurrency = 5000, 90*time.Second, 128
	}
	fs.StringVar(&c.URL, "url", "", "base URL of the SockJS service, e.g. http://127.0.0.1:8081/echo (loopback only); several, comma separated, for the nodes of a cluster")
	fs.StringVar(&c.Spread, "spread", "session", "with several -url: 'session' puts each session on the next node; 'request' sends each HTTP request of every session to the next node (a cluster that shares sessions)")
	switch scenario {
	case "soak":
		fs.StringVar(&transport, "transport", "websocket,xhr-streaming,xhr-polling", "comma separated transports, used in turn: "+transportNames())
	case "spike":
		fs.StringVar(&transport, "transport", "xhr-polling,websocket", "comma separated transports, -sessions of each: "+transportNames())
	default:
		fs.StringVar(&transport, "transport", "websocket", "transport: "+transportNames())
	}
	fs.DurationVar(&c.Duration, "duration", defDuration, "how long to measure (hold, for idle; run, for soak; the longest the burst may take); every run is bounded by it")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Second, "longest wait for any one answer (open, echo, send); later is a timeout error")
	fs.StringVar(&sources, "source", "", "loopback source addresses to spread connections over, e.g. 127.0.0.1-127.0.0.8 (default: the kernel's choice)")
	fs.IntVar(&c.BufSize, "bufsize", 4096, "read buffer per connection in bytes")
	fs.BoolVar(&c.JSON, "json", false, "print the result as JSON")
	fs.BoolVar(&c.Quiet, "q", false, "no progress lines on stderr")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file")
	fs.IntVar(&c.PID, "pid", 0, "server process id: report its CPU, RSS, descriptors and threads from /proc")
	switch scenario {
	case "burst":
		fs.IntVar(&c.Size, "size", 1024, "message payload in bytes (at least 8)")
		fs.IntVar(&c.Messages, "messages", 200_000, "messages the sender sends")
		fs.IntVar(&c.Readers, "readers", 3, "sessions that read as fast as they can (the sender reads too)")
		fs.IntVar(&c.RcvBuf, "rcvbuf", 4096, "receive buffer of the session that never reads, in bytes (0: the kernel's)")
		fs.IntVar(&c.Batch, "batch", 32, "messages per Send of the sender")
		fs.IntVar(&c.Concurrency, "concurrency", defConcurrency, "sessions opened at once while setting up")
	case "echo", "broadcast", "connect", "soak":
		fs.IntVar(&c.Size, "size", 64, "message payload in bytes (at least 8)")
		fs.Int64Var(&c.Count, "count", 0, "stop after this many measured messages (connect, soak: sessions); 0 means duration only")
	}
	switch scenario {
	case "echo", "broadcast":
		fs.IntVar(&c.Sessions, "sessions", defSessions, "sessions")
		fs.IntVar(&c.InFlight, "inflight", 1, "messages in flight per session (broadcast: publishes in flight)")
		fs.Float64Var(&c.Rate, "rate", 0, "total messages (broadcast: publishes) per second; 0 means as fast as the server answers")
		fs.DurationVar(&c.Warmup, "warmup", time.Second, "load before measuring starts")
		fs.IntVar(&c.Concurrency, "concurrency", defConcurrency, "sessions opened at once while setting up")
	case "connect", "soak":
		fs.IntVar(&c.Concurrency, "concurrency", defConcurrency, "sessions open at once")
		if scenario == "connect" {
			fs.DurationVar(&c.Warmup, "warmup", time.Second, "load before measuring starts")
		}
	case "idle":
		fs.IntVar(&c.Sessions, "sessions", defSessions, "sessions to open and hold")
		fs.IntVar(&c.Concurrency, "concurrency", defConcurrency, "sessions opened at once")
		fs.DurationVar(&c.Settle, "settle", 2*time.Second, "wait after the last session opened before reading the server's RSS")
		fs.BoolVar(&c.Verify, "verify", true, "at the end, echo one message on every session (needs an echo service)")
		c.BufSize = 1024
	case "spike":
		fs.IntVar(&c.Sessions, "sessions", defSessions, "sessions to open on each transport, then abandon")
		fs.IntVar(&c.Concurrency, "concurrency", defConcurrency, "sessions opened at once")
		fs.StringVar(&c.GoroutinesURL, "goroutines-url", "", "optional loopback URL answering the server's goroutine count (as for soak)")
		fs.BoolVar(&c.Verify, "read", true, "read the spike's sessions while they are open (an HTTP session then always has a poll or stream waiting); false: open them and leave them alone")
		fs.IntVar(&c.Live, "live", 4, "websocket sessions that echo a message every 50 ms throughout (their latency shows any pause of the server)")
		fs.IntVar(&c.Size, "size", 64, "payload of the live sessions' messages in bytes (at least 8)")
		fs.DurationVar(&c.Settle, "settle", 2*time.Second, "wait after the last session opened before reading the peak")
		c.BufSize = 1024
	}
	if scenario == "soak" {
		fs.IntVar(&c.Messages, "messages", 4, "echoes per session before it is dropped")
		fs.StringVar(&c.GoroutinesURL, "goroutines-url", "", "optional loopback URL answering the server's goroutine count (a number, {\"goroutines\":N} or a pprof goroutine?debug=1 page)")
		fs.DurationVar(&c.Settle, "settle", 12*time.Second, "wait after the soak before the 'after' reading (longer than the server's disconnect delay)")
	}
	switch scenario {
	case "echo", "broadcast", "connect":
		send, subscribe := "/app/echo", "/user/queue/echo"
		subHelp := "with -stomp: destination each session subscribes to"
		if scenario == "broadcast" {
			send, subscribe = "/topic/bench", ""
			subHelp += " (default: -stomp-send)"
		}
		fs.BoolVar(&stompOn, "stomp", false, "speak STOMP over each session: CONNECT, SUBSCRIBE to -stomp-subscribe, every message a SEND to -stomp-send, every reply a MESSAGE (-url is the STOMP endpoint, e.g. /stomp)")
		fs.StringVar(&stompSend, "stomp-send", send, "with -stomp: destination of the SENDs")
		fs.StringVar(&stompSubscribe, "stomp-subscribe", subscribe, subHelp)
		fs.StringVar(&stompVersions, "stomp-version", "1.2", "with -stomp: versions offered in CONNECT's accept-version, comma separated (1.0, 1.1, 1.2)")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.URL == "" {
		return nil, fmt.Errorf("-url is required")
	}
	var err error
	for _, u := range splitList(c.URL) {
		t, err := ParseTarget(u)
		if err != nil {
			return nil, err
		}
		c.Targets = append(c.Targets, t)
	}
	if len(c.Targets) == 0 || len(c.Targets) > 64 {
		return nil, fmt.Errorf("-url: give 1 to 64 base URLs")
	}
	if c.Spread != "session" && c.Spread != "request" {
		return nil, fmt.Errorf("-spread must be session or request")
	}
	if c.Sources, err = ParseSources(sources); err != nil {
		return nil, err
	}
	c.Transports = splitList(transport)
	if len(c.Transports) == 0 || (scenario != "soak" && scenario != "spike" && len(c.Transports) != 1) {
		return nil, fmt.Errorf("-transport: give one of %s", transportNames())
	}
	for _, t := range c.Transports {
		if !knownTransport(t) {
			return nil, fmt.Errorf("-transport %q: want one of %s", t, transportNames())
		}
	}
	switch {
	case c.Duration <= 0 || c.Duration > maxDuration:
		return nil, fmt.Errorf("-duration must be in (0, %v]", maxDuration)
	case c.Warmup < 0 || c.Warmup > maxDuration:
		return nil, fmt.Errorf("-warmup must be in [0, %v]", maxDuration)
	case c.Timeout <= 0 || c.Timeout > time.Hour:
		return nil, fmt.Errorf("-timeout must be in (0, 1h]")
	case c.Settle < 0 || c.Settle > time.Hour:
		return nil, fmt.Errorf("-settle must be in [0, 1h]")
	case c.Count < 0:
		return nil, fmt.Errorf("-count must not be negative")
	case c.Rate < 0:
		return nil, fmt.Errorf("-rate must not be negative")
	case c.BufSize < 256 || c.BufSize > 1<<20:
		return nil, fmt.Errorf("-bufsize must be in [256, 1MiB]")
	case c.PID < 0:
		return nil, fmt.Errorf("-pid must not be negative")
	}
	switch scenario {
	case "echo", "broadcast", "connect", "soak", "burst", "spike":
		if c.Size < 8 || c.Size > 16<<20 {
			return nil, fmt.Errorf("-size must be in [8, 16MiB]")
		}
	}
	if scenario == "burst" {
		switch {
		case c.Messages < 1 || c.Messages > 10_000_000:
			return nil, fmt.Errorf("-messages must be in [1, 10000000]")
		case c.Readers < 1 || c.Readers > 1000:
			return nil, fmt.Errorf("-readers must be in [1, 1000]")
		case c.RcvBuf < 0 || c.RcvBuf > 16<<20:
			return nil, fmt.Errorf("-rcvbuf must be in [0, 16MiB]")
		case c.Batch < 1 || c.Batch > 65536:
			return nil, fmt.Errorf("-batch must be in [1, 65536]")
		}
		c.Sessions = c.Readers + 2
	}
	switch scenario {
	case "echo", "broadcast", "idle", "spike":
		if c.Sessions < 1 || c.Sessions > 1_000_000 {
			return nil, fmt.Errorf("-sessions must be in [1, 1000000]")
		}
	}
	if scenario == "broadcast" && c.Sessions < 1 {
		return nil, fmt.Errorf("-sessions must be at least 1")
	}
	if (scenario == "echo" || scenario == "broadcast") && (c.InFlight < 1 || c.InFlight > 1<<16) {
		return nil, fmt.Errorf("-inflight must be in [1, 65536]")
	}
	if c.Concurrency < 1 || c.Concurrency > 100_000 {
		return nil, fmt.Errorf("-concurrency must be in [1, 100000]")
	}
	if scenario == "spike" {
		if c.PID == 0 {
			return nil, fmt.Errorf("spike needs -pid of the server")
		}
		if c.Live < 0 || c.Live > 1000 {
			return nil, fmt.Errorf("-live must be in [0, 1000]")
		}
	}
	if scenario == "soak" {
		if c.PID == 0 {
			return nil, fmt.Errorf("soak needs -pid of the server")
		}
		if c.Messages < 0 || c.Messages > 1_000_000 {
			return nil, fmt.Errorf("-messages must be in [0, 1000000]")
		}
	}
	if stompOn {
		if c.Stomp, err = stompConfig(c, stompVersions, stompSend, stompSubscribe); err != nil {
			return nil, err
		}
	}
	if err := checkFDs(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkFDs refuses a run that would run out of file descriptors.
func checkFDs(c *Config) error {
	perSession := 1
	for _, t := range c.Transports {
		if t != "websocket" {
			perSession = 2 // a receiving and a sending connection
			if c.Spread == "request" {
				perSession = 2 * len(c.Targets) // each kept alive to every node
			}
		}
	}
	n := c.Sessions
	if c.Concurrency > n {
		n = c.Concurrency
	}
	need := uint64(n*perSession + 64)
	if c.Scenario == "spike" { // every transport's sessions at once
		need = uint64(c.Live + 64)
		for _, t := range c.Transports {
			if t == "websocket" {
				need += uint64(c.Sessions)
			} else {
				need += uint64(2 * c.Sessions)
			}
		}
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	if lim.Cur < need && lim.Max >= need {
		lim.Cur = need
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
			return nil
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("%d sessions need about %d file descriptors; RLIMIT_NOFILE is %d (raise it with ulimit -n, or run several instances)", n, need, lim.Cur)
	}
	return nil
}
