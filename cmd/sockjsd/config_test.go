package main

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// env returns a lookupEnv over the given variables.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

func defaults() config {
	return config{
		addr:            "127.0.0.1:8081",
		adminAddr:       "127.0.0.1:9091",
		metrics:         true,
		pprof:           false,
		sockjsURL:       "",
		heartbeat:       25 * time.Second,
		disconnectDelay: 5 * time.Second,
		shutdownTimeout: 10 * time.Second,
		logFormat:       "text",
		logLevel:        slog.LevelInfo,
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *config) // changes from the defaults
	}{
		{name: "defaults"},
		{
			name: "every flag",
			args: []string{
				"-addr", ":8080", "-admin-addr", "0.0.0.0:9100", "-metrics=false", "-pprof",
				"-sockjs-url", "https://cdn.example/sockjs.js", "-heartbeat", "5s",
				"-disconnect-delay", "1m", "-shutdown-timeout", "1500ms",
				"-log-format", "json", "-log-level", "debug",
				"-tls-cert", "/etc/ssl/c.pem", "-tls-key", "/etc/ssl/k.pem",
				"-trusted-proxies", "10.0.0.0/8, 127.0.0.1,fd00::/8", "-jsessionid", "-max-sessions", "1000",
				"-allowed-origins", "https://app.example, https://*.example.com,null",
			},
			want: func(c *config) {
				c.addr, c.adminAddr, c.metrics, c.pprof = ":8080", "0.0.0.0:9100", false, true
				c.sockjsURL = "https://cdn.example/sockjs.js"
				c.heartbeat, c.disconnectDelay, c.shutdownTimeout = 5*time.Second, time.Minute, 1500*time.Millisecond
				c.logFormat, c.logLevel = "json", slog.LevelDebug
				c.tlsCert, c.tlsKey = "/etc/ssl/c.pem", "/etc/ssl/k.pem"
				c.trustedProxies = prefixes("10.0.0.0/8", "127.0.0.1/32", "fd00::/8")
				c.jsessionID, c.maxSessions = true, 1000
				c.allowedOrigins = []string{"https://app.example", "https://*.example.com", "null"}
			},
		},
		{
			name: "every variable",
			env: map[string]string{
				"SOCKJSD_ADDR": ":8080", "SOCKJSD_ADMIN_ADDR": "0.0.0.0:9100", "SOCKJSD_METRICS": "false",
				"SOCKJSD_PPROF": "true", "SOCKJSD_SOCKJS_URL": "https://cdn.example/sockjs.js",
				"SOCKJSD_HEARTBEAT": "5s", "SOCKJSD_DISCONNECT_DELAY": "1m",
				"SOCKJSD_SHUTDOWN_TIMEOUT": "1500ms", "SOCKJSD_LOG_FORMAT": "json", "SOCKJSD_LOG_LEVEL": "warn",
				"SOCKJSD_TLS_CERT": "c.pem", "SOCKJSD_TLS_KEY": "k.pem",
				"SOCKJSD_TRUSTED_PROXIES": "192.168.1.7/24,::1", "SOCKJSD_JSESSIONID": "true",
				"SOCKJSD_MAX_SESSIONS": " 20 ", "SOCKJSD_ALLOWED_ORIGINS": "*",
			},
			want: func(c *config) {
				c.addr, c.adminAddr, c.metrics, c.pprof = ":8080", "0.0.0.0:9100", false, true
				c.sockjsURL = "https://cdn.example/sockjs.js"
				c.heartbeat, c.disconnectDelay, c.shutdownTimeout = 5*time.Second, time.Minute, 1500*time.Millisecond
				c.logFormat, c.logLevel = "json", slog.LevelWarn
				c.tlsCert, c.tlsKey = "c.pem", "k.pem"
				c.trustedProxies = prefixes("192.168.1.0/24", "::1/128") // host bits masked
				c.jsessionID, c.maxSessions = true, 20
				c.allowedOrigins = []string{"*"}
			},
		},
		{
			name: "empty lists",
			args: []string{"-trusted-proxies", "", "-allowed-origins", " , "},
			env:  map[string]string{"SOCKJSD_TRUSTED_PROXIES": "10.0.0.0/8"},
		},
		{
			name: "a list flag wins over its variable",
			args: []string{"-allowed-origins", "https://a.example"},
			env:  map[string]string{"SOCKJSD_ALLOWED_ORIGINS": "https://b.example", "SOCKJSD_MAX_SESSIONS": "0"},
			want: func(c *config) { c.allowedOrigins = []string{"https://a.example"} },
		},
		{
			name: "a flag wins over its variable",
			args: []string{"-heartbeat", "3s", "-pprof=false"},
			env:  map[string]string{"SOCKJSD_HEARTBEAT": "7s", "SOCKJSD_PPROF": "true", "SOCKJSD_LOG_LEVEL": "error"},
			want: func(c *config) { c.heartbeat, c.logLevel = 3*time.Second, slog.LevelError },
		},
		{
			name: "empty variable turns the admin server off",
			env:  map[string]string{"SOCKJSD_ADMIN_ADDR": ""},
			want: func(c *config) { c.adminAddr = "" },
		},
		{
			name: "empty flag turns the admin server off",
			args: []string{"-admin-addr="},
			env:  map[string]string{"SOCKJSD_ADMIN_ADDR": "127.0.0.1:1"},
			want: func(c *config) { c.adminAddr = "" },
		},
		{
			name: "port 0 twice",
			args: []string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"},
			want: func(c *config) { c.addr, c.adminAddr = "127.0.0.1:0", "127.0.0.1:0" },
		},
		{
			name: "other variables are ignored",
			env:  map[string]string{"SOCKJSD_NOPE": "x", "HEARTBEAT": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, env(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			want := defaults()
			if tt.want != nil {
				tt.want(&want)
			}
			got.from, want.from = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"bad duration flag", []string{"-heartbeat", "soon"}, nil,
			[]string{`invalid value "soon" for flag -heartbeat`, "not a duration"}},
		{"bad duration variable", nil, map[string]string{"SOCKJSD_DISCONNECT_DELAY": "5"},
			[]string{`invalid SOCKJSD_DISCONNECT_DELAY "5"`, "not a duration"}},
		{"empty duration variable", nil, map[string]string{"SOCKJSD_HEARTBEAT": ""},
			[]string{`invalid SOCKJSD_HEARTBEAT ""`}},
		{"zero heartbeat", []string{"-heartbeat", "0s"}, nil,
			[]string{`invalid -heartbeat "0s": must be positive`}},
		{"negative shutdown timeout from the environment", nil, map[string]string{"SOCKJSD_SHUTDOWN_TIMEOUT": "-1s"},
			[]string{`invalid SOCKJSD_SHUTDOWN_TIMEOUT "-1s": must be positive`}},
		{"bad bool flag", []string{"-metrics=maybe"}, nil,
			[]string{`invalid boolean value "maybe" for -metrics`}},
		{"bad bool variable", nil, map[string]string{"SOCKJSD_PPROF": "yes please"},
			[]string{`invalid SOCKJSD_PPROF "yes please": not a boolean`}},
		{"bad log format", []string{"-log-format", "xml"}, nil,
			[]string{`invalid -log-format "xml": must be text or json`}},
		{"bad log level", nil, map[string]string{"SOCKJSD_LOG_LEVEL": "loud"},
			[]string{`invalid SOCKJSD_LOG_LEVEL "loud"`}},
		{"address without port", []string{"-addr", "localhost"}, nil,
			[]string{`invalid -addr "localhost": must be host:port`}},
		{"address with a bad port", []string{"-addr", "127.0.0.1:http"}, nil,
			[]string{`invalid -addr "127.0.0.1:http": port "http" must be a number`}},
		{"empty main address", []string{"-addr="}, nil,
			[]string{`invalid -addr ""`}},
		{"bad admin address", nil, map[string]string{"SOCKJSD_ADMIN_ADDR": "127.0.0.1:99999"},
			[]string{`invalid SOCKJSD_ADMIN_ADDR "127.0.0.1:99999"`}},
		{"admin on the main address", []string{"-addr", ":9000", "-admin-addr", "127.0.0.1:9000"}, nil,
			[]string{`invalid -admin-addr "127.0.0.1:9000": must differ from -addr`}},
		{"pprof without admin server", []string{"-pprof"}, map[string]string{"SOCKJSD_ADMIN_ADDR": ""},
			[]string{`invalid -pprof "true": needs the admin server, which SOCKJSD_ADMIN_ADDR turns off`}},
		{"several problems at once", []string{"-heartbeat", "-1s", "-log-format", "xml"}, nil,
			[]string{`invalid -heartbeat "-1s"`, `invalid -log-format "xml"`}},
		{"certificate without key", []string{"-tls-cert", "c.pem"}, nil,
			[]string{`invalid -tls-cert "c.pem": needs -tls-key too`}},
		{"key without certificate, from the environment", nil, map[string]string{"SOCKJSD_TLS_KEY": "k.pem"},
			[]string{`invalid SOCKJSD_TLS_KEY "k.pem": needs -tls-cert too`}},
		{"bad CIDR flag", []string{"-trusted-proxies", "10.0.0.0/8,10.0.0/8"}, nil,
			[]string{`invalid value "10.0.0.0/8,10.0.0/8" for flag -trusted-proxies`, `"10.0.0/8" is not a CIDR`}},
		{"bad CIDR variable", nil, map[string]string{"SOCKJSD_TRUSTED_PROXIES": "localhost"},
			[]string{`invalid SOCKJSD_TRUSTED_PROXIES "localhost"`, `"localhost" is not a CIDR`}},
		{"prefix too long", []string{"-trusted-proxies", "10.0.0.0/33"}, nil,
			[]string{`"10.0.0.0/33" is not a CIDR`}},
		{"malformed origin pattern", []string{"-allowed-origins", "https://ok.example,https://[a.example"}, nil,
			[]string{`invalid -allowed-origins "https://ok.example,https://[a.example": "https://[a.example" is a malformed pattern`}},
		{"origin with a path", nil, map[string]string{"SOCKJSD_ALLOWED_ORIGINS": "https://a.example/"},
			[]string{`invalid SOCKJSD_ALLOWED_ORIGINS "https://a.example/": "https://a.example/" has a path`}},
		{"origin without scheme", []string{"-allowed-origins", "example.com"}, nil,
			[]string{`"example.com" is not an origin such as https://example.com`}},
		{"negative max sessions", []string{"-max-sessions", "-1"}, nil,
			[]string{`invalid -max-sessions "-1": must be 0 (no cap) or more`}},
		{"max sessions not a number", nil, map[string]string{"SOCKJSD_MAX_SESSIONS": "lots"},
			[]string{`invalid SOCKJSD_MAX_SESSIONS "lots": not a whole number`}},
		{"bad jsessionid variable", nil, map[string]string{"SOCKJSD_JSESSIONID": "on"},
			[]string{`invalid SOCKJSD_JSESSIONID "on": not a boolean`}},
		{"both brokers", []string{"-redis", "redis://127.0.0.1:6379", "-nats", "nats://127.0.0.1:4222"}, nil,
			[]string{"-redis and -nats: choose one broker, not both"}},
		{"bad redis URL", []string{"-redis", "http://127.0.0.1:6379", "-cluster-secret", "0123456789abcdef"}, nil,
			[]string{`invalid -redis "http://127.0.0.1:6379": not a Redis URL`}},
		{"bad nats URL", nil, map[string]string{"SOCKJSD_NATS": "127.0.0.1:4222", "SOCKJSD_CLUSTER_SECRET": "0123456789abcdef"},
			[]string{`invalid SOCKJSD_NATS "127.0.0.1:4222": not a NATS URL`}},
		{"broker without secret", []string{"-redis", "redis://127.0.0.1:6379"}, nil,
			[]string{"-cluster-secret (or SOCKJSD_CLUSTER_SECRET) is required with a broker"}},
		{"short secret", []string{"-nats", "nats://127.0.0.1:4222"}, map[string]string{"SOCKJSD_CLUSTER_SECRET": "short"},
			[]string{"invalid SOCKJSD_CLUSTER_SECRET: 5 bytes, must be at least 16"}},
		{"broker on every interface without advertise", []string{"-redis", "redis://127.0.0.1:6379", "-cluster-secret", "0123456789abcdef", "-addr", ":8081"}, nil,
			[]string{`-advertise is required with a broker when -addr ":8081" names no one host and port`}},
		{"bad advertise", []string{"-redis", "redis://127.0.0.1:6379", "-cluster-secret", "0123456789abcdef", "-advertise", "10.0.0.5:8081"}, nil,
			[]string{`invalid -advertise "10.0.0.5:8081": must be scheme://host:port`}},
		{"secret without broker", nil, map[string]string{"SOCKJSD_CLUSTER_SECRET": "0123456789abcdef"},
			[]string{"SOCKJSD_CLUSTER_SECRET needs -redis or -nats"}},
		{"unknown flag", []string{"-port", "80"}, nil,
			[]string{"flag provided but not defined: -port"}},
		{"stray argument", []string{"serve"}, nil,
			[]string{`unexpected arguments: ["serve"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := parseConfig(tt.args, env(tt.env), &out)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if out.Len() != 0 {
				t.Errorf("wrote %q on an error; want the error returned only", out.String())
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"-h"}, env(nil), &out)
	if !errors.Is(err, errHelp) {
		t.Fatalf("-h: got error %v, want errHelp", err)
	}
	help := out.String()
	for _, f := range []string{
		"addr", "admin-addr", "metrics", "pprof", "sockjs-url", "heartbeat",
		"disconnect-delay", "shutdown-timeout", "log-format", "log-level",
		"tls-cert", "tls-key", "trusted-proxies", "allowed-origins", "jsessionid", "max-sessions",
	} {
		if !strings.Contains(help, "  -"+f) || !strings.Contains(help, "env "+envName(f)+")") {
			t.Errorf("help does not document -%s and %s", f, envName(f))
		}
	}
	for _, s := range []string{"/status", "/status.json", "/metrics", "/debug/pprof/", "default 127.0.0.1:9091"} {
		if !strings.Contains(help, s) {
			t.Errorf("help does not mention %s", s)
		}
	}
}

// TestCheckOrigin: every pattern checkOrigin accepts, sockjs.New accepts
// too (it panics on the others); see TestRunOptions for the whole path.
func TestCheckOrigin(t *testing.T) {
	for o, ok := range map[string]bool{
		"*": true, "null": true, "https://example.com": true, "HTTPS://Example.COM": true,
		"https://*.example.com": true, "http://127.0.0.1:8080": true, "https://*": true,
		" https://padded.example ": true,
		"https://[::1]:8443":       false, `https://\[::1\]:8443`: true, // [ starts a character class
		"": false, "example.com": false, "https://": false, "://x": false,
		"https://a.example/path": false, `https://a\`: false, "https://a[b": false,
	} {
		if err := checkOrigin(o); (err == nil) != ok {
			t.Errorf("checkOrigin(%q) = %v, want ok=%v", o, err, ok)
		}
	}
}

func prefixes(s ...string) []netip.Prefix {
	var ps []netip.Prefix
	for _, p := range s {
		ps = append(ps, netip.MustParsePrefix(p))
	}
	return ps
}

func TestClientGone(t *testing.T) {
	for msg, want := range map[string]bool{
		"http: TLS handshake error from 1.2.3.4:5: EOF":                        true,
		"write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe":               true,
		"read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer":    true,
		"http: Accept error: accept tcp: too many open files; retrying in 5ms": false,
		"http: panic serving 1.2.3.4:5: boom":                                  false,
	} {
		if got := clientGone(msg); got != want {
			t.Errorf("clientGone(%q) = %v, want %v", msg, got, want)
		}
	}
}
