package transports

import "bytes"

// xhr-polling, xhr-streaming and xhr_send: frames end with "\n", the
// delimiter sockjs-client splits on. IE 8/9's XDomainRequest uses the same
// URLs with no cookies, no custom headers and maybe no Content-Type, none of
// which these handlers need.

var xhrContentType = []string{"application/javascript; charset=UTF-8"}

var xhrPolling = receiverKind{
	name:        "xhr",
	allow:       "OPTIONS, POST",
	contentType: xhrContentType,
	envelope:    newlineEnvelope,
}

var xhrStreaming = receiverKind{
	name:        "xhr_streaming",
	allow:       "OPTIONS, POST",
	contentType: xhrContentType,
	streaming:   true,
	prelude:     xhrPrelude,
	envelope:    newlineEnvelope,
	frameCost:   len("\n"),
}

var xhrSend = senderKind{
	name:    "xhr_send",
	allow:   "OPTIONS, POST",
	payload: rawPayload,
	ok:      noContent,
}

func newlineEnvelope(dst []byte, _ string, frame []byte) []byte {
	dst = append(dst, frame...)
	return append(dst, '\n')
}

// xhrPreludeBytes is 2 KiB of 'h' and a newline: old browsers deliver
// nothing of a streaming response before its first 2 KiB.
var xhrPreludeBytes = append(bytes.Repeat([]byte{'h'}, 2048), '\n')

func xhrPrelude(dst []byte, _ string) []byte { return append(dst, xhrPreludeBytes...) }
