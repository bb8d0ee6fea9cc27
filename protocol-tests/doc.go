// Package protocoltests is a Go port of the SockJS 0.3.x protocol test
// suite (github.com/sockjs/sockjs-protocol, sockjs-protocol.py and
// http-quirks.py): one Go test per behaviour the official suite checks,
// named Test<Section>_<Behaviour> after the suite's classes and methods.
// The package has no exported API; everything lives in the _test.go files
// and in the testserver subpackage, which serves the four services the
// suite needs (echo, close, disabled_websocket_echo, cookie_needed_echo).
//
// # Running against the in-process server (default)
//
// With no environment set, TestMain starts testserver.New on an
// httptest.Server on 127.0.0.1 and points every test at it:
//
//	go test ./protocol-tests/
//	go test -race -count=1 ./protocol-tests/
//	go test -run 'TestXhrStreaming' -v ./protocol-tests/
//
// # Running against any server
//
// Set SOCKJS_URL to the top URL of a server exposing the four services
// (no trailing slash). For our own engine:
//
//	go run ./cmd/sockjs-testserver -addr 127.0.0.1:8081 &
//	SOCKJS_URL=http://127.0.0.1:8081 go test -count=1 ./protocol-tests/
//
// The suite needs from such a server exactly what the official suite
// needs: a streaming response limit of 4096 bytes, a disconnect delay of
// about 5 seconds and a heartbeat that does not fire during a test (the
// default 25 seconds).
//
// # Tests beyond the official suite
//
// Tests named TestSockjsd_* check choices this project documents where the
// protocol leaves freedom or says nothing (for example that an aborted
// receiver makes the next one get c[1002,"Connection interrupted"], or
// X-Content-Type-Options: nosniff on jsonp). Tests named TestRegression_*
// guard against bugs seen in other servers. Both run against any server;
// to check another implementation against the protocol only, skip them:
//
//	SOCKJS_URL=http://127.0.0.1:8081 go test -count=1 -skip 'TestSockjsd_|TestRegression_' ./protocol-tests/
//
// Tests that need a server configured differently (a very short heartbeat)
// start their own in-process server and are skipped when SOCKJS_URL is set
// or with -short.
//
// # Timeouts
//
// Every network read has a deadline (ioTimeout, a few seconds), so a server
// that stops answering fails the test quickly instead of hanging it.
// Session ids are random, so the tests run in parallel and can be rerun at
// once; the official suite's advice to wait five seconds between runs does
// not apply.
package protocoltests
