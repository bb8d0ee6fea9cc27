package sockjsclient

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"slices"
)

// Version is the version of the embedded sockjs-client. The test checks it
// against the banner at the top of the embedded file.
const Version = "1.6.1"

//go:embed sockjs.min.js
var script []byte

// etag is computed once from the embedded bytes.
var etag = func() string {
	sum := sha256.Sum256(script)
	return `"sockjs-client-` + Version + `-` + hex.EncodeToString(sum[:12]) + `"`
}()

// Script returns the minified sockjs-client (JavaScript, UTF-8). The slice
// is shared by every caller and must not be modified.
func Script() []byte { return slices.Clip(script) }

// ETag returns a strong entity tag for Script, quotes included, such as
// "sockjs-client-1.6.1-0123456789abcdef01234567". It changes whenever the
// embedded bytes do.
func ETag() string { return etag }
