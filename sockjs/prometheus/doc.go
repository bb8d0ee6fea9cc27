// Package prometheus exports what a sockjs.Server does as Prometheus
// metrics. Its Metrics type implements sockjs.Metrics; pass it in
// sockjs.Options.Metrics:
//
//	reg := prometheus.NewRegistry()
//	m := sockjsprom.New(reg, "")
//	srv := sockjs.New("/echo", echo, &sockjs.Options{Metrics: m})
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// The package is named prometheus, like the client library it builds on;
// import it under another name, such as sockjsprom.
//
// # Metrics
//
// With namespace "" the metric names start with sockjs_; with namespace
// "chat" they start with chat_sockjs_.
//
//	sockjs_sessions_open{transport}                 gauge: sessions open now
//	sockjs_sessions_opened_total{transport}         sessions opened
//	sockjs_sessions_closed_total{transport,code}    sessions ended, by close code
//	sockjs_session_duration_seconds{transport}      histogram of session lifetimes
//	sockjs_messages_received_total{transport}       messages from clients
//	sockjs_received_bytes_total{transport}          their bytes
//	sockjs_messages_sent_total{transport}           messages written to clients
//	sockjs_sent_bytes_total{transport}              their bytes
//	sockjs_slow_client_closes_total{transport}      sessions closed as slow clients
//	sockjs_receiver_conflicts_total{transport}      receivers turned away with 2010
//	sockjs_heartbeats_sent_total{transport}         heartbeat frames sent
//	sockjs_requests_refused_total{reason}           requests refused
//
// Sessions are counted under the transport that opened them ("websocket",
// "xhr_streaming", "xhr", ...); messages from clients of the HTTP
// transports under the transport that carried them ("xhr_send",
// "jsonp_send").
//
// # Label values
//
// Every label has a bounded set of values, so that no client can make the
// number of series grow. transport is one of the SockJS transport names or
// "rawwebsocket"; reason is one of those sockjs.Metrics documents. Either
// is "other" for a value outside those sets. code is the close code for
// the codes 1000 to 1015 (RFC 6455's range; the server itself uses 1000,
// 1001, 1002, 1006, 1008, 1009 and 1011), "3xxx" and "4xxx" for the codes
// applications choose (and websocket clients may send), and "other" for
// anything else.
//
// A series appears once its count is not zero, except that
// sockjs_requests_refused_total has a series for every known reason from
// the start, so that alerts on refusals need no special case for a series
// that does not exist yet.
//
// # Several servers
//
// To tell the metrics of several sockjs.Servers apart, give each its own
// Metrics, registered through prometheus.WrapRegistererWith with a label
// of your choosing:
//
//	for _, name := range []string{"echo", "chat"} {
//		r := prometheus.WrapRegistererWith(prometheus.Labels{"service": name}, reg)
//		metrics[name] = sockjsprom.New(r, "")
//	}
//
// One Metrics may also be shared by several servers; it then counts their
// sum.
//
// # Reading the counts back
//
// Metrics keeps its counts in atomic counters and reports them to
// Prometheus when scraped. Snapshot reads them directly, for a status page
// or a test, without going through a registry.
package prometheus
