package ws

import (
	"testing"

	"github.com/sockjsd/sockjsd/internal/leaktest"
)

// TestMain fails the run if goroutines of this module outlive the tests.
func TestMain(m *testing.M) { leaktest.Main(m) }
