package sockjs

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-chi/chi/v5"
)

// snapshotRequest copies the opening request so that the application may
// use it for the session's whole life: the original's context ends with
// the request, and chi puts its routing context (URL parameters) back in a
// pool for reuse, so that is copied too. This is the one place the sockjs
// package knows about chi; with http.ServeMux, PathValue works on the clone.
func snapshotRequest(r *http.Request) *http.Request {
	ctx := context.WithoutCancel(r.Context())
	if rc := chi.RouteContext(ctx); rc != nil {
		ctx = context.WithValue(ctx, chi.RouteCtxKey, rc.Clone())
	}
	// A shallow copy: the header map, URL and strings are shared with the
	// original, which nothing changes once net/http has parsed it (it
	// never reuses a request), so a session keeps no second copy of them.
	c := r.WithContext(ctx)
	c.Body = http.NoBody
	c.GetBody = nil
	c.ContentLength = 0
	return c
}

// ClientIP returns the address of the client that sent r: the connection's
// peer, or, when the peer is one of trusted (reverse proxies), the nearest
// address in X-Forwarded-For that is not a trusted proxy.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(addr, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			break // a forged or garbled list: trust nothing beyond this hop
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
