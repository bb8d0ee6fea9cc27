package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Target is a SockJS service: the base URL under which
// <server>/<session>/<transport> URLs live.
type Target struct {
	URL  string // as given
	Host string // host:port, as sent in the Host header
	Addr string // ip:port to connect to (always loopback)
	Path string // base path without trailing slash, e.g. "/echo"
}

// dialHost is the host:port the client asks to dial for this target.
func (t Target) dialHost() string {
	if _, _, err := net.SplitHostPort(t.Host); err == nil {
		return t.Host
	}
	return net.JoinHostPort(strings.Trim(t.Host, "[]"), "80")
}

// errNotLoopback is returned for any target outside 127.0.0.0/8 and ::1.
// This tool only ever loads servers on this machine.
var errNotLoopback = errors.New("only loopback targets (127.0.0.0/8, ::1, localhost) are allowed")

// ParseTarget parses a base URL such as http://127.0.0.1:8081/echo and
// refuses anything that is not a loopback address.
func ParseTarget(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Target{}, err
	}
	switch u.Scheme {
	case "http", "ws":
	default:
		return Target{}, fmt.Errorf("%s: scheme must be http or ws", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Target{}, fmt.Errorf("%s: base URL takes no user, query or fragment", raw)
	}
	ip, err := loopbackHost(u.Hostname())
	if err != nil {
		return Target{}, fmt.Errorf("%s: %w", raw, err)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	return Target{
		URL:  raw,
		Host: u.Host,
		Addr: net.JoinHostPort(ip.String(), port),
		Path: strings.TrimRight(u.EscapedPath(), "/"),
	}, nil
}

// loopbackHost resolves host, which must be a loopback IP or a name that
// resolves only to loopback addresses (localhost).
func loopbackHost(host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.IsLoopback() {
			return netip.Addr{}, errNotLoopback
		}
		return ip.Unmap(), nil
	}
	if host != "localhost" && !strings.HasSuffix(host, ".localhost") {
		return netip.Addr{}, errNotLoopback
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolving %s: %v", host, err)
	}
	var v4 netip.Addr
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			return netip.Addr{}, errNotLoopback
		}
		if ip.Unmap().Is4() && !v4.IsValid() {
			v4 = ip.Unmap()
		}
	}
	if v4.IsValid() {
		return v4, nil
	}
	return ips[0].Unmap(), nil
}

// ParseSources parses a comma separated list of loopback source
// addresses; an element may be a range such as 127.0.0.1-127.0.0.8.
func ParseSources(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		first, last, isRange := strings.Cut(part, "-")
		a, err := netip.ParseAddr(first)
		if err != nil {
			return nil, fmt.Errorf("source %q: %v", part, err)
		}
		b := a
		if isRange {
			if b, err = netip.ParseAddr(last); err != nil {
				return nil, fmt.Errorf("source %q: %v", part, err)
			}
			if b.Less(a) || a.BitLen() != b.BitLen() {
				return nil, fmt.Errorf("source %q: bad range", part)
			}
		}
		for ip := a; ; ip = ip.Next() {
			if !ip.IsLoopback() {
				return nil, fmt.Errorf("source %s: %w", ip, errNotLoopback)
			}
			out = append(out, ip)
			if len(out) > 1024 {
				return nil, fmt.Errorf("source %q: more than 1024 addresses", part)
			}
			if ip == b {
				break
			}
		}
	}
	return out, nil
}

// Dialer opens TCP connections to a loopback target, spreading sessions
// over several loopback source addresses so that more than ~28,000
// sessions can be held without running out of ephemeral ports. Every
// connection of one session comes from the same address, as from one
// browser: servers may bind a session to its client's address.
type Dialer struct {
	Sources []netip.Addr // empty: let the kernel choose
	Timeout time.Duration
	RcvBuf  int // receive buffer per connection in bytes; 0: the kernel's
	next    atomic.Uint64
}

// Pick returns the source address for a new session (invalid: any).
func (d *Dialer) Pick() netip.Addr {
	if len(d.Sources) == 0 {
		return netip.Addr{}
	}
	return d.Sources[d.next.Add(1)%uint64(len(d.Sources))]
}

// Dial connects to addr from src (if valid).
func (d *Dialer) Dial(ctx context.Context, src netip.Addr, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.Timeout, Control: bindNoPort}
	if d.RcvBuf > 0 {
		nd.Control = func(network, address string, c syscall.RawConn) error {
			_ = bindNoPort(network, address, c)
			return setRcvBuf(c, d.RcvBuf)
		}
	}
	if src.IsValid() {
		nd.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	c, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c, nil
}

// Session ids: 8 characters from sockjs-client's alphabet plus a counter
// part so that ids are unique within a run.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz012345"

var (
	idCounter atomic.Uint64
	runPrefix = func() string {
		var b [3]byte
		_, _ = rand.Read(b[:])
		return string([]byte{idAlphabet[b[0]%32], idAlphabet[b[1]%32], idAlphabet[b[2]%32]})
	}()
)

// newSessionID returns a fresh id: 3 random characters per run and a
// base-32 counter, at least 8 characters long.
func newSessionID() string {
	n := idCounter.Add(1)
	b := []byte(runPrefix)
	var tail [13]byte
	i := len(tail)
	for {
		i--
		tail[i] = idAlphabet[n%32]
		n /= 32
		if n == 0 {
			break
		}
	}
	for len(b)+len(tail)-i < 8 {
		b = append(b, 'a')
	}
	return string(append(b, tail[i:]...))
}

// serverID returns a SockJS server id, "000" to "999".
func serverID(n uint64) string {
	return fmt.Sprintf("%03d", n%1000)
}
