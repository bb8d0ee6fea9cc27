package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// Env is what every session needs to reach the server: where it is, how
// to connect, and how large a read buffer each connection gets.
type Env struct {
	URLs []string // the base URLs of the service, one per node
	// perRequest: each HTTP request of a session goes to the next node;
	// otherwise each session stays on one node, the next one.
	perRequest bool
	next       atomic.Uint64 // sessions so far, for the round-robin
	Dialer     *Dialer
	BufSize    int // read buffer per connection
	// addrs maps the host:port of each target URL to the loopback
	// address to connect to; nothing else is ever dialed.
	addrs map[string]string
}

func newEnv(targets []Target, perRequest bool, d *Dialer, bufSize int) *Env {
	env := &Env{perRequest: perRequest, Dialer: d, BufSize: bufSize, addrs: map[string]string{}}
	for _, t := range targets {
		env.URLs = append(env.URLs, t.URL)
		env.addrs[t.dialHost()] = t.Addr
	}
	return env
}

// transportNames lists the transports the tool speaks: every one of the
// client's.
func transportNames() string { return strings.Join(sockjsclient.Transports(), ", ") }

func knownTransport(name string) bool { return slices.Contains(sockjsclient.Transports(), name) }

// ErrKind classifies what went wrong, for the error report.
type ErrKind string

const (
	KindDial       ErrKind = "connect"          // TCP connect failed
	KindStatus     ErrKind = "bad-status"       // unexpected HTTP status
	KindHandshake  ErrKind = "bad-handshake"    // websocket upgrade or prelude wrong
	KindFrame      ErrKind = "unexpected-frame" // malformed or out-of-place frame
	KindClose      ErrKind = "close-frame"      // the server closed the session
	KindTimeout    ErrKind = "timeout"          // no answer in time
	KindMismatch   ErrKind = "wrong-message"    // echo or broadcast content/order wrong
	KindConnection ErrKind = "connection"       // the connection broke
)

// ProtocolError is an error the tool reports and counts.
type ProtocolError struct {
	Kind   ErrKind
	Code   int // close code, for KindClose
	Detail string
}

func (e *ProtocolError) Error() string {
	if e.Kind == KindClose {
		return fmt.Sprintf("%s %d: %s", e.Kind, e.Code, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Detail)
}

func protoErr(kind ErrKind, format string, args ...any) error {
	return &ProtocolError{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// closeErr reports a close frame the client did not ask for.
func closeErr(f sockjsclient.Frame) error {
	return &sockjsclient.CloseError{Code: f.Code, Reason: f.Reason}
}

// classify turns any error into a ProtocolError.
func classify(err error) *ProtocolError {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe
	}
	var ce *sockjsclient.CloseError
	var se *sockjsclient.StatusError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return &ProtocolError{Kind: KindClose, Code: ce.Code, Detail: ce.Reason}
	case errors.As(err, &se):
		return &ProtocolError{Kind: KindStatus, Detail: fmt.Sprintf("%s: %d %s", se.Request, se.StatusCode, se.Body)}
	case errors.Is(err, sockjsclient.ErrDial):
		return &ProtocolError{Kind: KindDial, Detail: err.Error()}
	case errors.Is(err, sockjsclient.ErrHandshake):
		return &ProtocolError{Kind: KindHandshake, Detail: err.Error()}
	case errors.Is(err, sockjsclient.ErrBadFrame):
		return &ProtocolError{Kind: KindFrame, Detail: err.Error()}
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return &ProtocolError{Kind: KindTimeout, Detail: err.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ProtocolError{Kind: KindConnection, Detail: "connection closed by server: " + err.Error()}
	}
	return &ProtocolError{Kind: KindConnection, Detail: err.Error()}
}

// dial opens a session with the named transport. Every connection of the
// session comes from one source address, as from one browser.
func dial(ctx context.Context, env *Env, transport string) (sockjsclient.Conn, error) {
	base, opts := env.options(nil)
	return sockjsclient.Dial(ctx, transport, base, opts)
}

// options are a new session's base URL and options: fresh ids, one
// source address, and only the targets' loopback addresses dialed. A
// session starts on the next node; with perRequest, each of its HTTP
// requests goes to the node after the last. onConn, if not nil, sees
// every connection the session opens.
func (env *Env) options(onConn func(net.Conn)) (string, *sockjsclient.Options) {
	n := idCounter.Load()
	src := env.Dialer.Pick()
	urls := env.URLs
	first := env.next.Add(1) - 1
	opts := &sockjsclient.Options{
		ServerID:       serverID(n),
		SessionID:      newSessionID(),
		ReadBufferSize: env.BufSize,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ip, ok := env.addrs[addr]
			if !ok {
				return nil, fmt.Errorf("%s: %w", addr, errNotLoopback)
			}
			c, err := env.Dialer.Dial(ctx, src, ip)
			if err == nil && onConn != nil {
				onConn(c)
			}
			return c, err
		},
	}
	if env.perRequest && len(urls) > 1 {
		var turn atomic.Uint64 // the receiving and the sending side share it
		turn.Store(first)
		opts.BaseURL = func() string { return urls[(turn.Add(1)-1)%uint64(len(urls))] }
	}
	return urls[first%uint64(len(urls))], opts
}

// quoteShort renders b for an error message, cut to a readable length.
func quoteShort(b []byte) string {
	const max = 80
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}
