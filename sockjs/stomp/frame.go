package stomp

// Frame is one STOMP frame: a command, its headers in the order they came,
// and a body. Bodies are text: SockJS carries strings, so a body must be
// valid UTF-8 to reach a client unchanged.
type Frame struct {
	Command string
	Headers []Header
	Body    string
}

// Header is one header line of a frame, unescaped.
type Header struct {
	Name, Value string
}

// Get returns the value of the first header called name, or "". When a
// header is repeated the first one counts, as STOMP 1.2 says.
func (f *Frame) Get(name string) string {
	v, _ := f.Lookup(name)
	return v
}

// Lookup returns the value of the first header called name, and whether
// there is one.
func (f *Frame) Lookup(name string) (string, bool) {
	for _, h := range f.Headers {
		if h.Name == name {
			return h.Value, true
		}
	}
	return "", false
}

// Commands of STOMP 1.2, client frames then server frames.
const (
	cmdConnect     = "CONNECT"
	cmdStomp       = "STOMP"
	cmdSend        = "SEND"
	cmdSubscribe   = "SUBSCRIBE"
	cmdUnsubscribe = "UNSUBSCRIBE"
	cmdAck         = "ACK"
	cmdNack        = "NACK"
	cmdBegin       = "BEGIN"
	cmdCommit      = "COMMIT"
	cmdAbort       = "ABORT"
	cmdDisconnect  = "DISCONNECT"

	cmdConnected = "CONNECTED"
	cmdMessage   = "MESSAGE"
	cmdReceipt   = "RECEIPT"
	cmdError     = "ERROR"
)

// version is a STOMP protocol version; it decides how header values are
// escaped.
type version uint8

const (
	v10 version = iota // no escaping
	v11                // \\ \n \c
	v12                // \\ \n \c \r
)

func (v version) String() string {
	switch v {
	case v11:
		return "1.1"
	case v12:
		return "1.2"
	}
	return "1.0"
}

// escapes reports whether frames with command cmd have escaped headers in
// version v. CONNECT, STOMP and CONNECTED never do: they are read before
// the version is known, and 1.0 had no escaping.
func (v version) escapes(cmd string) bool {
	if v == v10 {
		return false
	}
	switch cmd {
	case cmdConnect, cmdStomp, cmdConnected:
		return false
	}
	return true
}
