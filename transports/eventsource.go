package transports

// eventsource: Server-Sent Events. Each frame is one "data:" line; '%',
// '\r', '\n' and NUL are percent-encoded because sockjs-client decodes the
// data with decodeURI (JSON framing never produces the last three, but the
// escaping does not rely on it).

var eventSource = receiverKind{
	name:        "eventsource",
	allow:       "GET",
	contentType: []string{"text/event-stream"},
	streaming:   true,
	prelude:     eventSourcePrelude,
	envelope:    eventSourceEnvelope,
	frameCost:   len(eventSourceBefore + eventSourceAfter),
}

// The prelude is a blank line: old Opera needs it.
func eventSourcePrelude(dst []byte, _ string) []byte { return append(dst, '\r', '\n') }

func eventSourceEnvelope(dst []byte, _ string, frame []byte) []byte {
	dst = append(dst, eventSourceBefore...)
	dst = appendEventSourceEscaped(dst, frame)
	return append(dst, eventSourceAfter...)
}

const (
	eventSourceBefore = "data: "
	eventSourceAfter  = "\r\n\r\n"
)

func appendEventSourceEscaped(dst, p []byte) []byte {
	start := 0
	for i, c := range p {
		switch c {
		case '%', '\r', '\n', 0:
			dst = append(dst, p[start:i]...)
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xf])
			start = i + 1
		}
	}
	return append(dst, p[start:]...)
}

const upperHex = "0123456789ABCDEF"
