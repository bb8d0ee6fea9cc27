package transports

import (
	"mime"
	"net/http"
	"net/url"

	"github.com/sockjsd/sockjsd/session"
)

// jsonp-polling and jsonp_send: the oldest fallback, a <script> per poll
// and a form POST per send. Responses start with /**/ and carry nosniff,
// so a callback that happens to spell something else cannot make the
// response be read as another type (the Rosetta Flash attack).

var jsonpPolling = receiverKind{
	name:        "jsonp",
	allow:       "GET",
	contentType: []string{"application/javascript; charset=UTF-8"},
	callback:    true,
	envelope:    jsonpEnvelope,
}

var jsonpSend = senderKind{
	name:    "jsonp_send",
	allow:   "POST",
	payload: formPayload,
	ok:      okBody,
}

func jsonpEnvelope(dst []byte, callback string, frame []byte) []byte {
	dst = append(dst, "/**/"...)
	dst = append(dst, callback...)
	dst = append(dst, '(')
	dst = session.AppendQuotedHTML(dst, bytesToString(frame))
	return append(dst, ");\r\n"...)
}

// formPayload takes the messages from the form field d of a form-encoded
// body, or the body itself for any other content type.
func formPayload(r *http.Request, body []byte) []byte {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return body
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil // "Payload expected."
	}
	return []byte(form.Get("d"))
}

// Konqueror mishandles 204, so jsonp_send answers 200 "ok".
func okBody(w http.ResponseWriter) {
	w.Header()["Content-Type"] = textPlainHeader
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}
