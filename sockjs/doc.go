// Package sockjs is a SockJS server: it lets browsers that cannot keep a
// WebSocket open (old browsers, proxies, corporate firewalls) talk to a Go
// program through sockjs-client, which falls back from websocket to HTTP
// streaming and polling transports while the application sees one
// connection. It speaks SockJS protocol 0.3.x as the official protocol test
// suite specifies it, and works with sockjs-client 1.x in every browser.
//
// # Getting started
//
// A Server is an http.Handler for one SockJS endpoint. The application is a
// HandlerFunc, run on its own goroutine for each session:
//
//	srv := sockjs.New("/echo", func(s *sockjs.Session) {
//		for {
//			msg, err := s.Recv(context.Background())
//			if err != nil {
//				return // the session is closed
//			}
//			s.Send(msg)
//		}
//	}, nil)
//
// In the browser: new SockJS("https://example.com/echo").
//
// # Mounting
//
// The Server handles every URL under its prefix and strips the prefix
// itself. With chi:
//
//	r := chi.NewRouter()
//	r.Mount("/echo", srv)
//
// With http.ServeMux, register both the prefix and the subtree:
//
//	mux.Handle("/echo", srv)
//	mux.Handle("/echo/", srv)
//
// Under an http.ServeMux pattern with wildcards, give the pattern as the
// prefix, or pass "": the Server then takes its mount point from the
// pattern that matched. Session.Request keeps the wildcards' values:
//
//	mux.Handle("/rooms/{room}/chat/", sockjs.New("/rooms/{room}/chat", h, nil))
//	// in h: room := s.Request().PathValue("room")
//
// Under a chi route with URL parameters (/rooms/{room}/chat), or behind
// http.StripPrefix, pass the prefix "" to New: the Server then takes its
// path from chi's Mount or from the stripped URL. Session.Request keeps
// chi's URL parameters (chi.URLParam(s.Request(), "room")).
//
// Server and session ids longer than 128 bytes are answered 404: clients
// send 3 and 8 characters.
//
// Middleware: chi's Timeout middleware cancels long polls and streams
// after its timeout (the client reconnects, but set it above the heartbeat
// interval or leave it off for the SockJS routes); a compressing middleware
// must not buffer streaming responses (text/event-stream,
// application/javascript, text/html); http.Server's WriteTimeout ends
// streaming responses too, so leave it zero: the Server bounds every write
// itself with Options.WriteTimeout.
//
// # Connections
//
// A websocket, once upgraded, is served from a goroutine of the Server's
// with a shallow stack, and a streaming response (xhr_streaming,
// eventsource, htmlfile) on HTTP/1.1 is too: the Server takes the
// connection over (http.Hijacker), as for a websocket, and sends a chunked
// response with "Connection: close", so the connection ends with the
// response. Writes happen on a goroutine that exists only while there is
// something to write, and a websocket's reader waits holding no read
// buffer. An idle session thus costs a few kilobytes: about 13 KiB of
// memory for a websocket or an xhr-streaming session, the handler's
// goroutine included. A middleware that records the
// status or size of responses does not see those of hijacked responses;
// where the ResponseWriter cannot be hijacked (it hides http.Hijacker and
// has no Unwrap method), on HTTP/1.0 and on HTTP/2, streaming responses
// are served through net/http as any other response.
//
// # Concurrency
//
// Session methods are safe for concurrent use. Send never blocks on the
// network: it queues the message for the connection's single writer. Recv
// may be called from one goroutine or several; each message goes to one
// caller. A session's handler owns no goroutine of the Server: when it
// returns, the session is closed (CodeNormal, unless closed already).
// Session.Context is done when the session closes for any reason: closed
// by the application, by the client, by a timeout, or by Shutdown.
//
// Incoming messages wait for Recv in a bounded queue (Options.RecvQueue).
// When it is full the client's sends are slowed down, then the session is
// closed with CodeSlowClient after Options.RecvTimeout: an application
// that stops reading holds up only its own session. Outgoing messages wait
// in a queue bounded by Options.SendQueueBytes and SendQueueMessages; a
// Send past either bound closes the session with CodeSlowClient and
// returns ErrSlowClient, so one slow client never makes the server buffer
// without bound nor blocks the sender.
//
// # Options and defaults
//
// A nil *Options means every default; each field documents its zero
// value: heartbeat every 25 s, sessions of HTTP transports closed 5 s after
// their last receiving connection ended, streaming responses ended after
// 128 KiB, websocket and raw websocket on, JSESSIONID cookie off, the
// iframe page loading the sockjs-client copy the Server serves itself at
// <prefix>/sockjs-1.6.1.min.js.
//
// # Limits
//
// Every input is bounded before it is read: xhr_send and jsonp_send bodies
// (MaxSendBody, 1 MiB: 413 beyond it), websocket messages (MaxMessageSize,
// 1 MiB: the connection is closed with 1009; websocket endpoints carry text
// only, and a binary message closes the connection with 1003, unsupported
// data), jsonp and htmlfile callbacks
// (128 bytes of [A-Za-z0-9_.-], else 500), the number of sessions
// (MaxSessions, no cap by default: 503 beyond it, or websocket close 1013),
// and both queues of every session as described above. Every network write
// has a deadline (WriteTimeout, 10 s). Websocket connections are pinged at
// every heartbeat; one that shows no sign of life within PongTimeout (10 s)
// of a ping is dropped, so a half-open connection ends within 35 s.
//
// # Origins
//
// By default any web page may connect, as sockjs-client and the protocol
// test suite expect. For an application with logged-in users, restrict
// Options.AllowedOrigins to the sites that serve your pages:
//
//	sockjs.New("/chat", chat, &sockjs.Options{
//		AllowedOrigins: []string{"https://example.com", "https://*.example.com"},
//	})
//
// The list governs websocket upgrades and CORS requests alike (403 for any
// other origin; the server's own origin is always allowed), and turns off
// the iframe-based transports, whose requests come from the server's own
// origin and so cannot be checked.
//
// # Session binding
//
// sockjs-client chooses session ids, and anyone who learns one could
// otherwise send into the session or read from it. HTTP-transport sessions
// are therefore bound to the IP address of the client that opened them
// (Options.SessionKey; behind reverse proxies, list them in
// Options.TrustedProxies so that X-Forwarded-For is believed). Binding to
// the address rather than address and port keeps polling working, since
// every poll may come on a new connection, but clients whose address
// changes mid-session (some mobile networks, proxy pools with several
// exit addresses) lose their session and reconnect: bind to something
// else, such as an authenticated user, with SessionKey, or turn binding
// off with NoSessionBinding. Websocket sessions live on one connection
// and need no binding.
//
// # Aborted connections
//
// When a client aborts a receiving request (closes the connection of an
// xhr-streaming response or a long poll), the protocol lets a server
// either forget the session or close it. This server closes it with
// CodeInterrupted ("Connection interrupted"): the application learns at
// once that its client is gone, and a later request for the session gets
// that close frame until the session is forgotten.
//
// # Shutdown
//
// Server.Shutdown sends every session a close frame (CodeGoingAway),
// which ends long polls, streams and websockets, refuses new sessions, and
// waits for requests and handlers to finish or for its context to end.
// Call it before http.Server.Shutdown, which neither ends long polls nor
// waits for hijacked connections (websockets and HTTP/1.1 streams).
//
// # Scaling
//
// Sessions of the HTTP transports live in the memory of one process, and
// a client's requests must all reach the process that holds its session:
// behind a load balancer, route by the server id in the URL
// (/<prefix>/<server-id>/<session-id>/...) or turn on Options.JSessionID
// for balancers that stick sessions by cookie. Over HTTPS (the request
// came over TLS, or from one of Options.TrustedProxies with
// "X-Forwarded-Proto: https") the cookie is "SameSite=None; Secure", so
// that browsers send it from cross-origin pages too. Websocket sessions
// need no stickiness. Broadcasting across processes needs a message bus of the
// application's choosing; Send is cheap enough to fan out to every local
// session.
//
// # Metrics and logs
//
// Options.Logger receives session and refusal logs (log/slog; nil means
// none); Options.Metrics receives counts, and package sockjs/prometheus
// exports them to Prometheus.
package sockjs
