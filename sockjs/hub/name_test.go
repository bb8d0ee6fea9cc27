package hub_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sockjsd/sockjsd/sockjs/hub"
)

func TestCheckTopic(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"room", true},
		{"/topic/news.eu", true},
		{"salle de séjour \uFFFD", true},
		{strings.Repeat("é", hub.MaxTopicLen/2), true},
		{"", false},
		{strings.Repeat("x", hub.MaxTopicLen+1), false},
		{"tab\there", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"bad\xc3", false},
	}
	for _, tc := range cases {
		err := hub.CheckTopic(tc.name)
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, hub.ErrBadTopic) {
			t.Errorf("CheckTopic(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// FuzzCheckTopic holds CheckTopic to its definition: 1 to MaxTopicLen
// bytes of UTF-8 without control characters.
func FuzzCheckTopic(f *testing.F) {
	for _, s := range []string{"room", "", "a\x00b", "\xff", "\uFFFD", "é", strings.Repeat("x", 257)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := len(s) > 0 && len(s) <= hub.MaxTopicLen && utf8.ValidString(s) &&
			!strings.ContainsFunc(s, unicode.IsControl)
		if err := hub.CheckTopic(s); (err == nil) != want {
			t.Fatalf("CheckTopic(%q) = %v, want ok=%v", s, err, want)
		}
	})
}
