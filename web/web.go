// Package web serves sockjsd's demo page: an echo test, a chat with rooms,
// presence, history and private messages, a STOMP chat with rooms as
// /topic/room.<name>, and a close-code test over every SockJS transport,
// in plain HTML, CSS and JavaScript embedded in the binary (no CDN, no
// build step; the STOMP client, @stomp/stompjs, is vendored).
//
// The page expects the SockJS services /echo, /chat, /stomp and /close on
// the same server (as cmd/sockjsd mounts them; /chat's protocol is
// documented in cmd/sockjsd/chat.go, /stomp's in cmd/sockjsd/stomp.go)
// and loads sockjs-client from
// /echo/sockjs-<version>.min.js, which the /echo service serves from package
// sockjsclient. With ?server=URL it talks to another server's services.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/sockjsd/sockjsd/web/sockjsclient"
)

//go:embed static
var staticFS embed.FS

// asset is one file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

var assets = loadAssets()

func loadAssets() map[string]*asset {
	m := map[string]*asset{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		if name == "index.html" {
			b = bytes.ReplaceAll(b, []byte("{{SOCKJS_VERSION}}"), []byte(sockjsclient.Version))
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		if strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "charset") {
			ct += "; charset=utf-8"
		}
		sum := sha256.Sum256(b)
		m[name] = &asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: reading embedded files: " + err.Error())
	}
	return m
}

// Handler returns the demo page's handler, to be mounted at the root of a
// server whose SockJS services are /echo, /chat, /stomp and /close. It serves
// the page at "/" and its files under "/static/"; anything else is 404.
func Handler() http.Handler { return http.HandlerFunc(serve) }

func serve(w http.ResponseWriter, r *http.Request) {
	var a *asset
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		a = assets["index.html"]
	case strings.HasPrefix(p, "/static/"):
		name := strings.TrimPrefix(p, "/static/")
		if name != "index.html" {
			a = assets[name]
		}
	case p == "/favicon.ico":
		a = assets["favicon.svg"]
	}
	if a == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if a == assets["index.html"] {
		h.Set("Content-Security-Policy", contentSecurityPolicy(r.URL.Query().Get("server")))
		h.Set("Referrer-Policy", "same-origin")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// contentSecurityPolicy allows the page's own files and the SockJS
// transports of this origin, plus those of the origin named by the page's
// ?server= parameter. Transports need script-src (jsonp), frame-src and
// form-action (iframe transports, htmlfile, jsonp_send) and connect-src
// (xhr, eventsource, websocket).
func contentSecurityPolicy(server string) string {
	extra, ws := "", ""
	if u, err := url.Parse(server); err == nil && server != "" && u.Host != "" &&
		(u.Scheme == "http" || u.Scheme == "https") && !strings.ContainsAny(u.Host, " ;,'\"") {
		o := u.Scheme + "://" + u.Host
		extra = " " + o
		ws = " " + strings.Replace(o, "http", "ws", 1)
	}
	return "default-src 'self'" +
		"; script-src 'self'" + extra +
		"; connect-src 'self'" + extra + ws +
		"; frame-src 'self'" + extra +
		"; form-action 'self'" + extra +
		"; img-src 'self' data:" +
		"; style-src 'self'" +
		"; object-src 'none'" +
		"; base-uri 'none'" +
		"; frame-ancestors 'none'"
}
