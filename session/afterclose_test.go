package session

import (
	"testing"
	"time"
)

func TestAfterClose(t *testing.T) {
	waitRan := func(t *testing.T, ran <-chan struct{}) {
		t.Helper()
		select {
		case <-ran:
		case <-time.After(5 * time.Second):
			t.Fatal("the function did not run after the close")
		}
	}
	notRan := func(t *testing.T, ran <-chan struct{}) {
		t.Helper()
		select {
		case <-ran:
			t.Fatal("the function ran")
		case <-time.After(50 * time.Millisecond):
		}
	}
	closers := []struct {
		name  string
		close func(s *Session)
	}{
		{"Close", func(s *Session) { s.Close(3000, "bye") }},
		{"disconnect delay", func(s *Session) {}}, // no receiver ever attaches: it expires
		{"send queue full", func(s *Session) {
			for i := 0; i <= s.limits.SendQueueMessages; i++ {
				_ = s.Send("x")
			}
		}},
	}
	for _, tc := range closers {
		t.Run(tc.name, func(t *testing.T) {
			s := New("id", "", testLimits(), nil)
			if tc.name == "disconnect delay" {
				l := testLimits()
				l.DisconnectDelay = 50 * time.Millisecond
				s = New("id", "", l, func(*Session) {})
			}
			ran := make(chan struct{})
			s.AfterClose(func() {
				if s.Context().Err() == nil {
					t.Error("ran before the session's context was done")
				}
				close(ran)
			})
			tc.close(s)
			waitRan(t, ran)
		})
	}

	t.Run("already closed runs at once", func(t *testing.T) {
		s := New("id", "", testLimits(), nil)
		s.Close(3000, "bye")
		ran := make(chan struct{})
		stop := s.AfterClose(func() { close(ran) })
		waitRan(t, ran)
		if stop() {
			t.Error("stop after the function ran reported that it stopped it")
		}
	})

	t.Run("stop", func(t *testing.T) {
		s := New("id", "", testLimits(), nil)
		ran := make(chan struct{})
		other := make(chan struct{})
		stop := s.AfterClose(func() { close(ran) })
		s.AfterClose(func() { close(other) })
		if !stop() {
			t.Fatal("stop before the close reported that it did not stop the function")
		}
		if stop() {
			t.Error("a second stop reported that it stopped the function again")
		}
		s.Close(3000, "bye")
		waitRan(t, other)
		notRan(t, ran)
	})
}
