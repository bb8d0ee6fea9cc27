// Package info serves the stateless SockJS endpoints: the greeting at the
// prefix, <prefix>/info, the iframe page <prefix>/iframe[-version].html,
// and the embedded sockjs-client script that page loads by default.
//
// It is an implementation detail of package sockjs; its API may change at
// any time.
package info

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"html"
	"net/http"
	"time"

	"github.com/sockjsd/sockjsd/web/sockjsclient"
)

// NoCache is the Cache-Control value of responses that must not be cached.
const NoCache = "no-store, no-cache, no-transform, must-revalidate, max-age=0"

// oneYear is how long the iframe page, the script and CORS preflights may
// be cached.
const oneYear = 365 * 24 * time.Hour

// Greeting answers GET <prefix> and <prefix>/.
func Greeting(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	_, _ = w.Write([]byte("Welcome to SockJS!\n"))
}

// Info answers GET <prefix>/info: what the client needs to pick transports.
type Info struct {
	Websocket    bool
	CookieNeeded bool
}

type infoBody struct {
	Websocket    bool     `json:"websocket"`
	CookieNeeded bool     `json:"cookie_needed"`
	Origins      []string `json:"origins"`
	Entropy      uint32   `json:"entropy"`
}

func (i Info) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	body, _ := json.Marshal(infoBody{
		Websocket:    i.Websocket,
		CookieNeeded: i.CookieNeeded,
		Origins:      []string{"*:*"}, // unused by clients; the suite wants this value
		Entropy:      binary.BigEndian.Uint32(b[:]),
	})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Cache-Control", NoCache)
	_, _ = w.Write(body)
}

// Static serves fixed content that browsers may cache for a year, with a
// strong ETag and 304 answers.
type Static struct {
	// Source is what the content was made from: the iframe page's
	// sockjs-client URL.
	Source      string
	body        []byte
	contentType string
	etag        string
}

// NewIframe returns the iframe page that loads sockjs-client from
// sockjsURL. The page is what the protocol specifies, byte for byte but for
// the URL.
func NewIframe(sockjsURL string) *Static {
	page := `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="` + html.EscapeString(sockjsURL) + `"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`
	sum := sha256.Sum256([]byte(page))
	return &Static{
		Source:      sockjsURL,
		body:        []byte(page),
		contentType: "text/html; charset=UTF-8",
		etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
	}
}

// NewClientScript returns the embedded sockjs-client.
func NewClientScript() *Static {
	return &Static{
		body:        sockjsclient.Script(),
		contentType: "application/javascript; charset=UTF-8",
		etag:        sockjsclient.ETag(),
	}
}

// ClientScriptName is the file name, under the prefix, of NewClientScript.
const ClientScriptName = "sockjs-" + sockjsclient.Version + ".min.js"

func (s *Static) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000")
	h.Set("Expires", time.Now().Add(oneYear).UTC().Format(http.TimeFormat))
	h.Set("ETag", s.etag)
	if etagMatches(r.Header.Values("If-None-Match"), s.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", s.contentType)
	_, _ = w.Write(s.body)
}

// etagMatches reports whether an If-None-Match header lists etag (or *).
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for len(v) > 0 {
			// Skip separators, then take one entity tag.
			for len(v) > 0 && (v[0] == ',' || v[0] == ' ' || v[0] == '\t') {
				v = v[1:]
			}
			if len(v) == 0 {
				break
			}
			if v[0] == '*' {
				return true
			}
			end := len(v)
			if i := indexTagEnd(v); i > 0 {
				end = i
			}
			tag := v[:end]
			if len(tag) > 2 && tag[:2] == "W/" {
				tag = tag[2:] // weak comparison is what If-None-Match uses
			}
			if tag == etag {
				return true
			}
			v = v[end:]
		}
	}
	return false
}

// indexTagEnd returns the end of the entity tag at the start of v.
func indexTagEnd(v string) int {
	start := 0
	if len(v) > 2 && v[:2] == "W/" {
		start = 2
	}
	if start >= len(v) || v[start] != '"' {
		for i := 0; i < len(v); i++ {
			if v[i] == ',' {
				return i
			}
		}
		return len(v)
	}
	for i := start + 1; i < len(v); i++ {
		if v[i] == '"' {
			return i + 1
		}
	}
	return len(v)
}
