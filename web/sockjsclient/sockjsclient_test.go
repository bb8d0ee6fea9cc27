package sockjsclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// wantSHA256 is sha256sum of dist/sockjs.min.js in the npm package
// sockjs-client@<Version>. Update it together with Version (see doc.go).
const wantSHA256 = "1e0f37d073666196b0848fd7d80d525268d5adf47ea1ec459632f05bbf8e1f54"

func TestBannerMatchesVersion(t *testing.T) {
	s := Script()
	m := regexp.MustCompile(`^/\* sockjs-client v([0-9A-Za-z.+-]+) \|`).FindSubmatch(s)
	if m == nil {
		t.Fatalf("embedded script does not start with a sockjs-client banner: %q", s[:min(len(s), 80)])
	}
	if got := string(m[1]); got != Version {
		t.Fatalf("embedded script is sockjs-client %s, but Version is %s", got, Version)
	}
}

func TestChecksum(t *testing.T) {
	sum := sha256.Sum256(Script())
	if got := hex.EncodeToString(sum[:]); got != wantSHA256 {
		t.Fatalf("sha256 of sockjs.min.js = %s, want %s (copied unmodified from the npm package?)", got, wantSHA256)
	}
}

func TestScriptLooksLikeTheClient(t *testing.T) {
	s := Script()
	if len(s) < 10_000 {
		t.Fatalf("script is only %d bytes", len(s))
	}
	for _, want := range []string{"SockJS", "iframe.html", "xhr_streaming", "jsonp"} {
		if !bytes.Contains(s, []byte(want)) {
			t.Errorf("script does not mention %q", want)
		}
	}
}

func TestETag(t *testing.T) {
	e := ETag()
	if !strings.HasPrefix(e, `"`) || !strings.HasSuffix(e, `"`) || strings.HasPrefix(e, "W/") {
		t.Fatalf("ETag %s is not a quoted strong entity tag", e)
	}
	if !strings.Contains(e, Version) {
		t.Errorf("ETag %s does not name the version %s", e, Version)
	}
	if strings.ContainsAny(e[1:len(e)-1], "\" \t\r\n") {
		t.Errorf("ETag %s has characters not allowed in an entity tag", e)
	}
	if ETag() != e {
		t.Error("ETag is not stable")
	}
}

func TestScriptIsShared(t *testing.T) {
	a, b := Script(), Script()
	if &a[0] != &b[0] {
		t.Error("Script copies the bytes on every call")
	}
	if cap(a) != len(a) {
		t.Error("Script's slice has spare capacity; an append by a caller would write into shared memory")
	}
}
