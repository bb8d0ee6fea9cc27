package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"
)

// Conn is one open SockJS session seen from the client. Dial has already
// consumed the "o" frame. Send and Recv may run concurrently with each
// other, but each from one goroutine at a time. Close may be called from
// any goroutine and unblocks both.
type Conn interface {
	// Send delivers msgs to the server, in order.
	Send(msgs []string, deadline time.Time) error
	// Recv returns the next frame the server sent.
	Recv(deadline time.Time) (Frame, error)
	// Close ends the session from the client's side.
	Close(mode CloseMode) error
}

// CloseMode says how a client leaves a session.
type CloseMode int

const (
	// CloseGraceful sends a websocket close frame before closing the
	// connection; HTTP transports simply stop polling.
	CloseGraceful CloseMode = iota
	// CloseDrop closes the TCP connections without a websocket close frame.
	CloseDrop
	// CloseReset aborts the TCP connections with a RST.
	CloseReset
)

func (m CloseMode) String() string {
	return [...]string{"graceful", "drop", "reset"}[m]
}

// Env is what every transport client needs to reach a server.
type Env struct {
	Target  Target
	Dialer  *Dialer
	BufSize int // read buffer per connection
}

// dialFunc opens a session at path (<base>/<server>/<session>/<transport>
// without the transport part) and returns once "o" has arrived.
type dialFunc func(ctx context.Context, env *Env, sessionPath string) (Conn, error)

// transports maps the SockJS transport names this tool speaks to their
// clients.
var transports = map[string]dialFunc{
	"websocket":     dialWebsocket,
	"xhr-streaming": dialXHRStreaming,
	"xhr-polling":   dialXHRPolling,
}

func transportNames() string {
	var names []string
	for n := range transports {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

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
func closeErr(f Frame) error {
	return &ProtocolError{Kind: KindClose, Code: f.Code, Detail: f.Reason}
}

// classify turns any error into a ProtocolError.
func classify(err error) *ProtocolError {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe
	}
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return &ProtocolError{Kind: KindTimeout, Detail: err.Error()}
	case errors.Is(err, errBadFrame):
		return &ProtocolError{Kind: KindFrame, Detail: err.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ProtocolError{Kind: KindConnection, Detail: "connection closed by server: " + err.Error()}
	}
	return &ProtocolError{Kind: KindConnection, Detail: err.Error()}
}

// dial opens a session with the named transport.
func dial(ctx context.Context, env *Env, transport string) (Conn, error) {
	df, ok := transports[transport]
	if !ok {
		return nil, fmt.Errorf("unknown transport %q (have %s)", transport, transportNames())
	}
	id := newSessionID()
	path := env.Target.Path + "/" + serverID(idCounter.Load()) + "/" + id
	return df(ctx, env, path)
}

// expectOpen checks that the first frame of a session is "o".
func expectOpen(f Frame) error {
	if f.Type == FrameClose {
		return closeErr(f)
	}
	if f.Type != FrameOpen {
		return protoErr(KindFrame, "first frame is %s, want open", f.Type)
	}
	return nil
}

// recvMessages returns the messages of the next frame that carries any,
// skipping heartbeats and empty arrays. In an open session, a close frame
// or any other frame is an error.
func recvMessages(c Conn, deadline time.Time) ([]string, error) {
	for {
		f, err := c.Recv(deadline)
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case FrameHeartbeat:
		case FrameArray, FrameMessage:
			if len(f.Messages) > 0 {
				return f.Messages, nil
			}
		case FrameClose:
			return nil, closeErr(f)
		default:
			return nil, protoErr(KindFrame, "%s frame in an open session", f.Type)
		}
	}
}
