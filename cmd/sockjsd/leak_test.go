package main

import (
	"testing"

	"github.com/sockjsd/sockjsd/internal/leaktest"
)

// TestMain fails the run if goroutines of this module outlive the tests:
// run must stop everything it started (servers, the status sampler,
// sessions).
func TestMain(m *testing.M) { leaktest.Main(m) }
