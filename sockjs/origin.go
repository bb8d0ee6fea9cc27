package sockjs

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/sockjsd/sockjsd/info"
)

// originPolicy is the one origin check every transport goes through:
// CORS requests, websocket upgrades and the iframe page alike.
type originPolicy struct {
	any      bool     // no restriction (the default)
	patterns []string // lower-case origins, with at most one "*" each
}

func newOriginPolicy(allowed []string) originPolicy {
	p := originPolicy{any: len(allowed) == 0}
	for _, o := range allowed {
		o = strings.ToLower(strings.TrimSpace(o))
		if o == "*" {
			p.any = true
		}
		if _, err := path.Match(o, ""); err != nil {
			panic("sockjs: malformed AllowedOrigins pattern " + o)
		}
		p.patterns = append(p.patterns, o)
	}
	return p
}

// allows reports whether r may be served: it carries no Origin (not a
// cross-origin browser request), comes from the server's own origin, or
// from an allowed one.
func (p originPolicy) allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if p.any || origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	origin = strings.ToLower(origin)
	for _, pat := range p.patterns {
		if ok, _ := path.Match(pat, origin); ok {
			return true
		}
	}
	return false
}

// setCORS lets the page at the request's Origin read the answer, cookies
// included: browsers refuse "*" with credentials, so the exact origin is
// echoed ("null" too, for pages loaded from file://).
func setCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" {
		h["Access-Control-Allow-Origin"] = anyOriginHeader
		return
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	h["Access-Control-Allow-Credentials"] = trueHeader
	if v := h["Vary"]; v == nil {
		h["Vary"] = varyOriginHeader
	} else {
		h["Vary"] = append(v, "Origin")
	}
}

// Header values built once and shared (net/http only reads them).
var (
	anyOriginHeader  = []string{"*"}
	trueHeader       = []string{"true"}
	varyOriginHeader = []string{"Origin"}
	noCacheHeader    = []string{info.NoCache}
)

// preflight answers a CORS preflight (OPTIONS) for a URL that allows
// methods; browsers may cache the answer for a year.
func preflight(w http.ResponseWriter, r *http.Request, methods string) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=31536000")
	h.Set("Expires", time.Now().Add(365*24*time.Hour).UTC().Format(http.TimeFormat))
	h.Set("Access-Control-Max-Age", "31536000")
	h.Set("Access-Control-Allow-Methods", methods)
	if hdrs := r.Header.Get("Access-Control-Request-Headers"); hdrs != "" {
		h.Set("Access-Control-Allow-Headers", hdrs)
	}
	w.WriteHeader(http.StatusNoContent)
}
