package transports

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"

	"github.com/sockjsd/sockjsd/session"
)

// receiverKind describes one HTTP receiving transport. Transports differ
// only in this data; the receiver loop below is shared by all of them.
type receiverKind struct {
	name        string
	allow       string
	contentType []string // the header value, shared by every response
	streaming   bool     // many frames per response, up to the response limit
	callback    bool     // needs a valid ?c= callback
	// frameCost and messageCost are what envelope adds to a frame and to
	// each message in it, when nothing needs escaping: what a streaming
	// response counts against the response limit (see session.Streaming).
	frameCost, messageCost int
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

// mode is how the kind's responses end.
func (t *receiver) mode() session.Mode {
	if !t.kind.streaming {
		return session.Polling()
	}
	return session.Streaming(t.cfg.ResponseLimit, t.kind.frameCost, t.kind.messageCost)
}

// Serve is the one receiver loop: attach to the session (or answer 2010),
// then write the frames the lease hands out until one is final (the lease
// decides: every poll's frame, the one that reaches a stream's response
// limit, the close) or the client goes away. Writes happen here only, on
// the request's goroutine, with a deadline; the session lock is never held
// while writing. A streaming response on a connection that can be taken
// over is handed to serveHijacked (stream.go) instead.
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

	if k.streaming && t.serveHijacked(w, r, s, callback) {
		return
	}
	h := w.Header()
	h["Content-Type"] = k.contentType
	h["X-Content-Type-Options"] = nosniffHeader
	if k.streaming {
		h["X-Accel-Buffering"] = noHeader
	}
	w.WriteHeader(http.StatusOK)
	fw := newFrameWriter(w, t.cfg.WriteTimeout, k, callback)
	defer fw.done()
	if k.prelude != nil {
		if fw.writePrelude() != nil {
			return
		}
	}
	wake := make(chan struct{}, 1)
	var lease session.Lease
	if s.Attach(r.Context(), &lease, t.mode(), attachGrace, func() { signal(wake) }) != nil {
		t.cfg.Observer.ReceiverConflict(k.name)
		b := session.Batch{Kind: session.FrameClose, Code: closecode.AnotherReceiver, Reason: "Another connection still open"}
		_ = fw.writeBatch(&b)
		return
	}
	interrupted := false // whether the client may have missed a frame handed out
	defer func() { lease.Done(interrupted) }()
	// Next swaps the batch's array for the session's outbox: a pooled
	// batch hands the session an array with room, where a fresh one would
	// leave it to grow again, message by message, after every poll.
	b := batches.Get().(*session.Batch)
	defer putBatch(b)

	// The heartbeat timer starts when the receiver first has to wait: most
	// polls are answered at once and never need it.
	var heartbeat *time.Timer
	defer func() {
		if heartbeat != nil {
			heartbeat.Stop()
		}
	}()
	heartbeatDue := false
	for {
		if lease.Next(b, heartbeatDue) != nil {
			return // the lease has ended: nothing more is ours to write
		}
		if b.Kind == session.FrameNone {
			if heartbeat == nil {
				heartbeat = time.NewTimer(t.cfg.Heartbeat)
			}
			select {
			case <-wake:
			case <-heartbeat.C:
				heartbeatDue = true
			case <-r.Context().Done():
				interrupted = true // Done closes the session (1002)
				return
			}
			continue
		}
		heartbeatDue = false
		t.countOut(b)
		if err := fw.writeBatch(b); err != nil {
			interrupted = true
			return
		}
		if b.Final {
			return // Done restarts the disconnect delay: the response is over
		}
		if heartbeat != nil {
			heartbeat.Reset(t.cfg.Heartbeat)
		}
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
// and streaming responses are flushed frame by frame. It holds no buffer
// between writes (a streaming response may idle for hours); scratch space
// is borrowed from a pool for each write.
type frameWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	timeout  time.Duration
	kind     *receiverKind
	callback string
}

func newFrameWriter(w http.ResponseWriter, timeout time.Duration, kind *receiverKind, callback string) *frameWriter {
	return &frameWriter{w: w, rc: http.NewResponseController(w), timeout: timeout, kind: kind, callback: callback}
}

func (fw *frameWriter) writePrelude() error {
	out := getScratch()
	defer putScratch(out)
	*out = fw.kind.prelude((*out)[:0], fw.callback)
	return fw.write(*out)
}

// writeBatch writes the frame b carries in the transport's envelope.
func (fw *frameWriter) writeBatch(b *session.Batch) error {
	frame, out := getScratch(), getScratch()
	defer putScratch(frame)
	defer putScratch(out)
	*frame = session.AppendBatch((*frame)[:0], b)
	*out = fw.kind.envelope((*out)[:0], fw.callback, *frame)
	return fw.write(*out)
}

func (fw *frameWriter) write(p []byte) error {
	// ErrNotSupported (a ResponseWriter without deadlines) is fine.
	_ = fw.rc.SetWriteDeadline(time.Now().Add(fw.timeout))
	if _, err := fw.w.Write(p); err != nil {
		return err
	}
	if fw.kind.streaming {
		return fw.rc.Flush()
	}
	return nil
}

// batches lends Batches to HTTP receivers; putBatch drops the messages
// (so that a pooled batch keeps no string alive) and an array grown past
// maxPooledBatch.
var batches = sync.Pool{New: func() any { return new(session.Batch) }}

const maxPooledBatch = 1024

func putBatch(b *session.Batch) {
	if cap(b.Messages) <= maxPooledBatch {
		b.Reset()
		batches.Put(b)
	}
}

// scratch lends byte slices for building frames. Slices that grew past
// maxPooledScratch (a huge message) are left to the garbage collector
// rather than kept.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooledScratch = 64 << 10

func getScratch() *[]byte { return scratch.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooledScratch {
		scratch.Put(b)
	}
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
