package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// config is sockjsd's configuration, from flags and environment variables.
type config struct {
	addr            string
	sockjsURL       string
	heartbeat       time.Duration
	disconnectDelay time.Duration
	shutdownTimeout time.Duration
	logFormat       string
	logLevel        slog.Level
}

var errHelp = errors.New("help requested")

// envPrefix starts the environment variable of each flag: -disconnect-delay
// is SOCKJSD_DISCONNECT_DELAY.
const envPrefix = "SOCKJSD_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads flags from args, falling back to environment variables
// (read through getenv) for flags not given, and reports any invalid value.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	c := config{logLevel: slog.LevelInfo}
	fs := flag.NewFlagSet("sockjsd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "address to listen on")
	fs.StringVar(&c.sockjsURL, "sockjs-url", "", "sockjs-client URL for the iframe page (empty: the copy served by each service)")
	fs.DurationVar(&c.heartbeat, "heartbeat", 25*time.Second, "heartbeat interval")
	fs.DurationVar(&c.disconnectDelay, "disconnect-delay", 5*time.Second, "how long a session lives without a receiving connection")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.TextVar(&c.logLevel, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: sockjsd [flags]\n\nA SockJS server with /echo, /broadcast, /close and a demo page at /.\n"+
			"Every flag can also be set by an environment variable, named after the flag:\n"+
			"-disconnect-delay is %s. A flag on the command line wins.\n\nFlags:\n", envName("disconnect-delay"))
		fs.VisitAll(func(f *flag.Flag) {
			fmt.Fprintf(out, "  -%s (env %s, default %q)\n    \t%s\n", f.Name, envName(f.Name), f.DefValue, f.Usage)
		})
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errHelp
		}
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("invalid %s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c config) validate() error {
	switch {
	case c.heartbeat <= 0:
		return fmt.Errorf("invalid -heartbeat %v: must be positive", c.heartbeat)
	case c.disconnectDelay <= 0:
		return fmt.Errorf("invalid -disconnect-delay %v: must be positive", c.disconnectDelay)
	case c.shutdownTimeout <= 0:
		return fmt.Errorf("invalid -shutdown-timeout %v: must be positive", c.shutdownTimeout)
	case c.logFormat != "text" && c.logFormat != "json":
		return fmt.Errorf("invalid -log-format %q: must be text or json", c.logFormat)
	}
	return nil
}

func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
