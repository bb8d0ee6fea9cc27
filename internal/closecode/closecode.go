// Package closecode is the one list of the close codes sockjsd sends,
// shared by the session layer, the transports and the websocket codec.
// Package sockjs exports the ones applications see under the same names
// with a Code prefix.
//
// SockJS close frames carry these codes; a websocket close frame carries
// them too where RFC 6455 §7.4 allows (see ForWebsocket).
package closecode

const (
	// Normal: the application's handler returned, or it closed the session.
	Normal = 1000
	// GoingAway: the server is shutting down.
	GoingAway = 1001
	// Interrupted: the receiving request or connection was aborted (the
	// SockJS protocol's choice of words). RFC 6455 calls 1002 a protocol
	// error, and ProtocolError is the name used there.
	Interrupted   = 1002
	ProtocolError = 1002
	// UnsupportedData: a websocket message of a type the endpoint does not
	// accept (binary on a text-only endpoint).
	UnsupportedData = 1003
	// NoStatus is never sent: it stands for a peer's close frame that
	// carried no code.
	NoStatus = 1005
	// TimedOut: no receiving connection for the disconnect delay.
	TimedOut = 1006
	// InvalidPayload: a message that is not valid UTF-8, or not the JSON
	// array of strings the framed transports carry.
	InvalidPayload = 1007
	// SlowClient: a queue bound was passed, the client not reading what is
	// sent or the application not reading what arrives (RFC 6455's policy
	// violation).
	SlowClient = 1008
	// TooBig: an incoming message was over the limit.
	TooBig = 1009
	// InternalError: the application's handler panicked.
	InternalError = 1011
	// TryAgainLater: a websocket arrived while no new session could be
	// opened (the session cap, or a shutdown under way).
	TryAgainLater = 1013
	// AnotherReceiver: a second receiving request for an HTTP session
	// while one is still attached. SockJS only; never on a websocket.
	AnotherReceiver = 2010
)

// ForWebsocket maps a close code to one a websocket close frame may carry
// (RFC 6455 §7.4.1 and §7.4.2): codes the RFC reserves or leaves
// undefined, and SockJS-only ones such as 2010, become Normal.
func ForWebsocket(code int) int {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011,
		code == TryAgainLater, code >= 3000 && code <= 4999:
		return code
	}
	return Normal
}
