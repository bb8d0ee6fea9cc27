package sockjs

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// This file is where a Server learns where it is mounted, and the one
// place the sockjs package knows about chi.

// relativePath returns the path of r below the Server's mount point:
//   - a prefix without wildcards ("/echo") is cut from the path;
//   - a prefix with http.ServeMux wildcards ("/rooms/{room}/chat") is
//     matched segment by segment, each wildcard standing for one segment;
//   - an empty prefix means a router has said where the Server is mounted:
//     chi's Mount through its route context, or an http.ServeMux pattern
//     (Request.Pattern) whose segments lead the path. Anything else
//     (http.StripPrefix) has already cut the path.
func (s *Server) relativePath(r *http.Request) (string, bool) {
	switch {
	case s.prefix == "":
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePath != "" {
			return rc.RoutePath, true
		}
		if r.Pattern != "" {
			if rest, ok := cutSegments(r.URL.Path, patternPath(r.Pattern)); ok {
				return rest, true
			}
		}
		return r.URL.Path, true
	case s.wildcards:
		return cutSegments(r.URL.Path, s.prefix)
	}
	return strings.CutPrefix(r.URL.Path, s.prefix)
}

// patternPath returns the mount point an http.ServeMux pattern names: the
// pattern less its method, host, trailing slash and trailing {name...}
// wildcard ("GET example.com/rooms/{room}/chat/" is "/rooms/{room}/chat").
func patternPath(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimLeft(p, " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		pattern = pattern[i:]
	}
	if i := strings.LastIndex(pattern, "/{"); i >= 0 && strings.HasSuffix(pattern, "...}") {
		pattern = pattern[:i]
	}
	pattern = strings.TrimSuffix(pattern, "/{$}")
	return strings.TrimSuffix(pattern, "/")
}

// cutSegments cuts from path the segments of prefix, where a "{name}"
// segment matches any one non-empty segment, and returns the rest.
func cutSegments(path, prefix string) (string, bool) {
	for prefix != "" {
		var want string
		var ok bool
		if prefix, ok = strings.CutPrefix(prefix, "/"); !ok {
			return "", false
		}
		want, prefix, _ = strings.Cut(prefix, "/")
		if prefix != "" {
			prefix = "/" + prefix
		}
		if path, ok = strings.CutPrefix(path, "/"); !ok {
			return "", false
		}
		got, rest, found := strings.Cut(path, "/")
		if found {
			rest = "/" + rest
		}
		if isWildcard(want) {
			if got == "" {
				return "", false
			}
		} else if got != want {
			return "", false
		}
		path = rest
	}
	return path, true
}

func isWildcard(segment string) bool {
	return len(segment) > 2 && segment[0] == '{' && segment[len(segment)-1] == '}'
}

// snapshotRequest copies the opening request so that the application may
// use it for the session's whole life: the original's context ends with
// the request, and chi puts its routing context (URL parameters) back in a
// pool for reuse, so that is cloned too. With http.ServeMux, PathValue
// works on the copy as it does on the original.
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
