// Package leaktest fails a test binary whose goroutines outlive its tests.
// A package's TestMain calls Main:
//
//	func TestMain(m *testing.M) { leaktest.Main(m) }
//
// Only goroutines running this module's code count: the runtime's, the
// testing package's and net/http's idle connections are not the tests'
// doing.
package leaktest

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// module is the import path prefix whose goroutines must not outlive the tests.
const module = "github.com/sockjsd/sockjsd/"

// settle is how long goroutines get to end after the last test: servers
// shut down asynchronously, and a connection's reader ends when it sees
// the close.
const settle = 5 * time.Second

// Main runs the tests and exits; a passing run whose goroutines outlive
// it fails, listing their stacks.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Leaked(settle); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked waits up to wait for goroutines running this module's code (other
// than the caller) to end, and returns the stacks of those still running,
// or "" when there are none.
func Leaked(wait time.Duration) string {
	http.DefaultClient.CloseIdleConnections()
	var leaked []string
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		leaked = running(leaked[:0])
		if len(leaked) == 0 || !time.Now().Before(deadline) {
			return strings.Join(leaked, "\n\n")
		}
	}
}

// running appends the stacks of this module's goroutines, less the
// caller's and the test runner's.
func running(dst []string) []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, module) && !strings.Contains(g, module+"internal/leaktest.Leaked(") &&
			!strings.Contains(g, "testing.(*M).Run") {
			dst = append(dst, g)
		}
	}
	return dst
}
