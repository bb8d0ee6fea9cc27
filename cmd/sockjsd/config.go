package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
)

// config is sockjsd's configuration, from flags and environment variables.
type config struct {
	addr            string
	adminAddr       string // empty: no admin server
	metrics         bool   // /metrics on the admin server
	pprof           bool   // /debug/pprof/ on the admin server
	sockjsURL       string
	heartbeat       time.Duration
	disconnectDelay time.Duration
	shutdownTimeout time.Duration
	logFormat       string
	logLevel        slog.Level

	// TLS: both files or neither. With them the main address serves
	// HTTPS, HTTP/2 included.
	tlsCert, tlsKey string

	// Options of every SockJS service.
	trustedProxies []netip.Prefix // sockjs.Options.TrustedProxies
	allowedOrigins []string       // sockjs.Options.AllowedOrigins
	jsessionID     bool           // sockjs.Options.JSessionID
	maxSessions    int            // sockjs.Options.MaxSessions; 0: no cap

	// Cluster: a broker URL (one of the two) makes this a node of a
	// cluster; advertise is how the other nodes reach it, clusterSecret
	// authenticates them to each other. See cluster.go.
	redisURL      string
	natsURL       string
	advertise     string
	clusterSecret string

	// from names where each flag's value came from, for error messages:
	// "-heartbeat" or "SOCKJSD_HEARTBEAT"; absent for defaults.
	from map[string]string
}

var errHelp = errors.New("help requested")

// envPrefix starts the environment variable of each flag: -disconnect-delay
// is SOCKJSD_DISCONNECT_DELAY.
const envPrefix = "SOCKJSD_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

const usageHeader = `Usage: sockjsd [flags]

A SockJS server with /echo, /broadcast, /close and a demo page at /.

The admin server (-admin-addr; keep it private) serves
  /status          a live status page: sessions open, message rates
  /status.json     the same as JSON
  /metrics         Prometheus metrics (unless -metrics=false)
  /debug/pprof/    Go profiles (only with -pprof)

Behind nginx or haproxy, with TLS, origins and sticky sessions: see
docs/deploy.md.

Every flag can also be set by an environment variable named after it:
-disconnect-delay is %s. A flag on the command line wins
over its variable. A variable set to the empty string counts:
SOCKJSD_ADMIN_ADDR= turns the admin server off.

Flags:
`

// parseConfig reads flags from args, falling back to environment variables
// (read through lookupEnv, as os.LookupEnv) for flags not given, and
// reports any invalid value. It writes the help to out for -h.
func parseConfig(args []string, lookupEnv func(string) (string, bool), out io.Writer) (config, error) {
	c := config{
		metrics:         true,
		heartbeat:       25 * time.Second,
		disconnectDelay: 5 * time.Second,
		shutdownTimeout: 10 * time.Second,
		logLevel:        slog.LevelInfo,
		from:            map[string]string{},
	}
	fs := flag.NewFlagSet("sockjsd", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; usage is printed for -h only
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "`host:port` to serve the SockJS services and the demo page on")
	fs.StringVar(&c.adminAddr, "admin-addr", "127.0.0.1:9091", "`host:port` of the admin server (status page, metrics, pprof); empty turns it off")
	fs.Var(boolValue{&c.metrics}, "metrics", "serve Prometheus metrics at /metrics on the admin server")
	fs.Var(boolValue{&c.pprof}, "pprof", "serve net/http/pprof at /debug/pprof/ on the admin server")
	fs.StringVar(&c.sockjsURL, "sockjs-url", "", "sockjs-client `URL` for the iframe page (empty: the copy served by each service)")
	fs.Var(durationValue{&c.heartbeat}, "heartbeat", "how often an idle connection gets a heartbeat frame: a `duration` such as 25s")
	fs.Var(durationValue{&c.disconnectDelay}, "disconnect-delay", "how long a session lives without a receiving connection, a `duration`")
	fs.Var(durationValue{&c.shutdownTimeout}, "shutdown-timeout", "how long a graceful shutdown may take, a `duration`; then connections are cut")
	fs.StringVar(&c.logFormat, "log-format", "text", "log `format`: text or json")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate chain `file`: serve HTTPS and HTTP/2 on -addr (with -tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	fs.Var(prefixesValue{&c.trustedProxies}, "trusted-proxies",
		"comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed")
	fs.Var(listValue{&c.allowedOrigins}, "allowed-origins",
		"comma-separated `origins` allowed to use the services, such as https://example.com,https://*.example.com (empty: any)")
	fs.Var(boolValue{&c.jsessionID}, "jsessionid", "set a JSESSIONID cookie on every session, for load balancers' sticky sessions")
	fs.Var(intValue{&c.maxSessions}, "max-sessions", "the most sessions open at once per service, a `number`; beyond it new ones get 503 (0: no cap)")
	fs.StringVar(&c.redisURL, "redis", "", "Redis `URL` (redis://host:6379/0): run as one node of a cluster sharing sessions and hubs through Redis")
	fs.StringVar(&c.natsURL, "nats", "", "NATS `URL` (nats://host:4222) with JetStream: run as one node of a cluster through NATS (instead of -redis)")
	fs.StringVar(&c.advertise, "advertise", "", "`URL` at which the other nodes reach this one (http://10.0.0.5:8081); empty: -addr, when it names one host")
	fs.StringVar(&c.clusterSecret, "cluster-secret", "", "shared `secret` authenticating the nodes to each other, at least 16 bytes; required with -redis or -nats (better set by its environment variable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, out)
			return c, errHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { c.from[f.Name] = "-" + f.Name })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if c.from[f.Name] != "" {
			return
		}
		v, ok := lookupEnv(envName(f.Name))
		if !ok {
			return
		}
		c.from[f.Name] = envName(f.Name)
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("invalid %s %q: %v", envName(f.Name), v, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.validate()
}

func printUsage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprintf(out, usageHeader, envName("disconnect-delay"))
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if arg != "" {
			arg = " " + arg
		}
		if _, ok := f.Value.(boolValue); ok { // -pprof, -pprof=false
			arg = ""
		}
		def := f.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(out, "  -%s%s\n    \t%s\n    \t(default %s; env %s)\n", f.Name, arg, usage, def, envName(f.Name))
	})
}

// name returns how the user set flag: "-heartbeat", "SOCKJSD_HEARTBEAT",
// or "-heartbeat" for a default.
func (c config) name(flag string) string {
	if n := c.from[flag]; n != "" {
		return n
	}
	return "-" + flag
}

func (c config) validate() error {
	var errs []error
	bad := func(flag string, value any, why string) {
		errs = append(errs, fmt.Errorf("invalid %s %q: %s", c.name(flag), fmt.Sprint(value), why))
	}
	if err := checkAddr(c.addr); err != nil {
		bad("addr", c.addr, err.Error())
	}
	if c.adminAddr != "" {
		if err := checkAddr(c.adminAddr); err != nil {
			bad("admin-addr", c.adminAddr, err.Error())
		} else if sameAddr(c.addr, c.adminAddr) {
			bad("admin-addr", c.adminAddr, "must differ from "+c.name("addr"))
		}
	} else if c.pprof {
		bad("pprof", c.pprof, "needs the admin server, which "+c.name("admin-addr")+" turns off")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"heartbeat", c.heartbeat},
		{"disconnect-delay", c.disconnectDelay},
		{"shutdown-timeout", c.shutdownTimeout},
	} {
		if d.v <= 0 {
			bad(d.flag, d.v, "must be positive")
		}
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		bad("log-format", c.logFormat, "must be text or json")
	}
	switch {
	case c.tlsCert != "" && c.tlsKey == "":
		bad("tls-cert", c.tlsCert, "needs -tls-key too")
	case c.tlsCert == "" && c.tlsKey != "":
		bad("tls-key", c.tlsKey, "needs -tls-cert too")
	}
	for _, o := range c.allowedOrigins {
		if err := checkOrigin(o); err != nil {
			bad("allowed-origins", strings.Join(c.allowedOrigins, ","), fmt.Sprintf("%q %s", o, err))
		}
	}
	if c.maxSessions < 0 {
		bad("max-sessions", c.maxSessions, "must be 0 (no cap) or more")
	}
	errs = append(errs, c.validateCluster()...)
	return errors.Join(errs...)
}

// checkOrigin applies the rules of sockjs.Options.AllowedOrigins, which
// panics on a malformed pattern, and refuses what could never match a
// browser's Origin header (scheme://host[:port], no path).
func checkOrigin(o string) error {
	o = strings.ToLower(strings.TrimSpace(o))
	if o == "*" || o == "null" { // "null": pages from file:// and sandboxed frames
		return nil
	}
	if _, err := path.Match(o, ""); err != nil {
		return errors.New("is a malformed pattern (an unclosed [ or a trailing \\)")
	}
	for i := 0; i < len(o); i++ {
		switch o[i] {
		case '\\':
			i++ // an escaped character
		case '[':
			// Valid, but a character class: "https://[::1]:8443" would
			// match no Origin, not even its own.
			return errors.New(`has a "[", which starts a character class in a pattern: write \[ and \] for an IPv6 address`)
		}
	}
	scheme, host, ok := strings.Cut(o, "://")
	switch {
	case !ok || scheme == "" || host == "":
		return errors.New("is not an origin such as https://example.com or https://*.example.com")
	case strings.Contains(host, "/"):
		return errors.New("has a path; an origin is scheme://host[:port] only")
	}
	return nil
}

// checkAddr accepts host:port with a numeric port; the host may be empty
// (every interface).
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, such as 127.0.0.1:8081 or :8081")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	return nil
}

// sameAddr reports whether two valid addresses would collide: same host
// and the same port, other than 0 (which picks a free one).
func sameAddr(a, b string) bool {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return pa == pb && pa != "0" && (ha == hb || wildcard(ha) || wildcard(hb))
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// durationValue and boolValue are flag.Values like the flag package's own,
// but whose errors say what is wrong instead of "parse error".
type durationValue struct{ p *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration such as 25s, 1m30s or 500ms")
	}
	*v.p = d
	return nil
}

func (v durationValue) String() string {
	if v.p == nil {
		return ""
	}
	return v.p.String()
}

type boolValue struct{ p *bool }

func (v boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("not a boolean: true or false")
	}
	*v.p = b
	return nil
}

func (v boolValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatBool(*v.p)
}

func (v boolValue) IsBoolFlag() bool { return true }

type intValue struct{ p *int }

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a whole number")
	}
	*v.p = n
	return nil
}

func (v intValue) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.Itoa(*v.p)
}

// listValue is a comma-separated list; empty items are dropped, and the
// empty string is the empty list.
type listValue struct{ p *[]string }

func (v listValue) Set(s string) error {
	*v.p = nil
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*v.p = append(*v.p, item)
		}
	}
	return nil
}

func (v listValue) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

// prefixesValue is a comma-separated list of CIDRs; a bare address stands
// for itself alone (/32 or /128).
type prefixesValue struct{ p *[]netip.Prefix }

func (v prefixesValue) Set(s string) error {
	var ps []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			a, aerr := netip.ParseAddr(item)
			if aerr != nil {
				return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8, nor an address", item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		ps = append(ps, p.Masked())
	}
	*v.p = ps
	return nil
}

func (v prefixesValue) String() string {
	if v.p == nil {
		return ""
	}
	s := make([]string, len(*v.p))
	for i, p := range *v.p {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
