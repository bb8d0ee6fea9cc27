// Package sockjsclient is a SockJS 0.3 client for this module's tests and
// its load tool (cmd/sockjs-bench); it is implementation detail, not an
// API. (The browser library that the server hands out is the other
// package of that name, web/sockjsclient.)
//
// It speaks every transport sockjs-client 1.6 uses without an iframe,
// the way sockjs-client does on the wire:
//
//	transport       receives with                          sends with
//	websocket       <session>/websocket (RFC 6455)          the websocket, one ["m"] per message
//	xhr-streaming   POST <session>/xhr_streaming            POST <session>/xhr_send
//	xhr-polling     POST <session>/xhr                      POST <session>/xhr_send
//	eventsource     GET <session>/eventsource               POST <session>/xhr_send
//	htmlfile        GET <session>/htmlfile?c=_jp.<id>       POST <session>/xhr_send
//	jsonp-polling   GET <session>/jsonp?c=_jp.a<id>         POST <session>/jsonp_send (form field d)
//
// A streaming receiver whose response the server ends (its response
// limit) is reopened on the same session, as sockjs-client does.
//
// Hixie76 is the older websocket draft that <session>/websocket also
// accepts, at the frame level (tests send malformed frames through it).
//
// Frames are parsed strictly (ParseFrame); anything malformed or out of
// place is an error wrapping ErrBadFrame, a close frame the client did not
// ask for is a *CloseError, an unexpected HTTP status a *StatusError.
//
// # Cost
//
// The client is a load generator's before it is a test's: it keeps its
// own HTTP/1.1 connections (one for receiving, one for sending, per
// session and per server, as a browser holds them) and its own websocket
// framing, so that receiving or sending a message allocates no more than
// the messages themselves. That is also why Send and Recv take a deadline
// rather than a context: a deadline is what the network calls take, and a
// context per message would cost an allocation and a watcher.
//
// # Concurrency
//
// Send and Recv of one Conn may run at the same time, each from one
// goroutine at a time. Close may be called from any goroutine, at any
// time, and makes a blocked Send or Recv return.
package sockjsclient
