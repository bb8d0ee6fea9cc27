package sockjs

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/sockjsd/sockjsd/session"
)

// Identity is who a session's client is, as Options.Authenticate found
// from the request that opened the session. The zero Identity is an
// anonymous client.
type Identity struct {
	// User names the user: the sessions of one User are that user's to
	// package sockjs/hub (sent to and closed together). Empty means
	// anonymous.
	User string
	// Attrs holds what else the handler should know of the client (a
	// display name, roles). The server never modifies it.
	Attrs map[string]string
}

// Refusal is the error Options.Authenticate returns to refuse a session
// with a close code and reason of its choosing, such as
// &Refusal{CodeTryAgainLater, "Try again later"} when the user database is
// down. Codes from 4000 to 4999 are the application's own.
type Refusal struct {
	Code   int
	Reason string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("sockjs: session refused: %d %s", r.Code, r.Reason)
}

// CodeUnauthorized (4001, "Unauthorized") closes a session that
// Options.Authenticate refused with an error other than a *Refusal.
const CodeUnauthorized = 4001

// authenticate runs Options.Authenticate for the request that opens a
// session. A non-nil *Refusal means the session opens refused; refusals
// are counted and logged here. A panic in the hook refuses with
// CodeInternalError.
func (s *Server) authenticate(r *http.Request) (id Identity, ref *Refusal) {
	if s.opts.Authenticate == nil {
		return Identity{}, nil
	}
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.opts.Logger.Error("sockjs: Authenticate panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				err = &Refusal{CodeInternalError, "Internal server error"}
			}
		}()
		id, err = s.opts.Authenticate(r)
	}()
	if err == nil {
		return id, nil
	}
	if !errors.As(err, &ref) {
		ref = &Refusal{CodeUnauthorized, "Unauthorized"}
	}
	s.opts.Metrics.Refused("unauthorized")
	s.opts.Logger.Info("sockjs: session refused", "reason", "unauthorized", "code", ref.Code,
		"error", err, "path", r.URL.Path, "remote", r.RemoteAddr)
	return Identity{}, ref
}

// refuseSession makes ref's close frame the first and only frame of a
// session nobody else knows yet.
func refuseSession(ss *session.Session, ref *Refusal) {
	_ = ss.Refuse(ref.Code, ref.Reason) // cannot fail: nothing was handed out yet
}
