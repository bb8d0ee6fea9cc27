package protocoltests

// JSON encoding of messages. The server must deliver any string a browser
// can send. Browsers and proxies mangle some characters in transit, so the
// client escapes a long list of them and the server escapes a shorter one.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sockjsd/sockjsd/internal/sockjsclient"
)

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// serverEscapes are the code points, from U+00FF up, that the server must
// send as \uXXXX escapes. (Below U+00FF only the control characters
// U+0000-U+001F must be escaped, which any JSON encoder does.)
var serverEscapes = []runeRange{
	{0x200c, 0x200f}, {0x2028, 0x202f}, {0x2060, 0x206f}, {0xfff0, 0xffff},
}

// clientEscapes are the code points sockjs-client escapes before sending;
// the server must decode them. Overlapping ranges are as the protocol
// lists them.
var clientEscapes = []runeRange{
	{'"', '"'}, {0x0000, 0x001f}, {0x007f, 0x009f}, {0x00ad, 0x00ad},
	{0x0600, 0x0604}, {0x070f, 0x070f}, {0x17b4, 0x17b5}, {0x2000, 0x20ff},
	{0xfeff, 0xfeff}, {0xfff0, 0xffff},
	{0x0300, 0x0333}, {0x033d, 0x0346}, {0x034a, 0x034c}, {0x0350, 0x0352},
	{0x0357, 0x0358}, {0x035c, 0x0362}, {0x0374, 0x0374}, {0x037e, 0x037e},
	{0x0387, 0x0387}, {0x0591, 0x05af}, {0x05c4, 0x05c4}, {0x0610, 0x0617},
	{0x0653, 0x0654}, {0x0657, 0x065b}, {0x065d, 0x065e}, {0x06df, 0x06e2},
	{0x06eb, 0x06ec}, {0x0730, 0x0730}, {0x0732, 0x0733}, {0x0735, 0x0736},
	{0x073a, 0x073a}, {0x073d, 0x073d}, {0x073f, 0x0741}, {0x0743, 0x0743},
	{0x0745, 0x0745}, {0x0747, 0x0747}, {0x07eb, 0x07f1}, {0x0951, 0x0951},
	{0x0958, 0x095f}, {0x09dc, 0x09dd}, {0x09df, 0x09df}, {0x0a33, 0x0a33},
	{0x0a36, 0x0a36}, {0x0a59, 0x0a5b}, {0x0a5e, 0x0a5e}, {0x0b5c, 0x0b5d},
	{0x0e38, 0x0e39}, {0x0f43, 0x0f43}, {0x0f4d, 0x0f4d}, {0x0f52, 0x0f52},
	{0x0f57, 0x0f57}, {0x0f5c, 0x0f5c}, {0x0f69, 0x0f69}, {0x0f72, 0x0f76},
	{0x0f78, 0x0f78}, {0x0f80, 0x0f83}, {0x0f93, 0x0f93}, {0x0f9d, 0x0f9d},
	{0x0fa2, 0x0fa2}, {0x0fa7, 0x0fa7}, {0x0fac, 0x0fac}, {0x0fb9, 0x0fb9},
	{0x1939, 0x193a}, {0x1a17, 0x1a17}, {0x1b6b, 0x1b6b}, {0x1cda, 0x1cdb},
	{0x1dc0, 0x1dcf}, {0x1dfc, 0x1dfc}, {0x1dfe, 0x1dfe}, {0x1f71, 0x1f71},
	{0x1f73, 0x1f73}, {0x1f75, 0x1f75}, {0x1f77, 0x1f77}, {0x1f79, 0x1f79},
	{0x1f7b, 0x1f7b}, {0x1f7d, 0x1f7d}, {0x1fbb, 0x1fbb}, {0x1fbe, 0x1fbe},
	{0x1fc9, 0x1fc9}, {0x1fcb, 0x1fcb}, {0x1fd3, 0x1fd3}, {0x1fdb, 0x1fdb},
	{0x1fe3, 0x1fe3}, {0x1feb, 0x1feb}, {0x1fee, 0x1fef}, {0x1ff9, 0x1ff9},
	{0x1ffb, 0x1ffb}, {0x1ffd, 0x1ffd}, {0x2126, 0x2126}, {0x212a, 0x212b},
	{0x2329, 0x232a}, {0x2adc, 0x2adc}, {0x302b, 0x302c}, {0xaab2, 0xaab3},
	{0xf900, 0xfa0d}, {0xfa10, 0xfa10}, {0xfa12, 0xfa12}, {0xfa15, 0xfa1e},
	{0xfa20, 0xfa20}, {0xfa22, 0xfa22}, {0xfa25, 0xfa26}, {0xfa2a, 0xfa2d},
	{0xfa30, 0xfa6d}, {0xfa70, 0xfad9}, {0xfb1d, 0xfb1d}, {0xfb1f, 0xfb1f},
	{0xfb2a, 0xfb36}, {0xfb38, 0xfb3c}, {0xfb3e, 0xfb3e}, {0xfb40, 0xfb41},
	{0xfb43, 0xfb44}, {0xfb46, 0xfb4e},
}

// codePoints lists, in increasing order and once each, the code points
// from min up that fall in any of the ranges.
func codePoints(ranges []runeRange, min rune) []rune {
	var out []rune
	for r := min; r <= 0xffff; r++ {
		for _, rr := range ranges {
			if rr.lo <= r && r <= rr.hi {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// escapedJSON is a JSON string literal holding the code points, each as
// a lower-case \uXXXX escape.
func escapedJSON(cps []rune) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range cps {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	b.WriteByte('"')
	return b.String()
}

// The tables above must describe exactly the protocol's sets: 44 code
// points for the server and 1093 for the client.
func TestJSONEncoding_Tables(t *testing.T) {
	if n := len(codePoints(serverEscapes, 0xff)); n != 44 {
		t.Errorf("server set has %d code points, want 44", n)
	}
	if n := len(codePoints(clientEscapes, 0)); n != 1093 {
		t.Errorf("client set has %d code points, want 1093", n)
	}
}

// pollMessage reads the next xhr poll and returns the JSON text of the
// single message in its a[...] frame.
func pollMessage(t *testing.T, url string) string {
	t.Helper()
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	body := strings.TrimSpace(r.body)
	if !strings.HasPrefix(body, "a[") || !strings.HasSuffix(body, "]") {
		t.Fatalf("%s: body %q is not an a[...] frame", r.what, r.body)
	}
	return body[2 : len(body)-1]
}

// The server escapes at least the characters it must: sent raw, they come
// back as exactly the escapes.
func TestJSONEncoding_XhrServerEncodes(t *testing.T) {
	t.Parallel()
	cps := codePoints(serverEscapes, 0xff)
	url := openXhrSession(t, svcEcho)
	xhrSend(t, url, `["`+string(cps)+`"]`)
	if got, want := pollMessage(t, url), escapedJSON(cps); got != want {
		t.Errorf("server sent\n%s\nwant\n%s", got, want)
	}
}

// The server decodes what the client escapes: sent escaped, the string
// comes back equal (however the server chooses to encode it).
func TestJSONEncoding_XhrServerDecodes(t *testing.T) {
	t.Parallel()
	cps := codePoints(clientEscapes, 0)
	url := openXhrSession(t, svcEcho)
	xhrSend(t, url, "["+escapedJSON(cps)+"]")
	r := post(t, url+"/xhr", "", nil)
	mustStatus(t, r, 200)
	f, err := sockjsclient.ParseFrame([]byte(strings.TrimSuffix(r.body, "\n")))
	if err != nil || f.Type != sockjsclient.FrameArray || len(f.Messages) != 1 {
		t.Fatalf("%s: body %.200q is not an a[...] frame of one message (%v)", r.what, r.body, err)
	}
	if got, want := f.Messages[0], string(cps); got != want {
		t.Errorf("round trip changed the string:\n got %+q\nwant %+q", got, want)
	}
}
