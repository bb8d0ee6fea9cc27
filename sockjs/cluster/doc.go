// Package cluster lets several sockjsd processes behind one load balancer
// serve any request of any session, with no sticky sessions.
//
// SockJS clients choose their session ids, and the HTTP transports make a
// new request for every poll, every send and every re-opened stream, which
// a balancer may send to any node. A Node wraps each SockJS Server of its
// process: the first receiving request of a new session claims the
// session for the node it reached, in an Engine all nodes share (Redis,
// NATS JetStream KV, or memory for nodes in one process); every later
// request that reaches another node is forwarded to the owner, streaming
// responses included, and the answer relayed as the owner writes it: a
// stream (xhr_streaming, eventsource, htmlfile) chunk by chunk, each of
// the owner's chunks one chunk to the client, when Config.Transport is an
// *http.Transport (the default).
// Websocket connections, /info, the iframe page and the client script are
// served wherever they land.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379"})
//	node, err := cluster.New(cluster.Config{
//		Engine: cluster.NewRedis(rdb, nil),
//		URL:    "http://10.0.0.5:8081", // where the other nodes reach this one
//		Secret: secret,                  // the same on every node
//	})
//	srv := sockjs.New("/echo", echo, nil)
//	h := node.Wrap("echo", srv)
//	mux.Handle("/echo/", h)
//	mux.Handle("/echo", h)
//	...
//	node.Shutdown(ctx) // instead of srv.Shutdown
//
// # Security
//
// A forwarded request carries the client's address, whether it came over
// TLS, the forwarding node and the time, signed with the Secret
// (HMAC-SHA256 over these, the method, Host, request target, Origin,
// Cookie and the X-Forwarded-* headers). The owner checks the signature
// before it believes any of it, then serves the request as the forwarding
// node received it: RemoteAddr is the client's, so sockjs.ClientIP,
// Options.TrustedProxies and the session binding see what they would have
// seen there, and the origin policy reads the client's Origin. A request
// with any forwarding header and no valid signature, or one older than
// 30 s, is refused with 403: a client cannot forge them. The request body
// is not signed; keep node-to-node traffic on a private network, or give
// Config.Transport a TLS configuration (client certificates for mutual
// authentication) and URL an https address.
//
// A forwarded request is never forwarded again: a node that does not
// hold the session and cannot claim it answers 421, so no loop can form.
//
// # Failure
//
// Claims expire after the engine's TTL (30 s by default) unless refreshed;
// a Node refreshes those of its sessions every TTL/3 and releases them
// when the session is gone. When a forwarding node cannot reach the owner
// (the owner died), it deletes the claim if it still names that owner and
// ends the session for the client: a receiving request gets an open frame,
// then c[1006,"Session lost"] (sockjs-client closes at the open frame,
// with 1006 "Server lost session"), and a send gets 404. Sessions whose
// receiving request a dead node was relaying end too: the client's
// connection breaks, and the owner closes the session (1002). Sessions
// elsewhere are not affected, and new sessions open on the survivors at
// once. Shutdown closes every session with a close frame, then releases
// the node's claims.
//
// A claim lives as long as its session does here (see
// sockjs.Server.HasSession), refreshed every TTL/3, and is released when
// the session is gone.
package cluster
