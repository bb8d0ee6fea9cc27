package session

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/sockjsd/sockjsd/internal/closecode"
)

// Errors returned to callers.
var (
	ErrClosed       = errors.New("sockjs: session closed")
	ErrSlowClient   = errors.New("sockjs: send queue full")
	ErrRecvTimeout  = errors.New("sockjs: receive queue full")
	ErrReceiverBusy = errors.New("sockjs: another connection still open")
	ErrOpened       = errors.New("sockjs: session already opened")
)

// Limits bound a session's queues. Every field but SendTimeout must be
// positive.
type Limits struct {
	SendQueueBytes    int
	SendQueueMessages int
	// SendTimeout is how long SendContext waits for room in a full send
	// queue before it closes the session; zero means it does not wait.
	SendTimeout     time.Duration
	RecvQueue       int
	RecvTimeout     time.Duration
	DisconnectDelay time.Duration
}

// FrameKind says which frame a Batch carries.
type FrameKind uint8

const (
	FrameNone FrameKind = iota
	FrameOpen
	FrameHeartbeat
	FrameMessages
	FrameClose
)

// Batch is what a receiver takes from a session in one step: one frame's
// worth. Final means the receiver's lease has already been released, so
// the receiver must end its response after writing this frame.
type Batch struct {
	Kind     FrameKind
	Messages []string
	Code     int
	Reason   string
	Final    bool
}

// Reset empties b for reuse, keeping the Messages array.
func (b *Batch) Reset() {
	clear(b.Messages)
	*b = Batch{Messages: b.Messages[:0]}
}

type state uint8

const (
	stateOpen state = iota
	stateClosed
)

// Session is one SockJS session. Its methods are safe for concurrent use.
//
// Concurrency design: mu is a leaf lock guarding the fields below it; it is
// never held across I/O, a blocking channel operation, a timer callback's
// work, another lock, or application code. The receiver that holds the
// lease learns that there is something to write through the wake function
// it gave Attach, which is called without mu held; readers of the
// incoming queue learn of messages through recvReady, senders waiting
// for room in it through roomReady, and publishers waiting for room in the
// outgoing queue through sendRoom. Each notification channel has capacity
// 1 and a waiter that leaves work behind passes the notification on, so no
// wake-up is lost and none blocks.
type Session struct {
	id        string
	owner     string // the client the session is bound to (see sockjs.Options.SessionKey)
	limits    Limits
	ctx       context.Context // done when the session is closed
	cancel    context.CancelFunc
	recvReady chan struct{} // a message came in, or the session closed
	// onIdle runs (without mu held) when the session is to be forgotten:
	// it has been closed or idle for the disconnect delay. Set once
	// before the session is shared.
	onIdle func(*Session)

	mu          sync.Mutex // guards every field below; leaf lock
	state       state
	openSent    bool     // the open frame has been handed to a receiver
	noHeartbeat bool     // SetHeartbeat(false): Next hands out no "h" frame
	forgotten   bool     // expired or stopped: the disconnect timer never runs again
	outbox      []string // messages not yet handed to a receiver
	outboxBytes int
	code        int    // close code, once closed
	reason      string // close reason, once closed
	// The receiver lease (lease.go). One receiver holds it at a time, so
	// its mode and budget live here rather than in every receiver's Lease.
	leaseGen       uint32   // the holder's Lease.gen; counts attaches
	leased         bool     // a receiver holds the lease
	leaseMode      modeKind // how the holder's responses end
	leaseFrameCost uint16   // Streaming: what the envelope adds to a frame
	leaseMsgCost   uint16   // Streaming: and to each message in it
	leaseLeft      int      // Streaming: what the response's frames may still count
	wake           func()   // the holder's: there is something new to take
	// Channels only some sessions ever wait on, made by the first waiter
	// (see lazyChan); signal on a nil one does nothing.
	roomReady   chan struct{} // room in the incoming queue
	sendRoom    chan struct{} // a receiver emptied the outgoing queue (see SendContext)
	released    chan struct{} // the receiver lease was released
	handled     chan struct{} // the application is waiting in Recv (see AwaitHandled)
	timerGen    uint64        // invalidates stale disconnect timers
	timer       *time.Timer
	inbox       []string     // messages not yet read by the application
	inboxHead   int          // inbox[:inboxHead] are already read
	recvWaiting int          // Recv calls blocked for want of a message
	onClose     []*closeHook // AfterClose's, run once the session closes
}

// closeHook is one AfterClose call's function.
type closeHook struct{ f func() }

// New returns an open session bound to owner. onIdle, which may be nil, is called once
// the session has been without a receiver for limits.DisconnectDelay (after
// closing it if it was still open); websocket sessions, whose receiver
// never detaches before the end, pass nil.
func New(id, owner string, limits Limits, onIdle func(*Session)) *Session {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		id:        id,
		owner:     owner,
		limits:    limits,
		ctx:       ctx,
		cancel:    cancel,
		recvReady: make(chan struct{}, 1),
		onIdle:    onIdle,
	}
	// A session starts without a receiver: if none ever attaches (the
	// request that opened it failed first), the disconnect delay ends it.
	s.mu.Lock()
	s.armTimerLocked()
	s.mu.Unlock()
	return s
}

// ID returns the session id the client chose.
func (s *Session) ID() string { return s.id }

// Owner returns the key of the client the session is bound to.
func (s *Session) Owner() string { return s.owner }

// Context is done once the session is closed.
func (s *Session) Context() context.Context { return s.ctx }

// AfterClose arranges for f to run on a goroutine of its own once the
// session is closed, at once if it is already; stop cancels that and
// reports whether it did, as context.AfterFunc on Context does. It
// exists because it is cheaper: about 100 bytes per call where
// context.AfterFunc makes a context of its own and a child map in the
// parent (about 500), which a hub pays for every session it knows.
func (s *Session) AfterClose(f func()) (stop func() bool) {
	h := &closeHook{f: f}
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	s.onClose = append(s.onClose, h)
	s.mu.Unlock()
	return func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		i := slices.Index(s.onClose, h)
		if i < 0 {
			return false // ran, or is running
		}
		s.onClose = slices.Delete(s.onClose, i, i+1)
		return true
	}
}

// lazyChan returns *c, making it first if need be. Called with mu held, in
// the same critical section as the check that decides to wait on it, so a
// signaller, which reads the field under mu after changing what was
// checked, cannot miss the waiter.
func lazyChan(c *chan struct{}) chan struct{} {
	if *c == nil {
		*c = make(chan struct{}, 1)
	}
	return *c
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// SetHeartbeat turns the session's heartbeat frames on or off; they are
// on from the start. Off, Lease.Next hands out no "h" frame even when the
// receiver asks for one, on every transport: for an application that keeps
// the connection busy itself (STOMP heart-beats), for which the frames are
// waste. A receiver that has nothing to send then waits for a message or
// the close; a polling response lasts until one comes, so an application
// that turns the heartbeat off sends something at least as often itself.
// Turned back on, a waiting receiver is woken, so that a heartbeat that
// came due meanwhile goes out at once rather than after the next message.
func (s *Session) SetHeartbeat(enabled bool) {
	s.mu.Lock()
	was := !s.noHeartbeat
	s.noHeartbeat = !enabled
	wake := s.wake
	s.mu.Unlock()
	if enabled && !was && wake != nil {
		wake()
	}
}

// CloseStatus reports the close code and reason, and whether the session
// is closed.
func (s *Session) CloseStatus() (code int, reason string, closed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.reason, s.state == stateClosed
}

// Send queues msg for the client. It never blocks. Past a queue bound it
// closes the session with closecode.SlowClient and returns ErrSlowClient.
func (s *Session) Send(msg string) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	if !s.fitsLocked(msg) {
		s.slowClientLocked() // unlocks
		return ErrSlowClient
	}
	s.queueLocked(msg) // unlocks
	return nil
}

// SendContext queues msg as Send does, but when the send queue is full it
// waits, holding no lock, for a receiver to take the queue, for ctx, or for
// the session's end. If msg finds no room within Limits.SendTimeout, the
// session is closed with closecode.SlowClient and ErrSlowClient returned;
// a message larger than the whole queue can never fit and does that at
// once. When ctx ends first, msg is not queued and ctx.Err() is returned;
// when the session ends first, ErrClosed. Any number of goroutines may
// wait at once; each is woken in turn as room comes.
func (s *Session) SendContext(ctx context.Context, msg string) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.state != stateOpen {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.fitsLocked(msg) {
			s.queueAfterWaitLocked(msg, timer != nil) // unlocks
			return nil
		}
		if len(msg) > s.limits.SendQueueBytes || s.limits.SendTimeout <= 0 {
			s.slowClientLocked() // unlocks
			return ErrSlowClient
		}
		room := lazyChan(&s.sendRoom)
		s.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(s.limits.SendTimeout)
		}
		select {
		case <-room:
		case <-s.ctx.Done():
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			s.mu.Lock()
			switch {
			case s.state != stateOpen:
				s.mu.Unlock()
				return ErrClosed
			case s.fitsLocked(msg): // room came as the time ran out
				s.queueAfterWaitLocked(msg, true) // unlocks
				return nil
			}
			s.slowClientLocked() // unlocks
			return ErrSlowClient
		}
	}
}

// fitsLocked reports whether msg fits in the send queue.
func (s *Session) fitsLocked(msg string) bool {
	return len(s.outbox) < s.limits.SendQueueMessages && s.outboxBytes+len(msg) <= s.limits.SendQueueBytes
}

// queueAfterWaitLocked queues msg for SendContext and unlocks mu. A
// publisher that waited passes the news of room on to the next one
// waiting, if room is left after msg: each signal wakes one waiter.
func (s *Session) queueAfterWaitLocked(msg string, waited bool) {
	var room chan struct{}
	if waited && len(s.outbox)+1 < s.limits.SendQueueMessages && s.outboxBytes+len(msg) < s.limits.SendQueueBytes {
		room = s.sendRoom
	}
	s.queueLocked(msg)
	signal(room)
}

// queueLocked appends msg to the send queue, unlocks mu and wakes the
// receiver if msg is the first of a batch: the receiver takes the whole
// queue at once, so later messages need no wake-up of their own.
func (s *Session) queueLocked(msg string) {
	s.outbox = append(s.outbox, msg)
	s.outboxBytes += len(msg)
	wake := s.wake
	first := len(s.outbox) == 1
	s.mu.Unlock()
	if first && wake != nil {
		wake()
	}
}

// slowClientLocked closes the open session for a full send queue and
// unlocks mu.
func (s *Session) slowClientLocked() {
	s.closeLocked(closecode.SlowClient, "Send queue full")
	wake := s.wake
	s.mu.Unlock()
	s.afterClose(wake)
}

// Refuse closes a session whose open frame has not been handed out, so
// that the first and only frame its receivers get is the close frame with
// code and reason: the client is turned away (sockjs-client takes a first
// frame c[code,reason] as the close) without the session ever opening.
// Anything already queued is dropped. It returns ErrOpened once the open
// frame has gone to a receiver (use Close then) and ErrClosed if the
// session is closed already.
func (s *Session) Refuse(code int, reason string) error {
	s.mu.Lock()
	switch {
	case s.state != stateOpen:
		s.mu.Unlock()
		return ErrClosed
	case s.openSent:
		s.mu.Unlock()
		return ErrOpened
	}
	s.openSent = true // no open frame: the close frame comes first
	clear(s.outbox)
	s.outbox, s.outboxBytes = s.outbox[:0], 0
	s.closeLocked(code, reason)
	wake := s.wake
	s.mu.Unlock()
	s.afterClose(wake)
	return nil
}

// Close closes the session with code and reason. Messages already queued
// are still delivered, followed by the close frame. Closing a closed
// session returns ErrClosed and changes nothing.
func (s *Session) Close(code int, reason string) error {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closeLocked(code, reason)
	wake := s.wake
	s.mu.Unlock()
	s.afterClose(wake)
	return nil
}

func (s *Session) closeLocked(code int, reason string) {
	s.state = stateClosed
	s.code, s.reason = code, reason
	// Incoming messages already queued stay for Recv: a client's last
	// message before it closed is still delivered.
	if !s.leased {
		s.armTimerLocked()
	}
}

// afterClose does, without mu held, what follows a close; wake is the
// receiver's, read under mu when the session closed.
func (s *Session) afterClose(wake func()) {
	s.cancel() // wakes Deliver and AwaitHandled
	s.mu.Lock()
	hooks := s.onClose
	s.onClose = nil
	s.mu.Unlock()
	for _, h := range hooks {
		go h.f()
	}
	if wake != nil {
		wake()
	}
	signal(s.recvReady)
}

// armTimerLocked starts the disconnect delay. The generation number makes
// a timer that fires after a later Attach do nothing.
func (s *Session) armTimerLocked() {
	if s.onIdle == nil || s.forgotten {
		return
	}
	s.timerGen++
	gen := s.timerGen
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(s.limits.DisconnectDelay, func() { s.expire(gen) })
}

func (s *Session) expire(gen uint64) {
	s.mu.Lock()
	if gen != s.timerGen || s.leased {
		s.mu.Unlock()
		return
	}
	wasOpen := s.state == stateOpen
	if wasOpen {
		s.closeLocked(closecode.TimedOut, "Session timed out")
	}
	s.forgotten = true // onIdle runs once
	s.timerGen++
	s.mu.Unlock()
	if wasOpen {
		s.afterClose(nil) // expiry means nobody is attached
	}
	s.onIdle(s)
}

// Stop cancels the disconnect timer for good; the registry calls it when
// it forgets the session early (server shutdown).
func (s *Session) Stop() {
	s.mu.Lock()
	s.forgotten = true
	s.timerGen++
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
}

// Deliver queues incoming messages for Recv, in order. When the queue is
// full it waits, without any lock, for room, for ctx, or for the session's
// end; if no room comes within the receive timeout, the session is closed
// with closecode.SlowClient and ErrRecvTimeout returned. Messages for a closed
// session are dropped with ErrClosed.
func (s *Session) Deliver(ctx context.Context, msgs []string) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for len(msgs) > 0 {
		s.mu.Lock()
		if s.state != stateOpen {
			s.mu.Unlock()
			return ErrClosed
		}
		n := min(s.limits.RecvQueue-(len(s.inbox)-s.inboxHead), len(msgs))
		if n > 0 {
			s.inbox = append(s.inbox, msgs[:n]...)
			msgs = msgs[n:]
			var room chan struct{}
			if len(s.inbox)-s.inboxHead < s.limits.RecvQueue {
				room = s.roomReady // pass it on to another waiting sender
			}
			s.mu.Unlock()
			signal(s.recvReady)
			signal(room)
			continue
		}
		roomReady := lazyChan(&s.roomReady)
		s.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(s.limits.RecvTimeout)
		}
		select {
		case <-roomReady:
		case <-s.ctx.Done():
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			s.mu.Lock()
			if s.state == stateOpen {
				s.closeLocked(closecode.SlowClient, "Receive queue full")
			}
			wake := s.wake
			s.mu.Unlock()
			s.afterClose(wake)
			return ErrRecvTimeout
		}
	}
	return nil
}

// Recv returns the next incoming message, waiting for one. Once the
// session is closed and the messages that arrived before are read, it
// returns ErrClosed.
func (s *Session) Recv(ctx context.Context) (string, error) {
	for {
		s.mu.Lock()
		if s.inboxHead < len(s.inbox) {
			msg := s.inbox[s.inboxHead]
			s.inbox[s.inboxHead] = ""
			s.inboxHead++
			more := s.inboxHead < len(s.inbox)
			if !more {
				// Reuse the array from the start.
				s.inbox, s.inboxHead = s.inbox[:0], 0
			}
			room := s.roomReady
			closed := s.state != stateOpen
			s.mu.Unlock()
			signal(room)
			if more || closed {
				// Pass it on to another reader: the close's own signal may
				// have been lost to the one this reader consumed.
				signal(s.recvReady)
			}
			return msg, nil
		}
		if s.state != stateOpen {
			s.mu.Unlock()
			signal(s.recvReady) // pass the close on to another waiting reader
			return "", ErrClosed
		}
		s.recvWaiting++
		handled := s.handled
		s.mu.Unlock()
		signal(handled)
		var err error
		// The close signals recvReady too. When ctx is the session's own
		// (the usual case) or never ends, a plain receive is all it takes:
		// a parked reader then holds one wait record instead of three.
		if ctx == s.ctx || ctx.Done() == nil {
			<-s.recvReady
		} else {
			select {
			case <-s.recvReady:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		s.mu.Lock()
		s.recvWaiting--
		s.mu.Unlock()
		if err != nil {
			return "", err
		}
	}
}

// AwaitHandled waits, at most grace, until the application has read every
// queued incoming message and is back in Recv asking for more, or the
// session is closed, or ctx is done.
//
// The HTTP senders call it before answering, so that an application that
// replies from its Recv loop has queued its replies by the time the client
// learns its messages arrived: a poll that follows sees them, as the
// protocol suite expects and as in servers that run the application inside
// the request. It also keeps a client from sending faster than the
// application reads.
func (s *Session) AwaitHandled(ctx context.Context, grace time.Duration) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		done := s.state != stateOpen || s.inboxHead == len(s.inbox) && s.recvWaiting > 0
		handled := lazyChan(&s.handled)
		s.mu.Unlock()
		if done {
			signal(handled) // pass it on to another waiting sender
			return
		}
		if timer == nil {
			timer = time.NewTimer(grace)
		}
		select {
		case <-handled:
		case <-s.ctx.Done():
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}
