package ws

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// Reading is ours rather than gorilla's for memory: a reader blocked on an
// idle connection with a buffered reader holds its buffer for the
// connection's whole life. Where the connection has a file descriptor the
// reader waits for it to become readable holding nothing, and borrows a
// buffer from a pool only for the bytes that have arrived.

// frameReader reads the frames a client sends (RFC 6455 §5) and puts its
// messages together. It is used by one goroutine.
type frameReader struct {
	conn net.Conn
	// raw is the connection's descriptor, where it has one (TCP, Unix
	// sockets, under Passthrough wrappers or none; not TLS). With it the read buffer is pooled: borrowed when
	// bytes arrive, returned once they are all parsed. Without it the
	// buffer is the reader's own, a small one.
	raw     syscall.RawConn
	readRaw func(fd uintptr) bool // r.fillRaw, made once
	rawErr  error                 // what readRaw met

	buf  *[]byte // buf[r:w] has arrived and is not parsed yet
	r, w int

	limit   int64
	control func(op byte, payload []byte) error

	// textOnly: a binary message fails the connection with 1003.
	textOnly bool

	// A message too big for one read of the buffer, or in several
	// frames, is put together in msg. msgOp is its opcode; 0 when no
	// message is in progress. checked counts the bytes of a text message
	// found to be whole, valid UTF-8 sequences so far: text is checked as
	// it arrives, so that invalid UTF-8 fails a message at once.
	msg     []byte
	msgOp   byte
	checked int

	err error // once reading failed, it fails for good
}

const (
	pooledReadBufferSize = 4096 // borrowed only while bytes wait to be parsed
	ownReadBufferSize    = 512  // held for life: small
)

var readBuffers = sync.Pool{New: func() any { b := make([]byte, pooledReadBufferSize); return &b }}

func (r *frameReader) init(conn net.Conn, limit int64, control func(byte, []byte) error) {
	r.conn, r.limit, r.control = conn, limit, control
	if sc := descriptorConn(conn); sc != nil && rawReadSupported {
		if raw, err := sc.SyscallConn(); err == nil {
			r.raw = raw
			r.readRaw = r.fillRaw
			return
		}
	}
	b := make([]byte, ownReadBufferSize)
	r.buf = &b
}

// Passthrough is implemented by a net.Conn wrapper whose reads, from the
// time a websocket handshake is answered, are those of the connection
// PassthroughConn returns: its Read hands on that connection's bytes
// unchanged and holds none back. The websocket reader then reads the
// connection under it as it would that one alone, through its descriptor
// when it is the net package's, holding no buffer while idle.
//
// A connection that transforms or buffers what it reads must not implement
// it: a TLS connection (whose NetConn carries records), a reader with a
// read-ahead buffer, one that strips a PROXY protocol header still unread.
// Having NetConn, as tls.Conn does, says nothing of the kind.
type Passthrough interface {
	PassthroughConn() net.Conn
}

// maxPassthrough bounds the wrappers unwrapped, against a cycle.
const maxPassthrough = 8

// descriptorConn is the connection whose descriptor may be read in place
// of conn: conn itself if it is one of the net package's own, or the one
// under Passthrough wrappers. Any other wrapper of one, even one that
// embeds it and so has SyscallConn too, is read through its Read, which
// reading the descriptor would bypass.
func descriptorConn(conn net.Conn) syscall.Conn {
	for range maxPassthrough {
		switch c := conn.(type) {
		case *net.TCPConn:
			return c
		case *net.UnixConn:
			return c
		case Passthrough:
			conn = c.PassthroughConn()
		default:
			return nil
		}
	}
	return nil
}

// next returns the next text or binary message, after handling the control
// frames before it.
func (r *frameReader) next() ([]byte, error) {
	for {
		if err := r.need(2); err != nil {
			return nil, err
		}
		b := (*r.buf)[r.r:r.w]
		// Checked before waiting for the rest of the header, whose length
		// assumes a mask.
		switch {
		case b[0]&0x70 != 0:
			return nil, protocolError(closecode.ProtocolError, "Reserved bits set")
		case b[1]&0x80 == 0:
			return nil, protocolError(closecode.ProtocolError, "Unmasked frame from the client")
		}
		head := 2 + 4 // a client's frames are masked
		switch b[1] & 0x7f {
		case 126:
			head += 2
		case 127:
			head += 8
		}
		if err := r.need(head); err != nil {
			return nil, err
		}
		b = (*r.buf)[r.r:r.w]
		fin, op := b[0]&0x80 != 0, b[0]&0x0f
		length := int64(b[1] & 0x7f)
		switch length {
		case 126:
			length = int64(binary.BigEndian.Uint16(b[2:]))
		case 127:
			u := binary.BigEndian.Uint64(b[2:])
			if u>>63 != 0 { // the most significant bit must be 0
				return nil, protocolError(closecode.ProtocolError, "Bad frame length")
			}
			length = int64(u)
		}
		var key [4]byte
		copy(key[:], b[head-4:head])
		r.r += head

		if op >= opClose {
			switch {
			case op > opPong:
				return nil, protocolError(closecode.ProtocolError, "Unknown opcode")
			case !fin || length > maxControlPayload:
				return nil, protocolError(closecode.ProtocolError, "Bad control frame")
			}
			if err := r.need(int(length)); err != nil {
				return nil, err
			}
			payload := (*r.buf)[r.r : r.r+int(length)]
			maskBytes(key, 0, payload)
			r.r += int(length)
			if err := r.control(op, payload); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case op != opContinuation && op != opText && op != opBinary:
			return nil, protocolError(closecode.ProtocolError, "Unknown opcode")
		case op == opContinuation && r.msgOp == 0:
			return nil, protocolError(closecode.ProtocolError, "Continuation without a message")
		case op != opContinuation && r.msgOp != 0:
			return nil, protocolError(closecode.ProtocolError, "New message inside a fragmented one")
		case op == opBinary && r.textOnly:
			return nil, protocolError(closecode.UnsupportedData, "Binary messages are not accepted")
		case length > r.limit-int64(len(r.msg)): // not len+length: that can overflow
			return nil, protocolError(closecode.TooBig, "Message too big")
		}
		if op != opContinuation {
			r.msgOp, r.checked = op, 0
		}
		// The common case: a whole message in one frame that fits in the
		// buffer is unmasked where it lies.
		if fin && r.msg == nil && length <= int64(len(*r.buf)) {
			msg, err := r.inBuffer(key, int(length))
			if err != nil {
				return nil, err
			}
			return r.finish(msg)
		}
		if err := r.appendPayload(key, length); err != nil {
			return nil, err
		}
		if fin {
			msg := r.msg
			r.msg = nil // the caller owns it; an idle reader keeps no message buffer
			return r.finish(msg)
		}
	}
}

// finish ends the message in progress: a text message must not end
// inside a UTF-8 sequence.
func (r *frameReader) finish(msg []byte) ([]byte, error) {
	op := r.msgOp
	r.msgOp = 0
	if op == opText && r.checked != len(msg) {
		return nil, errInvalidUTF8
	}
	return msg, nil
}

var errInvalidUTF8 = protocolError(closecode.InvalidPayload, "Invalid UTF-8 in text message")

// checkText checks msg, the text message so far, for UTF-8 from
// r.checked on. An incomplete sequence at its end may still be completed
// by what follows, and is left to the next look.
func (r *frameReader) checkText(msg []byte) error {
	rest := msg[r.checked:]
	n := len(rest)
	for i := n - 1; i >= 0 && i >= n-3; i-- {
		if rest[i]&0xC0 != 0x80 { // where the last sequence starts
			if !utf8.FullRune(rest[i:]) { // a valid start, not complete yet
				n = i
			}
			break
		}
	}
	if !utf8.Valid(rest[:n]) {
		return errInvalidUTF8
	}
	r.checked += n
	return nil
}

// inBuffer waits for the n payload bytes of a frame that fits in the
// buffer, unmasking them where they lie as they arrive (and checking a
// text message's).
func (r *frameReader) inBuffer(key [4]byte, n int) ([]byte, error) {
	text := r.msgOp == opText
	for done := 0; ; { // payload bytes unmasked so far, at r.r
		if avail := min(r.w-r.r, n); avail > done {
			p := (*r.buf)[r.r : r.r+avail]
			maskBytes(key, done, p[done:])
			done = avail
			if text {
				if err := r.checkText(p); err != nil {
					return nil, err
				}
			}
		}
		if done == n {
			msg := (*r.buf)[r.r : r.r+n]
			r.r += n
			return msg, nil
		}
		if len(*r.buf)-r.r < n { // no room after r.r: move what is left to the front
			r.w = copy(*r.buf, (*r.buf)[r.r:r.w])
			r.r = 0
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// appendPayload reads a frame's payload, piece by piece, onto r.msg,
// checking a text message's as it arrives.
func (r *frameReader) appendPayload(key [4]byte, length int64) error {
	text := r.msgOp == opText
	if r.msg == nil {
		// Sized by what has arrived, not by the length the client
		// announces: a client that announces much and sends little
		// must not make the reader hold much.
		r.msg = make([]byte, 0, min(length, int64(max(r.w-r.r, 512))))
	}
	for pos := int64(0); pos < length; {
		if r.r == r.w {
			if err := r.fill(); err != nil {
				return err
			}
		}
		chunk := (*r.buf)[r.r:min(int64(r.w), int64(r.r)+length-pos)]
		r.r += len(chunk)
		start := len(r.msg)
		r.msg = append(r.msg, chunk...)
		maskBytes(key, int(pos&3), r.msg[start:])
		pos += int64(len(chunk))
		if text {
			if err := r.checkText(r.msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// need makes sure n bytes (n no more than the buffer holds) are buffered
// after r.r.
func (r *frameReader) need(n int) error {
	for r.w-r.r < n {
		if r.buf != nil && len(*r.buf)-r.r < n { // no room after r.r: move what is left to the front
			r.w = copy(*r.buf, (*r.buf)[r.r:r.w])
			r.r = 0
		}
		if err := r.fill(); err != nil {
			return err
		}
	}
	return nil
}

// fill reads more bytes after r.w, at least one.
func (r *frameReader) fill() error {
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	if r.raw == nil {
		n, err := r.conn.Read((*r.buf)[r.w:])
		r.w += n
		if n > 0 {
			return nil
		}
		return err
	}
	// fillRaw borrows a buffer if it has none; the wait for bytes to
	// arrive happens holding none, unless part of a frame is in it.
	r.rawErr = nil
	if err := r.raw.Read(r.readRaw); err != nil {
		return err
	}
	return r.rawErr
}

// fillRaw is the function the raw connection calls: it reads what has
// arrived, and reports false (wait, then call again) when nothing has.
func (r *frameReader) fillRaw(fd uintptr) bool {
	if r.buf == nil {
		r.buf = readBuffers.Get().(*[]byte)
	}
	n, wouldBlock, err := readFD(fd, (*r.buf)[r.w:])
	switch {
	case wouldBlock:
		if r.r == r.w {
			r.release()
		}
		return false
	case err != nil:
		r.rawErr = err
	case n == 0:
		r.rawErr = io.EOF // the peer closed its end
	default:
		r.w += n
	}
	return true
}

// release gives the pooled buffer back; only ever one with nothing unparsed.
func (r *frameReader) release() {
	if r.raw != nil && r.buf != nil {
		readBuffers.Put(r.buf)
		r.buf, r.r, r.w = nil, 0, 0
	}
}

// maskBytes applies a client's masking key to b, which starts pos bytes
// into the payload (RFC 6455 §5.3). Eight bytes at a time, as the key
// repeats every four.
func maskBytes(key [4]byte, pos int, b []byte) {
	var k [8]byte
	for i := range k {
		k[i] = key[(pos+i)&3]
	}
	k64 := binary.LittleEndian.Uint64(k[:])
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= k[i]
	}
}
