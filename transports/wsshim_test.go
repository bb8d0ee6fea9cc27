package transports

import (
	"net"

	"github.com/sockjsd/sockjsd/internal/ws"
)

// The RFC 6455 framing and the close guard live in package internal/ws,
// with their tests. These names keep the older tests of internal_test.go
// and pump_internal_test.go, which predate the move, running against the
// real code; they go when those tests move to internal/ws.

func truncateReason(s string) string { return ws.TruncateReason(s) }

func wsFrame(buf []byte, opcode int) []byte { return ws.Frame(buf, opcode) }

const (
	opText  = ws.OpText
	opClose = ws.OpClose
)

var (
	isRFC6455Close = ws.IsClose
	errCloseSent   = ws.ErrCloseSent
)

// closeGuard builds a ws.Guard from its fields at its first write.
type closeGuard struct {
	Conn     net.Conn
	isClose  func([]byte) bool
	holdNext bool
	g        *ws.Guard
}

func (c *closeGuard) Write(p []byte) (int, error) {
	if c.g == nil {
		c.g = ws.NewGuard(c.Conn, c.isClose, c.holdNext)
	}
	return c.g.Write(p)
}
