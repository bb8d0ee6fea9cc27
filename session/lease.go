package session

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// ErrLeaseEnded is what Lease.Next returns once the lease has handed out
// its final frame or Done has been called: the receiver's response is
// over.
var ErrLeaseEnded = errors.New("sockjs: receiver lease ended")

// Mode says how a receiver's responses end. It is fixed when the receiver
// attaches; make one with Polling, Streaming or Connection.
type Mode struct {
	kind                   modeKind
	limit                  int
	frameCost, messageCost uint16
}

type modeKind uint8

const (
	polling modeKind = iota
	streaming
	connection
)

// Polling is the mode of a receiver that answers with one frame: every
// frame is final (xhr, jsonp).
func Polling() Mode { return Mode{kind: polling} }

// Streaming is the mode of a response that carries frames until they add
// up to limit bytes (xhr_streaming, eventsource, htmlfile): the frame that
// reaches the limit is final, and so is the close frame. A frame counts
// the bytes of its encoding, escaping included, plus frameCost, plus
// messageCost for each message in it: what the transport's envelope adds
// to a frame whose messages it need not escape further. (An envelope that
// escapes more, such as htmlfile's for a message's quotes, makes the
// response a little longer than limit.)
func Streaming(limit, frameCost, messageCost int) Mode {
	return Mode{kind: streaming, limit: limit,
		frameCost: uint16(min(max(frameCost, 0), math.MaxUint16)), messageCost: uint16(min(max(messageCost, 0), math.MaxUint16))}
}

// Connection is the mode of a receiver that keeps the lease for as long as
// its connection lasts (websocket): only the close frame is final.
func Connection() Mode { return Mode{kind: connection} }

// A Lease is a receiver's hold on its session: while it holds, the session
// hands its frames to this receiver and to no other. Attach fills it in;
// Next hands out frames until one is final, which releases the hold in the
// same step; Done ends the receiver's use of it, and must follow once the
// response or connection is over, whatever happened (defer it).
//
// The session decides everything under its own lock: a Lease is a handle,
// small enough to keep in every connection. Its methods are for one
// goroutine at a time (the receiver's writer, then whoever ends the
// connection after the writer has stopped). A copy is a second handle on
// the same hold; the zero Lease holds nothing, and its Next returns
// ErrLeaseEnded.
type Lease struct {
	s     *Session
	gen   uint32 // the session's leaseGen while this lease holds
	lost  bool   // the final frame carried messages: lost if its write fails
	ended bool   // Done has run
}

// Attach takes the receiver lease into l, for a receiver whose responses
// end as mode says. Only one receiver may hold it: a second gets
// ErrReceiverBusy, the only source of the 2010 close frame, and l is left
// as it was. l must hold nothing: be new, or ended by Done.
//
// l is filled in before wake can first be called, so a writer that wake
// starts finds it ready. While the lease holds, wake (which may be nil) is called, without any
// lock held, whenever there may be something new to take: a message after
// the receiver found the outbox empty, or the close. It must not block,
// and it may still be called, once or twice, just after the lease is
// released, so it must be harmless then.
//
// When the lease is held, Attach waits up to grace for its release. A
// finished response releases the lease before the client can see it end,
// so a poll that follows a poll never waits; but a client that aborts a
// request and opens another races the news of the abort, which reaches
// the server asynchronously. The grace lets the abort land first.
func (s *Session) Attach(ctx context.Context, l *Lease, mode Mode, grace time.Duration, wake func()) error {
	if l.s != nil && !l.ended {
		panic("session: Attach with a Lease still in use")
	}
	released, err := s.tryAttach(l, mode, wake)
	if err == nil || grace <= 0 {
		return err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	for {
		select {
		case <-released:
		case <-timer.C:
			_, err := s.tryAttach(l, mode, wake)
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := s.tryAttach(l, mode, wake); err == nil {
			return nil
		}
	}
}

// tryAttach takes the lease into l, or returns ErrReceiverBusy and the
// channel that signals its release.
func (s *Session) tryAttach(l *Lease, mode Mode, wake func()) (chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leased {
		return lazyChan(&s.released), ErrReceiverBusy
	}
	s.leased = true
	s.leaseGen++
	s.leaseMode = mode.kind
	s.leaseLeft = mode.limit
	s.leaseFrameCost, s.leaseMsgCost = mode.frameCost, mode.messageCost
	s.wake = wake
	s.timerGen++ // a pending disconnect timer is now stale
	if s.timer != nil {
		s.timer.Stop()
	}
	// Under mu, as is s.wake: whoever calls wake has read it under mu
	// since, so the writer it starts sees l filled in.
	*l = Lease{s: s, gen: s.leaseGen}
	return nil, nil
}

// holdsLocked reports whether l is the lease the session's receiver holds.
func (l *Lease) holdsLocked() bool { return l.s.leased && l.s.leaseGen == l.gen }

// Next fills b with the next frame for the client, or leaves b.Kind ==
// FrameNone when there is nothing to send now: the receiver then waits for
// its wake function, its heartbeat or the end of its connection. heartbeat
// asks for an "h" frame when there is nothing else to send; the session
// gives none while its heartbeat is off (see SetHeartbeat).
//
// b.Final says that the frame ends the receiver's response, as the lease's
// mode has it: the lease is then already released, in the same step that
// handed the frame out, so that a request that follows the response always
// finds it free. From then on, and after Done, Next returns ErrLeaseEnded.
func (l *Lease) Next(b *Batch, heartbeat bool) error {
	b.Reset()
	s := l.s
	if s == nil || l.ended {
		return ErrLeaseEnded
	}
	s.mu.Lock()
	if !l.holdsLocked() {
		s.mu.Unlock()
		return ErrLeaseEnded
	}
	var room chan struct{} // publishers waiting in SendContext, told after unlocking
	switch {
	case !s.openSent:
		s.openSent = true
		b.Kind = FrameOpen
	case len(s.outbox) > 0:
		b.Kind = FrameMessages
		// Swap slices: the receiver's spent array becomes the new outbox.
		b.Messages, s.outbox = s.outbox, b.Messages[:0]
		s.outboxBytes = 0
		room = s.sendRoom
	case s.state == stateClosed:
		b.Kind = FrameClose
		b.Code, b.Reason = s.code, s.reason
		b.Final = true
	case heartbeat && !s.noHeartbeat:
		b.Kind = FrameHeartbeat
	default:
		s.mu.Unlock()
		return nil
	}
	switch s.leaseMode {
	case polling:
		b.Final = true
	case streaming:
		if !b.Final { // the close frame is final whatever it counts
			cost := s.streamCostLocked(b)
			b.Final = cost >= s.leaseLeft
			s.leaseLeft -= cost
		}
	}
	if b.Final {
		l.lost = b.Kind == FrameMessages
		s.releaseLocked()
	}
	s.mu.Unlock()
	signal(room)
	return nil
}

// streamCostLocked is what an open, heartbeat or messages frame counts
// against a streaming response's limit: its length and what the envelope
// adds. Measuring the messages' escaping takes a pass over them, made for
// streaming responses only.
func (s *Session) streamCostLocked(b *Batch) int {
	if b.Kind != FrameMessages {
		return 1 + int(s.leaseFrameCost) // "o", "h"
	}
	n := 0
	for _, m := range b.Messages {
		n += escapedLen(m)
	}
	return messagesFrameLen(len(b.Messages), n) + int(s.leaseFrameCost) + len(b.Messages)*int(s.leaseMsgCost)
}

// Done ends the receiver's use of the lease. Every receiver calls it once
// its response or connection is over; later calls do nothing. interrupted
// says that the client may not have got everything handed out: the
// connection broke, or a write failed.
//
// Before the final frame, Done releases the lease, and if interrupted the
// session is closed with closecode.Interrupted (the protocol lets a server
// either do that or forget the session; closing it tells the application
// at once that its client is gone).
//
// After the final frame, the response is over, and the disconnect delay
// starts again: the lease was released when the frame was handed out, so
// that the next request finds it free, but the client cannot come back
// before the response has ended, and a large response to a slow client
// takes a while. If interrupted and the final frame carried messages,
// they are lost, and the session is closed with closecode.Interrupted.
func (l *Lease) Done(interrupted bool) {
	s := l.s
	if s == nil || l.ended {
		return
	}
	l.ended = true
	s.mu.Lock()
	open := s.state == stateOpen
	var wake func()
	closed := false
	switch {
	case l.holdsLocked():
		if interrupted && open {
			s.closeLocked(closecode.Interrupted, "Connection interrupted")
			closed = true // the receiver to wake is the one leaving
		}
		s.releaseLocked()
	case interrupted && l.lost && open:
		s.closeLocked(closecode.Interrupted, "Connection interrupted")
		closed, wake = true, s.wake // a receiver that attached since
	case !s.leased:
		s.armTimerLocked()
	}
	s.mu.Unlock()
	if closed {
		s.afterClose(wake)
	}
}

func (s *Session) releaseLocked() {
	s.leased = false
	s.wake = nil
	signal(s.released) // never blocks: capacity 1
	s.armTimerLocked()
}
