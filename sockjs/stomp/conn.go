package stomp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sockjsd/sockjsd/sockjs"
)

// Limits of one session, beyond MaxFrameSize.
const (
	maxSubscriptions = 1024 // open at once
	maxTransactions  = 16   // open at once
	txBytesPerFrame  = 16   // open transactions hold at most this many MaxFrameSize of frames
)

// Custom headers of resumable subscriptions.
const (
	hdrOffset    = "x-offset"    // MESSAGE: the message's offset; SUBSCRIBE: the last seen
	hdrEpoch     = "x-epoch"     // MESSAGE: the stream's epoch; SUBSCRIBE: the last seen
	hdrRecovered = "x-recovered" // RECEIPT of a resuming SUBSCRIBE: whether nothing was lost
)

type ackMode uint8

const (
	ackAuto ackMode = iota
	ackClient
	ackIndividual
)

// conn is the STOMP side of one SockJS session. Its fields are owned by
// the session's handler goroutine (the one running serve), except those
// marked otherwise; deliveries from engines run on other goroutines and
// read only what was set before the subscription began.
type conn struct {
	srv *Server
	s   *sockjs.Session
	pub *Session
	dec decoder
	hb  *heartbeat // set at CONNECT

	connected bool
	version   version
	user      string
	done      bool // DISCONNECT seen

	txs     map[string]*transaction
	txBytes int

	receiptHeaders []Header // extra headers for the RECEIPT of the frame being handled

	mu      sync.Mutex // guards subs and nextIdx; leaf lock
	subs    map[string]*subscription
	nextIdx uint64
}

type transaction struct {
	frames []Frame
	size   int // bytes of frames, counted in conn.txBytes
}

// subscription is one SUBSCRIBE of a session.
type subscription struct {
	c    *conn
	id   string // the client's
	idx  uint64 // ours: the first half of message and ack ids
	dest string // as the client wrote it
	ack  ackMode
	seq  atomic.Uint64 // numbers topic messages, the second half of their ids

	// One of these, set before the subscription is visible to ACKs.
	topic    TopicSubscription
	consumer QueueConsumer
	local    bool // a /user/ destination of an anonymous session: only Reply reaches it
}

// serve is the sockjs.HandlerFunc of the endpoint.
func (s *Server) serve(ss *sockjs.Session) {
	c := &conn{
		srv:  s,
		s:    ss,
		dec:  decoder{max: s.opts.MaxFrameSize},
		subs: map[string]*subscription{},
	}
	c.pub = &Session{c}
	c.hb = newHeartbeat(0, 0, nil, nil)
	defer c.cleanup()
	c.loop()
}

func (c *conn) loop() {
	ctx := c.s.Context()
	for !c.done {
		msg, err := c.s.Recv(ctx)
		if err != nil {
			return
		}
		c.hb.received()
		c.dec.feed(msg)
		for !c.done {
			f, ok, err := c.dec.next()
			if err != nil {
				c.fail(err, nil)
				return
			}
			if !ok {
				break
			}
			c.hb.busy.Store(true)
			err = c.handle(&f)
			c.hb.busy.Store(false)
			c.hb.received()
			if err != nil {
				c.fail(err, &f)
				return
			}
		}
	}
}

// cleanup ends what the session holds: its heart-beats, its
// subscriptions (unacked queue messages go to other consumers), its
// transactions.
func (c *conn) cleanup() {
	c.hb.stop()
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for _, sub := range subs {
		sub.end(context.Background())
	}
	c.txs = nil
}

// fault is an error that ends the session with an ERROR frame and a
// close code.
type fault struct {
	msg     string
	code    int
	headers []Header // extra headers of the ERROR frame
}

func (f *fault) Error() string { return "stomp: " + f.msg }

// fail sends the ERROR frame for err, caused by frame f (nil when the
// frame could not be read), and closes the session.
func (c *conn) fail(err error, f *Frame) {
	if c.s.Context().Err() != nil {
		return // the session ended while the frame was handled: nobody to tell
	}
	var ft *fault
	var e *Error
	switch {
	case errors.As(err, &ft):
	case errors.As(err, &e):
		ft = &fault{msg: e.Message, code: CodeProtocolError}
	default:
		c.srv.opts.Logger.Error("stomp: internal error", "session", c.s.ID(), "error", err)
		ft = &fault{msg: "Internal server error", code: sockjs.CodeInternalError}
	}
	ef := Frame{Command: cmdError, Headers: append([]Header{{"message", ft.msg}}, ft.headers...)}
	if f != nil {
		if r, ok := f.Lookup("receipt"); ok && f.Command != cmdConnect && f.Command != cmdStomp {
			ef.Headers = append(ef.Headers, Header{"receipt-id", r})
		}
	}
	ef.Headers = append(ef.Headers, Header{"content-type", "text/plain"})
	ef.Body = ft.msg
	if f != nil {
		ef.Body += "\n\nin a " + f.Command + " frame"
	}
	c.write(&ef)
	reason := "STOMP protocol error"
	switch ft.code {
	case sockjs.CodeUnauthorized:
		reason = "Unauthorized"
	case CodeForbidden:
		reason = "Forbidden"
	case sockjs.CodeInternalError:
		reason = "Internal server error"
	}
	c.srv.opts.Logger.Info("stomp: session ended by an error", "session", c.s.ID(), "message", ft.msg)
	_ = c.s.Close(ft.code, reason)
}

func protoErr(msg string) error { return &fault{msg: msg, code: CodeProtocolError} }

// write sends one frame built on the session's goroutine.
func (c *conn) write(f *Frame) {
	buf := appendFrame(make([]byte, 0, 64+len(f.Body)), c.version, f)
	c.sendText(string(buf))
}

// sendText queues one SockJS message and notes it for heart-beats.
func (c *conn) sendText(msg string) error {
	err := c.s.Send(msg)
	c.hb.sent()
	return err
}

// handle acts on one frame.
func (c *conn) handle(f *Frame) error {
	if !c.connected {
		if f.Command == cmdConnect || f.Command == cmdStomp {
			return c.connect(f)
		}
		return protoErr("expected CONNECT or STOMP, got " + quoteCmd(f.Command))
	}
	c.receiptHeaders = c.receiptHeaders[:0]
	var err error
	switch f.Command {
	case cmdSend:
		err = c.inTransaction(f, c.send)
	case cmdSubscribe:
		err = c.subscribe(f)
	case cmdUnsubscribe:
		err = c.unsubscribe(f)
	case cmdAck:
		err = c.inTransaction(f, c.ack)
	case cmdNack:
		if c.version == v10 {
			return protoErr("NACK is not in STOMP 1.0")
		}
		err = c.inTransaction(f, c.ack)
	case cmdBegin, cmdCommit, cmdAbort:
		err = c.transact(f)
	case cmdDisconnect:
		c.done = true
	case cmdConnect, cmdStomp:
		return protoErr("already connected")
	default:
		return protoErr("unknown command " + quoteCmd(f.Command))
	}
	if err != nil {
		return err
	}
	if r, ok := f.Lookup("receipt"); ok {
		c.write(&Frame{Command: cmdReceipt, Headers: append([]Header{{"receipt-id", r}}, c.receiptHeaders...)})
	}
	return nil
}

// quoteCmd shows a command in an error message, cut short.
func quoteCmd(cmd string) string {
	if len(cmd) > 32 {
		cmd = cmd[:32] + "..."
	}
	return strconv.Quote(cmd)
}

var supported = [...]string{"1.0", "1.1", "1.2"}

// pickVersion returns the highest version in accept-version that we
// speak; an absent header means 1.0.
func pickVersion(accept string, present bool) (version, bool) {
	if !present {
		return v10, true
	}
	best, ok := v10, false
	for _, a := range strings.Split(accept, ",") {
		for i, v := range supported {
			if strings.TrimSpace(a) == v && (!ok || version(i) > best) {
				best, ok = version(i), true
			}
		}
	}
	return best, ok
}

func (c *conn) connect(f *Frame) error {
	accept, present := f.Lookup("accept-version")
	v, ok := pickVersion(accept, present)
	if !ok {
		return &fault{msg: "Supported protocol versions are 1.0 1.1 1.2", code: CodeProtocolError,
			headers: []Header{{"version", "1.0,1.1,1.2"}}}
	}
	cx, cy, ok := parseHeartBeat(f.Get("heart-beat"))
	if !ok {
		return protoErr("malformed heart-beat header " + strconv.Quote(f.Get("heart-beat")))
	}
	user := c.s.User()
	if auth := c.srv.opts.Authenticate; auth != nil {
		u, err := auth(c.s, f)
		if err != nil {
			msg := "Unauthorized"
			var e *Error
			if errors.As(err, &e) {
				msg = e.Message
			}
			return &fault{msg: msg, code: sockjs.CodeUnauthorized}
		}
		user = u
	}
	c.version, c.dec.version, c.user, c.connected = v, v, user, true

	o := &c.srv.opts
	h := []Header{{"version", v.String()}}
	var send, expect = negotiate(o.HeartbeatSend, o.HeartbeatExpect, cx, cy)
	if v >= v11 {
		h = append(h, Header{"heart-beat", strconv.FormatInt(o.HeartbeatSend.Milliseconds(), 10) + "," +
			strconv.FormatInt(o.HeartbeatExpect.Milliseconds(), 10)})
	} else {
		send, expect = 0, 0 // heart-beating came with 1.1
	}
	h = append(h, Header{"server", "sockjsd"})
	if user != "" {
		h = append(h, Header{"user-name", user})
	}
	c.write(&Frame{Command: cmdConnected, Headers: h})

	c.hb = newHeartbeat(send, expect,
		func() { _ = c.sendText("\n") },
		func() { _ = c.s.Close(sockjs.CodeTimedOut, "Heart-beat timeout") })
	c.hb.start()
	if send > 0 {
		// STOMP heart-beats keep the connection busy now: SockJS's own
		// would be waste, as Spring also finds.
		c.s.SetHeartbeat(false)
	}
	return nil
}

// inTransaction runs do for f now, or keeps f for its transaction's
// COMMIT.
func (c *conn) inTransaction(f *Frame, do func(*Frame) error) error {
	name, ok := f.Lookup("transaction")
	if !ok {
		return do(f)
	}
	tx := c.txs[name]
	if tx == nil {
		return protoErr("unknown transaction " + strconv.Quote(name))
	}
	size := len(f.Command) + len(f.Body)
	for _, h := range f.Headers {
		size += len(h.Name) + len(h.Value) + 2
	}
	if c.txBytes+size > txBytesPerFrame*c.srv.opts.MaxFrameSize {
		return protoErr("transactions too large")
	}
	c.txBytes += size
	tx.size += size
	tx.frames = append(tx.frames, *f)
	return nil
}

func (c *conn) transact(f *Frame) error {
	name, ok := f.Lookup("transaction")
	if !ok || name == "" {
		return protoErr(f.Command + " without a transaction header")
	}
	tx := c.txs[name]
	switch f.Command {
	case cmdBegin:
		if tx != nil {
			return protoErr("transaction " + strconv.Quote(name) + " already begun")
		}
		if len(c.txs) >= maxTransactions {
			return protoErr("too many transactions")
		}
		if c.txs == nil {
			c.txs = map[string]*transaction{}
		}
		c.txs[name] = &transaction{}
		return nil
	}
	if tx == nil {
		return protoErr("unknown transaction " + strconv.Quote(name))
	}
	delete(c.txs, name)
	c.txBytes -= tx.size
	if f.Command == cmdAbort {
		return nil
	}
	for i := range tx.frames {
		fr := &tx.frames[i]
		var err error
		if fr.Command == cmdSend {
			err = c.send(fr)
		} else {
			err = c.ack(fr)
		}
		c.receiptHeaders = c.receiptHeaders[:0] // COMMIT's RECEIPT is its own
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) authorize(command, dest string) error {
	az := c.srv.opts.Authorize
	if az == nil {
		return nil
	}
	if err := az(c.pub, command, dest); err != nil {
		msg := "Forbidden: " + command + " to " + dest
		var e *Error
		if errors.As(err, &e) {
			msg = e.Message
		}
		return &fault{msg: msg, code: CodeForbidden}
	}
	return nil
}

func (c *conn) send(f *Frame) error {
	dest, ok := f.Lookup("destination")
	if !ok || dest == "" {
		return protoErr("SEND without a destination")
	}
	if err := checkDestination(dest); err != nil {
		return err
	}
	if err := c.authorize(cmdSend, dest); err != nil {
		return err
	}
	o := &c.srv.opts
	if under(dest, o.AppPrefix) {
		h, params := c.srv.routes.match(dest[len(o.AppPrefix):])
		if h == nil {
			return protoErr("no handler for " + dest)
		}
		return h(&Message{Frame: *f, Destination: dest, session: c.pub, params: params})
	}
	pos, err := c.srv.publish(c.s.Context(), dest, wrap(f.Headers, f.Body))
	switch {
	case errors.Is(err, ErrTooManyQueues):
		return protoErr("too many queues")
	case errors.Is(err, ErrQueuesFull):
		return protoErr("queues full")
	case err != nil:
		return err
	}
	if pos != nil && pos.Offset > 0 {
		// The publisher learns where its message is, as subscribers do.
		c.receiptHeaders = append(c.receiptHeaders, Header{hdrOffset, strconv.FormatUint(pos.Offset, 10)}, Header{hdrEpoch, pos.Epoch})
	}
	return nil
}

func (c *conn) subscribe(f *Frame) error {
	dest, ok := f.Lookup("destination")
	if !ok || dest == "" {
		return protoErr("SUBSCRIBE without a destination")
	}
	id, ok := f.Lookup("id")
	if !ok || id == "" {
		if c.version != v10 {
			return protoErr("SUBSCRIBE without an id")
		}
		id = dest // 1.0's subscriptions may be known by their destination
	}
	var mode ackMode
	switch a := f.Get("ack"); a {
	case "", "auto":
	case "client":
		mode = ackClient
	case "client-individual":
		if c.version == v10 {
			return protoErr("ack mode client-individual is not in STOMP 1.0")
		}
		mode = ackIndividual
	default:
		return protoErr("unknown ack mode " + strconv.Quote(a))
	}
	if err := checkDestination(dest); err != nil {
		return err
	}
	c.mu.Lock()
	_, dup := c.subs[id]
	n := len(c.subs)
	c.mu.Unlock()
	if dup {
		return protoErr("subscription id " + strconv.Quote(id) + " already in use")
	}
	if n >= maxSubscriptions {
		return protoErr("too many subscriptions")
	}
	if err := c.authorize(cmdSubscribe, dest); err != nil {
		return err
	}
	c.mu.Lock()
	c.nextIdx++
	sub := &subscription{c: c, id: id, idx: c.nextIdx, dest: dest, ack: mode}
	c.mu.Unlock()

	o := &c.srv.opts
	ctx := c.s.Context()
	var err error
	switch {
	case under(dest, o.TopicPrefix):
		err = c.subscribeTopic(ctx, sub, dest, f)
	case under(dest, o.UserPrefix):
		rest := dest[len(o.UserPrefix):]
		if err := c.srv.checkUserDest(rest); err != nil {
			return err
		}
		if c.user == "" {
			sub.local = true
		} else {
			err = c.subscribeTopic(ctx, sub, c.srv.userTopic(c.user, rest), f)
		}
	case under(dest, o.QueuePrefix):
		prefetch := 0
		if p, ok := f.Lookup("prefetch-count"); ok {
			n, err := strconv.ParseUint(p, 10, 31)
			if err != nil {
				return protoErr("malformed prefetch-count header")
			}
			prefetch = int(n)
		}
		sub.consumer, err = o.Queues.Consume(dest, ConsumeOptions{Manual: mode != ackAuto, Prefetch: prefetch}, sub.deliverQueued)
		if errors.Is(err, ErrTooManyQueues) {
			return protoErr("too many queues")
		}
	case under(dest, o.AppPrefix):
		h, params := c.srv.subRoutes.match(dest[len(o.AppPrefix):])
		if h == nil {
			return protoErr("no subscription handler for " + dest)
		}
		sub.local = true
		if !c.addSub(sub) {
			return nil
		}
		return h(&Message{Frame: *f, Destination: dest, session: c.pub, params: params})
	default:
		return protoErr("unknown destination: " + dest)
	}
	if err != nil {
		return err
	}
	if !c.addSub(sub) {
		sub.end(context.Background())
	}
	return nil
}

// addSub makes sub visible to ACKs and Reply; false when the session
// was cleaned up meanwhile.
func (c *conn) addSub(sub *subscription) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs == nil {
		return false
	}
	c.subs[sub.id] = sub
	return true
}

// subscribeTopic subscribes sub to topic, resuming after the position
// SUBSCRIBE names, if any. When that cannot be done it subscribes from
// now, and the RECEIPT says x-recovered:false.
func (c *conn) subscribeTopic(ctx context.Context, sub *subscription, topic string, f *Frame) error {
	var since *Position
	if off, ok := f.Lookup(hdrOffset); ok {
		n, err := strconv.ParseUint(off, 10, 64)
		if err != nil {
			return protoErr("malformed " + hdrOffset + " header")
		}
		since = &Position{Offset: n, Epoch: f.Get(hdrEpoch)}
	}
	t, err := c.srv.opts.Topics.Subscribe(ctx, c.s, topic, since, sub.format)
	recovered := true
	if errors.Is(err, ErrUnrecoverable) {
		recovered = false
		t, err = c.srv.opts.Topics.Subscribe(ctx, c.s, topic, nil, sub.format)
	}
	if err != nil {
		return err
	}
	sub.topic = t
	if since != nil {
		c.receiptHeaders = append(c.receiptHeaders, Header{hdrRecovered, strconv.FormatBool(recovered)})
	}
	return nil
}

func (c *conn) unsubscribe(f *Frame) error {
	id, ok := f.Lookup("id")
	if !ok || id == "" {
		if c.version != v10 {
			return protoErr("UNSUBSCRIBE without an id")
		}
		if id, ok = f.Lookup("destination"); !ok {
			return protoErr("UNSUBSCRIBE without an id or a destination")
		}
	}
	c.mu.Lock()
	sub := c.subs[id]
	delete(c.subs, id)
	c.mu.Unlock()
	if sub != nil {
		sub.end(c.s.Context())
	}
	return nil
}

// ack handles ACK and NACK.
func (c *conn) ack(f *Frame) error {
	name := "id"
	if c.version != v12 {
		name = "message-id"
	}
	id := f.Get(name)
	if id == "" {
		return protoErr(f.Command + " without " + name)
	}
	idx, n, ok := parseAckID(id)
	if !ok {
		return protoErr(f.Command + " of an unknown id " + strconv.Quote(id))
	}
	c.mu.Lock()
	var sub *subscription
	for _, s := range c.subs {
		if s.idx == idx {
			sub = s
			break
		}
	}
	issued := idx <= c.nextIdx
	c.mu.Unlock()
	if sub == nil {
		if issued {
			return nil // the subscription ended; its messages went back already
		}
		return protoErr(f.Command + " of an unknown id " + strconv.Quote(id))
	}
	if sub.ack == ackAuto {
		return protoErr(f.Command + " on a subscription with ack mode auto")
	}
	if sub.consumer != nil {
		cumulative := sub.ack == ackClient
		var settled bool
		if f.Command == cmdAck {
			settled = sub.consumer.Ack(n, cumulative)
		} else {
			settled = sub.consumer.Nack(n, cumulative)
		}
		if !settled {
			return protoErr(f.Command + " of an unknown id " + strconv.Quote(id))
		}
		return nil
	}
	// Topic messages are not redelivered: a subscriber recovers from
	// history instead. The ack only has to name a message sent.
	if n == 0 || n > sub.seq.Load() {
		return protoErr(f.Command + " of an unknown id " + strconv.Quote(id))
	}
	return nil
}

// parseAckID splits "<subscription>-<message>" as ids are made.
func parseAckID(id string) (idx, n uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	idx, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.ParseUint(b, 10, 64)
	return idx, n, err1 == nil && err2 == nil
}

// end ends the subscription in its engine.
func (sub *subscription) end(ctx context.Context) {
	switch {
	case sub.topic != nil:
		_ = sub.topic.Unsubscribe(ctx)
	case sub.consumer != nil:
		sub.consumer.Cancel()
	}
}

// reply sends a message to the session's own subscriptions to dest.
func (c *conn) reply(dest, body string, headers []Header) error {
	c.mu.Lock()
	var subs []*subscription
	for _, s := range c.subs {
		if s.dest == dest && s.consumer == nil {
			subs = append(subs, s)
		}
	}
	c.mu.Unlock()
	data := wrap(headers, body)
	for _, s := range subs {
		if err := c.sendText(s.format(TopicMessage{Topic: dest, Data: data})); err != nil {
			return err
		}
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// format builds the MESSAGE frame of a topic message for sub. It runs on
// the publisher's goroutine.
func (sub *subscription) format(m TopicMessage) string {
	n := sub.seq.Add(1)
	return sub.message(n, m.Data, func(b []byte, v version) []byte {
		if m.Offset == 0 {
			return b
		}
		b = append(b, hdrOffset+":"...)
		b = strconv.AppendUint(b, m.Offset, 10)
		b = append(b, '\n')
		return appendHeader(b, v, v != v10, hdrEpoch, m.Epoch)
	}, false)
}

// deliverQueued sends a queue message to the client. It runs on the
// goroutine that handed the message out.
func (sub *subscription) deliverQueued(m QueueMessage) error {
	return sub.c.s.Send(sub.message(m.Tag, m.Data, nil, m.Redelivered))
}

// message builds a MESSAGE frame numbered n of sub, with data from an
// engine.
func (sub *subscription) message(n uint64, data string, extra func([]byte, version) []byte, redelivered bool) string {
	c := sub.c
	v := c.version
	esc := v != v10
	bp := bufPool.Get().(*[]byte)
	b := appendCommand((*bp)[:0], cmdMessage)
	b = appendHeader(b, v, esc, "destination", sub.dest)
	b = append(b, "message-id:"...)
	b = appendID(b, sub.idx, n)
	b = appendHeader(b, v, esc, "subscription", sub.id)
	if sub.ack != ackAuto && v == v12 {
		b = append(b, "ack:"...)
		b = appendID(b, sub.idx, n)
	}
	if redelivered {
		b = append(b, "redelivered:true\n"...)
	}
	if extra != nil {
		b = extra(b, v)
	}
	lines, body := unwrap(data)
	b = appendLines(b, v, lines)
	b = appendBody(b, body)
	s := string(b)
	if cap(b) <= 64<<10 {
		*bp = b
		bufPool.Put(bp)
	}
	c.hb.sent()
	return s
}

// appendID appends "<idx>-<n>\n", a message or ack id.
func appendID(b []byte, idx, n uint64) []byte {
	b = strconv.AppendUint(b, idx, 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, n, 10)
	return append(b, '\n')
}
