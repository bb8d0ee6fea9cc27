package session

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// The disconnect delay counts from the end of a receiver's last response,
// not from when its final frame was handed out: writing a large frame to a
// slow client must not eat into the client's time to come back.
func TestRefreshRestartsDisconnectDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limits := Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 100, RecvQueue: 10,
			RecvTimeout: time.Second, DisconnectDelay: 5 * time.Second}
		idle := make(chan time.Time, 1)
		start := time.Now()
		s := New("id", "", limits, func(*Session) { idle <- time.Now() })
		if err := s.Attach(context.Background(), 0, nil); err != nil {
			t.Fatal(err)
		}
		var b Batch
		s.Take(&b, 0, false)        // the open frame: final, the lease is released
		time.Sleep(4 * time.Second) // the response takes 4 s to write
		s.Refresh()
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

// Refresh leaves a session alone while a receiver holds it.
func TestRefreshWhileAttached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		limits := Limits{SendQueueBytes: 1 << 20, SendQueueMessages: 100, RecvQueue: 10,
			RecvTimeout: time.Second, DisconnectDelay: time.Second}
		s := New("id", "", limits, func(*Session) { t.Error("expired while a receiver was attached") })
		if err := s.Attach(context.Background(), 0, nil); err != nil {
			t.Fatal(err)
		}
		s.Refresh()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		s.Stop()
	})
}
