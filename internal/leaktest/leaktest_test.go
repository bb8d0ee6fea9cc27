package leaktest

import (
	"strings"
	"testing"
	"time"
)

//go:noinline
func parkUntil(stop <-chan struct{}) { <-stop }

func TestLeakedFindsAndForgets(t *testing.T) {
	stop := make(chan struct{})
	go parkUntil(stop)
	if got := Leaked(50 * time.Millisecond); !strings.Contains(got, "leaktest.parkUntil") {
		t.Fatalf("a parked goroutine of this module was not reported:\n%s", got)
	}
	close(stop)
	if got := Leaked(5 * time.Second); got != "" {
		t.Fatalf("an ended goroutine is still reported:\n%s", got)
	}
}
