package ws

import (
	"errors"
	"net"
	"sync"
)

// Guard is a websocket connection whose writes stop at the close frame: an
// endpoint must send nothing after it (browsers fail the connection with
// "Data frame received after close"), and frames come from more than one
// goroutine (the writer's, the reader's answer to a close). Every write is
// a whole frame, or the handshake.
type Guard struct {
	net.Conn
	isClose func(frame []byte) bool

	mu       sync.Mutex // held across each write, so that the check and the write are one step
	closed   bool       // a close frame has been written
	holdNext bool       // keep the next write (the handshake) back, in held
	held     []byte     // written before the next frame, in the same system call
}

// ErrCloseSent is the error of a write after the close frame.
var ErrCloseSent = errors.New("sockjs: websocket close frame already sent")

// NewGuard guards c; isClose tells the protocol's close frame (IsClose for
// RFC 6455). With holdFirst the first write, the handshake, is kept back
// and sent with the next frame in one write (writev on TCP): a system call
// and a packet fewer per connection, where a frame surely follows at once.
func NewGuard(c net.Conn, isClose func(frame []byte) bool, holdFirst bool) *Guard {
	return &Guard{Conn: c, isClose: isClose, holdNext: holdFirst}
}

func (g *Guard) Write(frame []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, ErrCloseSent
	}
	if g.holdNext {
		g.holdNext = false
		g.held = append([]byte(nil), frame...)
		return len(frame), nil
	}
	g.closed = g.isClose(frame)
	if g.held == nil {
		return g.Conn.Write(frame)
	}
	held := len(g.held)
	bufs := net.Buffers{g.held, frame} // one writev on TCP; two writes over TLS
	g.held = nil
	n, err := bufs.WriteTo(g.Conn)
	return max(0, int(n)-held), err
}
