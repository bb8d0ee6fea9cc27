package main

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// httpErrorLog returns an http.Server.ErrorLog that writes to logger.
// net/http logs there both problems worth a look (at Warn) and the
// ordinary noise of clients that go away mid-request (at Debug): resets,
// broken pipes, timeouts, TLS handshakes cut short.
func httpErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(httpLogWriter{logger}, "", 0)
}

type httpLogWriter struct{ l *slog.Logger }

func (w httpLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if clientGone(msg) {
		level = slog.LevelDebug
	}
	w.l.Log(context.Background(), level, msg, "source", "net/http")
	return len(p), nil
}

// clientGone reports whether an error message is the sign of a client
// that went away rather than of a problem of the server.
func clientGone(msg string) bool {
	for _, s := range []string{
		"connection reset by peer",
		"broken pipe",
		"i/o timeout",
		"EOF",
		"use of closed network connection",
		"TLS handshake error",
		"context canceled",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
