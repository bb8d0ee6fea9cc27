package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers a node adds to a forwarded request. Together they say who
// sent it, for which client, when, and the signature over all of that.
const (
	hdrBy        = "Sockjsd-Forwarded-By" // the forwarding node's owner value
	hdrClient    = "Sockjsd-Client"       // the client's address: RemoteAddr at the forwarding node
	hdrProto     = "Sockjsd-Proto"        // "https" if the client's request came over TLS
	hdrTime      = "Sockjsd-Time"         // Unix time in milliseconds
	hdrSignature = "Sockjsd-Signature"    // base64 HMAC-SHA256 of the signed fields
)

var forwardingHeaders = []string{hdrBy, hdrClient, hdrProto, hdrTime, hdrSignature}

// maxSkew bounds how old (or how far ahead, between clocks) a forwarded
// request's time may be: a captured request cannot be replayed later.
const maxSkew = 30 * time.Second

// carriesForwarding reports whether any forwarding header is present: a
// request with one is served only if all of them check out.
func carriesForwarding(h http.Header) bool {
	for _, k := range forwardingHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// sign sets the forwarding headers of out, the request to the owner made
// from in, the client's.
func (n *Node) sign(out, in *http.Request, now time.Time) {
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	h := out.Header
	for _, k := range forwardingHeaders {
		delete(h, k)
	}
	h[hdrBy] = []string{n.self}
	h[hdrClient] = []string{in.RemoteAddr}
	h[hdrProto] = []string{proto}
	h[hdrTime] = []string{strconv.FormatInt(now.UnixMilli(), 10)}
	// The owner sees the target the Transport writes, which is this.
	h[hdrSignature] = []string{n.mac(out.Method, out.Host, out.URL.RequestURI(), h)}
}

// mac signs the request line, the Host, the forwarding fields, and the
// headers the owner's origin policy, session binding and proxy trust read.
// Header values cannot hold a newline, so newline-separated fields are
// unambiguous.
func (n *Node) mac(method, host, target string, h http.Header) string {
	m := hmac.New(sha256.New, n.secret)
	field := func(s string) {
		m.Write([]byte(s))
		m.Write([]byte{'\n'})
	}
	field("sockjsd-forward-1")
	field(method)
	field(host)
	field(target)
	for _, k := range forwardingHeaders[:4] {
		field(h.Get(k))
	}
	for _, k := range []string{"Origin", "X-Forwarded-For", "X-Forwarded-Proto", "Forwarded", "Cookie"} {
		writeValues(m, h[k])
	}
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

func writeValues(m hash.Hash, vs []string) {
	m.Write([]byte(strconv.Itoa(len(vs))))
	m.Write([]byte{'\n'})
	for _, v := range vs {
		m.Write([]byte(v))
		m.Write([]byte{'\n'})
	}
}

// Reasons a forwarded request is refused.
var (
	errUnsigned  = errors.New("forwarding headers without a valid signature")
	errStale     = errors.New("forwarded request too old or from the future")
	errMalformed = errors.New("malformed forwarding headers")
)

// verify checks r's forwarding headers and returns the request as the
// forwarding node received it: the client's address as RemoteAddr, TLS
// state if the client used TLS, and no forwarding headers. The signature
// is checked before anything in the request is believed.
func (n *Node) verify(r *http.Request, now time.Time) (*http.Request, error) {
	h := r.Header
	for _, k := range forwardingHeaders {
		if len(h[k]) != 1 {
			return nil, errMalformed
		}
	}
	want := n.mac(r.Method, r.Host, requestTarget(r), h)
	if !hmac.Equal([]byte(want), []byte(h.Get(hdrSignature))) {
		return nil, errUnsigned
	}
	ms, err := strconv.ParseInt(h.Get(hdrTime), 10, 64)
	if err != nil {
		return nil, errMalformed
	}
	if d := now.Sub(time.UnixMilli(ms)); d > maxSkew || d < -maxSkew {
		return nil, errStale
	}
	client := h.Get(hdrClient)
	if client == "" || strings.ContainsAny(client, " ,") {
		return nil, errMalformed
	}
	out := new(http.Request)
	*out = *r
	out.Header = h.Clone()
	for _, k := range forwardingHeaders {
		delete(out.Header, k)
	}
	out.RemoteAddr = client
	if h.Get(hdrProto) == "https" && out.TLS == nil {
		// Only the fact matters to the Server (a JSESSIONID cookie over
		// HTTPS is Secure); the client's TLS session was the peer's.
		out.TLS = &tls.ConnectionState{HandshakeComplete: true}
	}
	return out, nil
}
