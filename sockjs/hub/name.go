package hub

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxTopicLen is the longest topic name, in bytes.
const MaxTopicLen = 256

// ErrBadTopic is what CheckTopic's errors match (errors.Is).
var ErrBadTopic = errors.New("hub: invalid topic name")

// CheckTopic says whether name can name a topic: 1 to MaxTopicLen bytes
// of UTF-8 with no control character. Names are otherwise free
// ("room:42", "/topic/news"); the hub gives no character a meaning.
func CheckTopic(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadTopic)
	case len(name) > MaxTopicLen:
		return fmt.Errorf("%w: %d bytes, more than %d", ErrBadTopic, len(name), MaxTopicLen)
	}
	for i, r := range name {
		switch {
		case r == utf8.RuneError && !validRuneAt(name, i):
			return fmt.Errorf("%w: not UTF-8 at byte %d", ErrBadTopic, i)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			return fmt.Errorf("%w: control character %U at byte %d", ErrBadTopic, r, i)
		}
	}
	return nil
}

// validRuneAt reports whether the RuneError at s[i:] is a real U+FFFD
// rather than a bad byte.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}
