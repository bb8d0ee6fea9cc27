package session

import (
	"testing"
	"testing/synctest"
	"time"
)

// The disconnect delay counts from the end of a receiver's last response
// (its Done), not from when its final frame was handed out: writing a large frame to a
// slow client must not eat into the client's time to come back.
func TestDoneRestartsDisconnectDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limits := Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 100, RecvQueue: 10,
			RecvTimeout: time.Second, DisconnectDelay: 5 * time.Second}
		idle := make(chan time.Time, 1)
		start := time.Now()
		s := New("id", "", limits, func(*Session) { idle <- time.Now() })
		l := attach(t, s, Polling())
		next(t, &l, false)          // the open frame: final, the lease is released
		time.Sleep(4 * time.Second) // the response takes 4 s to write
		l.Done(false)
		synctest.Wait()
		select {
		case <-idle:
			t.Fatal("expired while the response was still being written")
		default:
		}
		if got := (<-idle).Sub(start); got != 9*time.Second {
			t.Fatalf("expired after %v, want 9s (4s writing + the 5s delay)", got)
		}
		if _, _, closed := s.CloseStatus(); !closed {
			t.Fatal("expired session is not closed")
		}
	})
}

// The end of an earlier receiver's response leaves a session alone while
// another receiver holds it.
func TestDoneAfterFinalWhileAttached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limits := Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 100, RecvQueue: 10,
			RecvTimeout: time.Second, DisconnectDelay: time.Second}
		s := New("id", "", limits, func(*Session) { t.Error("expired while a receiver was attached") })
		old := attach(t, s, Polling())
		next(t, &old, false) // final: the lease is released
		attach(t, s, Streaming(1000, 0, 0))
		old.Done(false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		s.Stop()
	})
}
