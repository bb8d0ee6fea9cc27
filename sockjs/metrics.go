package sockjs

import "time"

// Metrics receives counts of what a Server does, for a metrics system
// such as Prometheus (see package sockjs/prometheus). Methods are called
// from many goroutines at once, on hot paths: they must be safe for
// concurrent use and must not block.
//
// transport is the name in the session URL ("websocket", "xhr",
// "xhr_streaming", "xhr_send", ...) or "rawwebsocket".
type Metrics interface {
	// SessionOpened is called when a session opens.
	SessionOpened(transport string)
	// SessionClosed is called when a session's handler has returned, with
	// the code the session was closed with and how long it lived.
	SessionClosed(transport string, code int, lifetime time.Duration)
	// MessagesIn counts messages, and their bytes, received from clients.
	MessagesIn(transport string, count, bytes int)
	// MessagesOut counts messages, and their bytes, written to clients.
	MessagesOut(transport string, count, bytes int)
	// SlowClient counts sessions closed because their send queue was full.
	SlowClient(transport string)
	// Refused counts requests refused, by reason: "origin",
	// "session_limit", "session_binding", "body_too_large", "bad_payload",
	// "callback", "recv_queue_full", "shutting_down", "unauthorized" (a
	// session Options.Authenticate refused).
	Refused(reason string)
	// ReceiverConflict counts receivers turned away with 2010 because
	// another was attached to the session.
	ReceiverConflict(transport string)
	// Heartbeat counts heartbeat frames sent.
	Heartbeat(transport string)
}

type nopMetrics struct{}

func (nopMetrics) SessionOpened(string)                     {}
func (nopMetrics) SessionClosed(string, int, time.Duration) {}
func (nopMetrics) MessagesIn(string, int, int)              {}
func (nopMetrics) MessagesOut(string, int, int)             {}
func (nopMetrics) SlowClient(string)                        {}
func (nopMetrics) Refused(string)                           {}
func (nopMetrics) ReceiverConflict(string)                  {}
func (nopMetrics) Heartbeat(string)                         {}
