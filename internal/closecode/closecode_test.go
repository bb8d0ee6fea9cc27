package closecode

import "testing"

func TestForWebsocket(t *testing.T) {
	for code, want := range map[int]int{
		1000: 1000, 1001: 1001, 1002: 1002, 1003: 1003, 1004: 1000, 1005: 1000, 1006: 1000,
		1007: 1007, 1008: 1008, 1009: 1009, 1010: 1010, 1011: 1011, 1012: 1000, 1013: 1013,
		1014: 1000, 2010: 1000, 2999: 1000, 3000: 3000, 4999: 4999, 5000: 1000, 0: 1000, -1: 1000,
	} {
		if got := ForWebsocket(code); got != want {
			t.Errorf("ForWebsocket(%d) = %d, want %d", code, got, want)
		}
	}
}
