package protocoltests

// How sessions end: the server's close, a second receiver, and a client
// that drops its receiving request.

import (
	"testing"
	"time"
)

// openStreaming starts an xhr_streaming request and reads its prelude.
func openStreaming(t *testing.T, url string) *stream {
	t.Helper()
	s := open(t, "POST", url+"/xhr_streaming", "", nil)
	mustStatus(t, s.response, 200)
	if s.read() == "" {
		t.Fatalf("%s: no prelude", s.what)
	}
	return s
}

// Once the server closes a session, the receiver is let go: a new
// receiver gets the close frame, not 2010, and both responses end.
func TestHandlingClose_CloseFrame(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcClose)
	s1 := openStreaming(t, url)
	mustRead(t, s1, "o\n")
	mustRead(t, s1, goAwayFrame+"\n")

	s2 := openStreaming(t, url)
	mustRead(t, s2, goAwayFrame+"\n")

	mustEnd(t, s1)
	mustEnd(t, s2)
}

// A second receiver gets 2010 and its response ends.
func TestHandlingClose_CloseRequest(t *testing.T) {
	t.Parallel()
	url := sessionURL(svcEcho)
	s1 := openStreaming(t, url)
	defer s1.close()
	mustRead(t, s1, "o\n")

	s2 := openStreaming(t, url)
	mustRead(t, s2, anotherFrame+"\n")
	mustEnd(t, s2)
}

// The protocol lets a server answer a receiver that follows an aborted
// one with either a fresh session or 1002.
func checkAfterAbort(t *testing.T, got string) {
	t.Helper()
	if got != "o\n" && got != interrupted+"\n" {
		t.Errorf("after an aborted receiver: %q, want %q or %q", got, "o\n", interrupted+"\n")
	}
}

// abortStreaming opens an xhr-streaming session, checks that a second
// receiver is refused, aborts the first one and returns what a third
// receiver gets first.
func abortStreaming(t *testing.T) string {
	t.Helper()
	url := sessionURL(svcEcho)
	s1 := openStreaming(t, url)
	mustRead(t, s1, "o\n")

	s2 := openStreaming(t, url)
	mustRead(t, s2, anotherFrame+"\n")
	mustEnd(t, s2)

	s1.close()

	s3 := openStreaming(t, url)
	defer s3.close()
	return s3.read()
}

// abortPolling does the same with xhr-polling.
func abortPolling(t *testing.T) string {
	t.Helper()
	url := openXhrSession(t, svcEcho)

	waiting := startRequest(t, "POST", url+"/xhr", "")
	time.Sleep(attachDelay)

	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	mustBody(t, r, anotherFrame+"\n")

	waiting.close()

	r = post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	return r.body
}

func TestHandlingClose_AbortXhrStreaming(t *testing.T) {
	t.Parallel()
	checkAfterAbort(t, abortStreaming(t))
}

func TestHandlingClose_AbortXhrPolling(t *testing.T) {
	t.Parallel()
	checkAfterAbort(t, abortPolling(t))
}

// sockjsd's documented choice: a session whose receiver was aborted is
// closed with 1002 "Connection interrupted", and the next receiver is told
// so rather than silently handed a new session.
func TestSockjsd_AbortedReceiverGets1002(t *testing.T) {
	t.Parallel()
	t.Run("xhr_streaming", func(t *testing.T) {
		t.Parallel()
		if got := abortStreaming(t); got != interrupted+"\n" {
			t.Errorf("after an aborted xhr_streaming: %q, want %q", got, interrupted+"\n")
		}
	})
	t.Run("xhr", func(t *testing.T) {
		t.Parallel()
		if got := abortPolling(t); got != interrupted+"\n" {
			t.Errorf("after an aborted xhr poll: %q, want %q", got, interrupted+"\n")
		}
	})
}
