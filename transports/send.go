package transports

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
	"unsafe"

	"github.com/sockjsd/sockjsd/session"
)

// handledGrace bounds how long a send waits for the application to handle
// what it delivered before answering (see session.Session.AwaitHandled).
const handledGrace = time.Second

// senderKind describes one HTTP sending transport; the handler is shared.
type senderKind struct {
	name  string
	allow string
	// payload extracts the JSON array of messages from the body.
	payload func(r *http.Request, body []byte) []byte
	// ok answers a successful send.
	ok func(w http.ResponseWriter)
}

type sender struct {
	cfg  *Config
	kind *senderKind
}

func (t *sender) Allow() string { return t.kind.allow }

// Serve delivers the messages of one xhr_send or jsonp_send request. The
// body is read through a size limit; delivery waits for room in the
// session's bounded incoming queue, holding no lock.
func (t *sender) Serve(w http.ResponseWriter, r *http.Request, sessionID string) {
	s := t.cfg.Sessions.Lookup(r, sessionID)
	if s == nil {
		http.NotFound(w, r)
		return
	}
	if r.ContentLength > t.cfg.MaxSendBody {
		t.tooLarge(w, r)
		return
	}
	buf := getScratch() // the messages are copied out of the body
	defer putScratch(buf)
	body, err := readAll((*buf)[:0], http.MaxBytesReader(w, r.Body, t.cfg.MaxSendBody))
	*buf = body[:0]
	if err != nil {
		t.badBody(w, r, err)
		return
	}
	msgs, err := session.ParseMessages(t.kind.payload(r, body))
	if err != nil {
		t.cfg.refuse(r, "bad_payload", err)
		plainError(w, err.Error(), http.StatusInternalServerError)
		return
	}
	t.cfg.Observer.MessagesIn(t.kind.name, len(msgs), messageBytes(msgs))
	err = s.Deliver(r.Context(), msgs)
	if err == nil {
		s.AwaitHandled(r.Context(), handledGrace)
	}
	switch {
	case err == nil, errors.Is(err, session.ErrClosed):
		// A closed session drops what arrives; its receiver gets the
		// close frame, which tells the client more than an error would.
		t.kind.ok(w)
	case errors.Is(err, session.ErrRecvTimeout):
		t.cfg.refuse(r, "recv_queue_full", err)
		plainError(w, "Receive queue full.", http.StatusServiceUnavailable)
	}
	// Any other error: the client went away while we waited.
}

// badBody answers a body that could not be read. A handler that wrote
// nothing would answer 200, as if the messages had been delivered.
func (t *sender) badBody(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		t.tooLarge(w, r)
		return
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &netErr):
		// The client went away (or stalled) mid-body: the answer most
		// likely reaches nobody, but it must not say the send worked.
	default:
		// A chunked body whose framing is broken (a bad or overflowing
		// chunk size, a bare LF): net/http's chunked reader says so with
		// errors of its own.
		t.cfg.refuse(r, "bad_payload", err)
	}
	// Where the body ends is unknown: the connection cannot carry another
	// request.
	w.Header().Set("Connection", "close")
	plainError(w, "Broken request body.", http.StatusBadRequest)
}

func (t *sender) tooLarge(w http.ResponseWriter, r *http.Request) {
	t.cfg.refuse(r, "body_too_large", fmt.Errorf("body over %d bytes", t.cfg.MaxSendBody))
	plainError(w, "Payload too large.", http.StatusRequestEntityTooLarge)
}

// readAll is io.ReadAll appending to dst, so that a pooled buffer's room
// is used.
func readAll(dst []byte, r io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

func rawPayload(_ *http.Request, body []byte) []byte { return body }

// xhr_send answers 204 with a text/plain type: Firefox otherwise parses
// the empty answer as XML and logs an error.
func noContent(w http.ResponseWriter) {
	w.Header()["Content-Type"] = textPlainHeader
	w.WriteHeader(http.StatusNoContent)
}

// messageBytes is the size of msgs' contents, as the metrics count them.
func messageBytes(msgs []string) int {
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	return n
}

// bytesToString views b as a string without copying, for escaping a frame
// that is neither kept nor changed while the string is in use.
func bytesToString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
