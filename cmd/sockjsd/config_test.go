package main

import (
	"bytes"
	"errors"
	"log/slog"
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
			},
			want: func(c *config) {
				c.addr, c.adminAddr, c.metrics, c.pprof = ":8080", "0.0.0.0:9100", false, true
				c.sockjsURL = "https://cdn.example/sockjs.js"
				c.heartbeat, c.disconnectDelay, c.shutdownTimeout = 5*time.Second, time.Minute, 1500*time.Millisecond
				c.logFormat, c.logLevel = "json", slog.LevelDebug
			},
		},
		{
			name: "every variable",
			env: map[string]string{
				"SOCKJSD_ADDR": ":8080", "SOCKJSD_ADMIN_ADDR": "0.0.0.0:9100", "SOCKJSD_METRICS": "false",
				"SOCKJSD_PPROF": "true", "SOCKJSD_SOCKJS_URL": "https://cdn.example/sockjs.js",
				"SOCKJSD_HEARTBEAT": "5s", "SOCKJSD_DISCONNECT_DELAY": "1m",
				"SOCKJSD_SHUTDOWN_TIMEOUT": "1500ms", "SOCKJSD_LOG_FORMAT": "json", "SOCKJSD_LOG_LEVEL": "warn",
			},
			want: func(c *config) {
				c.addr, c.adminAddr, c.metrics, c.pprof = ":8080", "0.0.0.0:9100", false, true
				c.sockjsURL = "https://cdn.example/sockjs.js"
				c.heartbeat, c.disconnectDelay, c.shutdownTimeout = 5*time.Second, time.Minute, 1500*time.Millisecond
				c.logFormat, c.logLevel = "json", slog.LevelWarn
			},
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
