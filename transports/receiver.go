package transports

import (
	"errors"
	"net/http"
	"time"

	"github.com/sockjsd/sockjsd/session"
)

// receiverKind describes one HTTP receiving transport. Transports differ
// only in this data; the receiver loop below is shared by all of them.
type receiverKind struct {
	name        string
	allow       string
	contentType string
	streaming   bool // many frames per response, up to the response limit
	callback    bool // needs a valid ?c= callback
	// prelude, if set, appends what a response starts with.
	prelude func(dst []byte, callback string) []byte
	// envelope appends frame wrapped as the transport sends it.
	envelope func(dst []byte, callback string, frame []byte) []byte
}

type receiver struct {
	cfg  *Config
	kind *receiverKind
}

func (t *receiver) Allow() string { return t.kind.allow }

// Serve is the one receiver loop: attach to the session (or answer 2010),
// then hand out frames until one is final, the client goes away or, for
// streaming, the response limit is reached. Writes happen here only, on
// the request's goroutine, with a deadline; the session lock is never held
// while writing.
func (t *receiver) Serve(w http.ResponseWriter, r *http.Request, sessionID string) {
	k := t.kind
	var callback string
	if k.callback {
		var err error
		if callback, err = callbackParam(r); err != nil {
			t.cfg.refuse(r, "callback", err)
			plainError(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	s, err := t.cfg.Sessions.OpenHTTP(r, sessionID, k.name)
	if err != nil {
		t.cfg.refuse(r, refusalReason(err), err)
		if errors.Is(err, ErrNotYours) {
			http.NotFound(w, r) // to another client, the session does not exist
		} else {
			plainError(w, "No new sessions accepted.", http.StatusServiceUnavailable)
		}
		return
	}

	h := w.Header()
	h.Set("Content-Type", k.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fw := newFrameWriter(w, t.cfg.WriteTimeout, k.streaming)
	defer fw.done()
	if k.prelude != nil {
		if fw.write(k.prelude(fw.out[:0], callback)) != nil {
			return
		}
	}
	if s.Attach(r.Context(), attachGrace) != nil {
		t.cfg.Observer.ReceiverConflict(k.name)
		fw.frame = session.AppendClose(fw.frame[:0], session.CodeAnotherReceiver, "Another connection still open")
		_ = fw.write(k.envelope(fw.out[:0], callback, fw.frame))
		return
	}

	held := true         // whether this request still holds the lease
	interrupted := false // whether the client went away mid-response
	defer func() {
		if held {
			s.Detach(interrupted)
		}
	}()
	heartbeat := time.NewTimer(t.cfg.Heartbeat)
	defer heartbeat.Stop()
	heartbeatDue := false
	var b session.Batch
	written := 0
	for {
		budget := 0
		if k.streaming {
			budget = max(1, t.cfg.ResponseLimit-written)
		}
		s.Take(&b, budget, heartbeatDue)
		if b.Kind == session.FrameNone {
			select {
			case <-s.Wake():
			case <-heartbeat.C:
				heartbeatDue = true
			case <-r.Context().Done():
				interrupted = true
				return // the deferred Detach closes the session (1002)
			}
			continue
		}
		held = !b.Final
		heartbeatDue = false
		t.countOut(&b)
		fw.frame = session.AppendBatch(fw.frame[:0], &b)
		env := k.envelope(fw.out[:0], callback, fw.frame)
		if err := fw.write(env); err != nil {
			interrupted = true
			if !held && b.Kind == session.FrameMessages {
				// The lease is gone with messages that never arrived.
				_ = s.Close(session.CodeInterrupted, "Connection interrupted")
			}
			return
		}
		if b.Final {
			return
		}
		written += len(env)
		if written >= t.cfg.ResponseLimit && k.streaming {
			return // the deferred Detach releases the lease first
		}
		heartbeat.Reset(t.cfg.Heartbeat)
	}
}

func (t *receiver) countOut(b *session.Batch) {
	switch b.Kind {
	case session.FrameMessages:
		t.cfg.Observer.MessagesOut(t.kind.name, len(b.Messages), messageBytes(b.Messages))
	case session.FrameHeartbeat:
		t.cfg.Observer.Heartbeat(t.kind.name)
	}
}

// frameWriter writes a receiver's response: every write has a deadline,
// and streaming responses are flushed frame by frame.
type frameWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	flush   bool
	frame   []byte // scratch for the frame being written
	out     []byte // scratch for the frame in its envelope
}

func newFrameWriter(w http.ResponseWriter, timeout time.Duration, flush bool) *frameWriter {
	return &frameWriter{
		w:       w,
		rc:      http.NewResponseController(w),
		timeout: timeout,
		flush:   flush,
		frame:   make([]byte, 0, 512),
		out:     make([]byte, 0, 512),
	}
}

func (fw *frameWriter) write(p []byte) error {
	// ErrNotSupported (a ResponseWriter without deadlines) is fine.
	_ = fw.rc.SetWriteDeadline(time.Now().Add(fw.timeout))
	if _, err := fw.w.Write(p); err != nil {
		return err
	}
	if fw.flush {
		return fw.rc.Flush()
	}
	return nil
}

// done clears the write deadline: the connection may serve further
// requests (keep-alive) whose handlers set none.
func (fw *frameWriter) done() { _ = fw.rc.SetWriteDeadline(time.Time{}) }

// attachGrace is how long a receiver that finds another attached waits for
// it to go away before answering 2010 (see session.Session.Attach).
const attachGrace = 200 * time.Millisecond

// maxCallbackLen caps ?c=. sockjs-client's callbacks are under 20 bytes.
const maxCallbackLen = 128

var (
	errNoCallback      = errors.New(`"callback" parameter required`)
	errInvalidCallback = errors.New(`invalid "callback" parameter`)
)

// callbackParam returns the ?c= parameter of jsonp and htmlfile: it is
// written into JavaScript, so only [a-zA-Z0-9_.-] is accepted.
func callbackParam(r *http.Request) (string, error) {
	c := r.URL.Query().Get("c")
	if c == "" {
		return "", errNoCallback
	}
	if len(c) > maxCallbackLen {
		return "", errInvalidCallback
	}
	for i := 0; i < len(c); i++ {
		switch b := c[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '_', b == '.', b == '-':
		default:
			return "", errInvalidCallback
		}
	}
	return c, nil
}
