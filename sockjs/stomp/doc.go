// Package stomp is a STOMP 1.0, 1.1 and 1.2 endpoint over SockJS: the
// server side of @stomp/stompjs, stompjs 2.x and webstomp-client running
// over sockjs-client, with the destinations Spring's WebSocket message
// broker users know, and what its simple broker lacks: receipts for every
// frame, acknowledged queues with redelivery, and topic subscriptions
// that resume after a reconnect without losing a message.
//
// # Getting started
//
//	srv := stomp.New("/stomp", nil)
//	srv.Handle("/chat/{room}", func(m *stomp.Message) error {
//		return m.Publish("/topic/chat."+m.Param("room"), m.Body)
//	})
//	r := chi.NewRouter()
//	r.Mount("/stomp", srv) // or mux.Handle("/stomp", srv); mux.Handle("/stomp/", srv)
//
// In the page, with @stomp/stompjs:
//
//	const client = new StompJs.Client({webSocketFactory: () => new SockJS("/stomp")});
//	client.onConnect = () => {
//		client.subscribe("/topic/chat.42", (m) => console.log(m.body));
//		client.publish({destination: "/app/chat/42", body: "hello"});
//	};
//	client.activate();
//
// A Server mounts as a sockjs.Server does (the prefix, chi, http.ServeMux
// and its wildcards behave the same), and Options.SockJS configures the
// SockJS endpoint under it.
//
// # Protocol
//
// The client's first frame is CONNECT or STOMP; the highest version both
// sides speak is chosen from accept-version (none means 1.0; none in
// common is an ERROR whose version header lists ours). Frames may span
// SockJS messages and messages may hold several frames; EOLs between
// frames are heart-beats; lines end in LF or CR LF; content-length counts
// bytes; header values are unescaped as the version says (none in 1.0,
// nor in CONNECT and CONNECTED); of repeated headers the first counts.
// A raw colon in a header value is accepted, as stompjs 2.x sends them.
// Bodies are text: SockJS carries strings.
//
// CONNECTED carries version, heart-beat (1.1 and 1.2), server and, for an
// authenticated client, user-name. Every frame but CONNECT that has a
// receipt header is answered with a RECEIPT once it has been acted on: a
// SUBSCRIBE's once the subscription is in place (so that what is
// published after the RECEIPT reaches it), a SEND's once the message is
// published or queued, or once the application's handler returned.
// DISCONNECT's RECEIPT is the last frame before the session closes.
//
// Transactions are supported: SEND, ACK and NACK frames with a
// transaction header wait for COMMIT, and ABORT drops them (at most 16
// open transactions, holding at most 16 × MaxFrameSize of frames).
//
// # Destinations
//
// Under AppPrefix ("/app"), a SEND goes to the HandlerFunc registered
// with Handle for the rest of the destination (Spring's @MessageMapping).
// The handler gets the frame, the session and its user, and may Reply
// to the sender, Publish to any broker destination, or SendToUser. A
// SUBSCRIBE there goes to the HandlerFunc registered with
// HandleSubscribe (@SubscribeMapping), whose Reply reaches that
// subscription alone.
//
// Under TopicPrefix ("/topic"), every subscriber gets every message.
// Under QueuePrefix ("/queue"), each message goes to one subscriber, by
// turns; a queue keeps messages until a subscriber comes. Under
// UserPrefix ("/user"), a subscription to "/user/queue/reply" receives
// what is sent to that user's "/queue/reply" (by a client's SEND to
// "/user/<name>/queue/reply", by Message.SendToUser or Server.SendToUser)
// on every session of the user, on every node that shares the Topics
// engine; an anonymous session's such subscriptions get only the replies
// of its own handlers. Any client may SEND to any user's destinations,
// as with Spring: restrict them with Options.Authorize. A SEND or
// SUBSCRIBE to anything else is an ERROR.
//
// SEND headers other than the frame's own mechanics (destination,
// content-length, receipt, transaction) and those a MESSAGE sets itself
// go on to the MESSAGE frames: content-type and the application's own.
//
// # Acknowledgement
//
// SUBSCRIBE's ack header chooses auto (the default), client (an ACK
// settles that message and every earlier one of the subscription) or
// client-individual. On a queue, a message that needs an ack stays with
// its subscriber until ACKed; a NACK, the subscription's end or the
// session's end gives it to another subscriber, or to the next one to
// come, with a "redelivered:true" header. A message delivered
// QueueOptions.MaxDeliveries times without an ack is dropped. The
// SUBSCRIBE header prefetch-count bounds how many unacked messages a
// subscriber holds at once (RabbitMQ's header; none means no bound).
// Topic messages are never redelivered (resume instead, below); their
// ACKs are accepted. An ACK or NACK of an id the session was never given
// is an ERROR. STOMP 1.2 acks by the MESSAGE's ack header, 1.1 and 1.0 by
// its message-id.
//
// # Resuming topic subscriptions
//
// Every MESSAGE of a topic carries x-offset (its place in the topic's
// stream, from 1) and x-epoch (the stream's identity, which changes when
// the stream's storage lost it). A client that reconnects subscribes
// with the last ones it saw:
//
//	SUBSCRIBE
//	id:0
//	destination:/topic/feed
//	x-offset:41
//	x-epoch:Tz4b
//	receipt:r1
//
// and gets first the messages it missed, then the live ones, with none
// lost or repeated between them. The RECEIPT of a SEND to a topic
// carries the x-offset and x-epoch the message got. When the missed
// messages can no longer all be had (the epoch changed, or the topic no
// longer keeps them) the subscription starts from now. A resuming
// SUBSCRIBE's RECEIPT says which happened: x-recovered:true or
// x-recovered:false (then reload the state). An x-offset without
// x-epoch means after that offset of the current stream; x-offset:0
// alone, everything the topic keeps. What a topic
// keeps is the Topics engine's choice: DefaultTopics keeps the last 100
// messages of each topic for 5 minutes; with HubTopics, the hub's History
// option decides.
//
// # Authentication and authorization
//
// By default a session's user is the one sockjs.Options.Authenticate
// found in the request that opened the SockJS session (a cookie, a
// header). Options.Authenticate decides from the CONNECT frame instead
// (login and passcode, or a token header). Options.Authorize decides on
// each SUBSCRIBE and SEND by destination. A refusal is an ERROR, then
// the session closes.
//
// # Heart-beats
//
// The server offers to send a heart-beat every HeartbeatSend and asks for
// one every HeartbeatExpect (10 seconds each by default); the rates are
// negotiated with CONNECT's heart-beat header as the spec says. The
// server sends an EOL, as its own SockJS message, when it sent nothing
// for its interval, and closes a session from which nothing came for two
// of the client's intervals (sockjs.CodeTimedOut, "Heart-beat timeout").
//
// # Errors and limits
//
// A malformed frame, an unknown command, a frame over MaxFrameSize
// (64 KiB by default, however many SockJS messages carry it), a
// SUBSCRIBE without an id (1.1 and 1.2) or with one in use, an ACK of an
// unknown id, a refused destination: each gets an ERROR frame whose
// message header says what was wrong (with receipt-id when the frame
// asked for a receipt), then the session closes: CodeProtocolError
// (4002), CodeForbidden (4003) for Authorize's refusals,
// sockjs.CodeUnauthorized (4001) for Authenticate's, or
// sockjs.CodeInternalError (1011) when a handler failed. Only that
// session is affected. A session holds at most 1024 subscriptions.
//
// # Concurrency
//
// A session's frames are handled one at a time, in order, on the
// session's goroutine, HandlerFuncs and hooks included: hand long work to
// a goroutine of your own. Deliveries to a session come from the
// goroutines that publish, and never wait for that session's handler.
// A publish to a topic waits for subscribers whose send queue is full,
// as package sockjs/hub does, up to sockjs.Options.SendTimeout.
//
// # Scaling
//
// Topics and user destinations go through a Topics engine. HubTopics
// over a sockjs/hub Hub whose Broker spans nodes makes them reach every
// node; a client's resumed subscription may then be on another node than
// the first. Queues go through a Queues engine, in memory by default;
// an engine on a shared store makes queues span nodes.
package stomp
