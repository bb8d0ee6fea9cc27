package sockjsclient

import (
	"errors"
	"fmt"
	"strconv"
)

var (
	// ErrBadFrame wraps every malformed frame, and every frame out of
	// place (a first frame other than "o", an "o" in an open session).
	ErrBadFrame = errors.New("sockjs: bad frame")
	// ErrHandshake wraps a websocket upgrade the server answered wrongly,
	// and a streaming response whose prelude is wrong.
	ErrHandshake = errors.New("sockjs: bad handshake")
	// ErrDial wraps a failure to connect to the server.
	ErrDial = errors.New("sockjs: dial")
	// ErrClosed is returned by Send and Recv once Close was called.
	ErrClosed = errors.New("sockjs: closed by the client")
)

// CloseError is a close frame the client did not ask for: the server
// ended the session (c[3000,"Go away!"]), refused a second receiver
// (c[2010,...]), or lost the session.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return "sockjs: session closed by the server: " + strconv.Itoa(e.Code) + " " + strconv.Quote(e.Reason)
}

// StatusError is an HTTP answer with a status the transport does not
// accept.
type StatusError struct {
	Request    string // "POST /echo/000/abcdefgh/xhr_send"
	StatusCode int
	Body       string // cut to a readable length
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("sockjs: %s: status %d %s", e.Request, e.StatusCode, e.Body)
}

// closeErr turns a close frame into its error.
func closeErr(f Frame) error { return &CloseError{Code: f.Code, Reason: f.Reason} }

func badFrame(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadFrame}, args...)...)
}

func badHandshake(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrHandshake}, args...)...)
}
