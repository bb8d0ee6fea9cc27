package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// clientHello is the start of a TLS 1.2 ClientHello record as browsers send
// it: handshake record (0x16), version, length, then the handshake.
var clientHello = append([]byte{0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03},
	[]byte(strings.Repeat("\x00", 160))...)

// TestPlainPortRefusesTLS: a TLS handshake sent to the plain-HTTP port
// gets a plain 400 that says so, and the connection ends; ordinary HTTP on
// the same port is unaffected.
func TestPlainPortRefusesTLS(t *testing.T) {
	s := start(t)
	tests := []struct {
		name  string
		parts [][]byte // written one after another
	}{
		{"whole record", [][]byte{clientHello}},
		{"record header alone first", [][]byte{clientHello[:1], clientHello[1:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.at.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Far below ReadHeaderTimeout (10 s), which is all a TLS
			// client would get otherwise: silence, then a close.
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			for _, p := range tt.parts {
				if _, err := c.Write(p); err != nil {
					t.Fatal(err)
				}
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("no HTTP answer to a TLS handshake: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || string(body) != "Client sent a TLS handshake to a plain HTTP port\n" {
				t.Errorf("got %d %q, want 400 and the reason", resp.StatusCode, body)
			}
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("after the 400: read %d, %v; want the connection closed (EOF)", n, err)
			}
		})
	}

	t.Run("a real TLS client gets an error, not a hang", func(t *testing.T) {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", s.at.addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			c.Close()
			t.Fatal("TLS handshake with the plain port succeeded")
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("TLS client timed out instead of being answered: %v", err)
		}
	})

	// The check looks at the first byte only: a request after it, and on
	// the same keep-alive connection, is served as ever.
	c, err := net.Dial("tcp", s.at.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := range 2 {
		if _, err := io.WriteString(c, "GET /echo/info HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"websocket":true`) {
			t.Errorf("request %d: %d %s", i, resp.StatusCode, body)
		}
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if logs := s.logs.String(); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("refusing TLS logged warnings or errors:\n%s", logs)
	}
}
