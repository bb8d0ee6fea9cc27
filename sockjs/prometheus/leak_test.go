package prometheus_test

import (
	"testing"

	"github.com/sockjsd/sockjsd/internal/leaktest"
)

// TestMain fails the run if goroutines of this module outlive the tests:
// every server the tests start is shut down.
func TestMain(m *testing.M) { leaktest.Main(m) }
