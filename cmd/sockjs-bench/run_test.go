package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// runTool runs the tool in-process and decodes its -json result.
func runTool(t *testing.T, args ...string) (int, *Result, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := run(ctx, append(args, "-json", "-q"), &stdout, &stderr)
	if code == 2 {
		return code, nil, stderr.String()
	}
	var res Result
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("run %q: exit %d, bad JSON %v: %s\nstderr: %s", args, code, err, stdout.String(), stderr.String())
	}
	return code, &res, stderr.String()
}

// These runs check the tool's behaviour end to end against a fake server;
// their figures are not asserted (a loaded test machine may be slow).
func TestScenariosAgainstFake(t *testing.T) {
	pid := fmt.Sprint(os.Getpid()) // the fake servers live in this process
	short := []string{"-duration", "300ms", "-timeout", "5s"}
	const url = "URL" // replaced by each case's own fake server
	tests := []struct {
		name string
		args []string
		ok   func(*Result) bool
	}{
		{"echo websocket", []string{"echo", "-url", url + "/echo", "-sessions", "4", "-inflight", "8", "-warmup", "50ms", "-pid", pid},
			func(r *Result) bool { return r.Messages > 0 && r.Latency.Count > 0 && r.Server != nil }},
		{"echo xhr-streaming", []string{"echo", "-url", url + "/echo", "-transport", "xhr-streaming", "-sessions", "4", "-inflight", "8", "-size", "200", "-warmup", "50ms"},
			func(r *Result) bool { return r.Messages > 0 }},
		{"echo xhr-polling", []string{"echo", "-url", url + "/echo", "-transport", "xhr-polling", "-sessions", "4", "-inflight", "4", "-warmup", "50ms"},
			func(r *Result) bool { return r.Messages > 0 }},
		{"echo paced", []string{"echo", "-url", url + "/echo", "-sessions", "4", "-rate", "200", "-warmup", "0s"},
			func(r *Result) bool { return r.Messages > 0 && r.Messages < 200 }},
		{"echo count", []string{"echo", "-url", url + "/echo", "-sessions", "2", "-count", "50", "-warmup", "0s", "-duration", "10s"},
			func(r *Result) bool { return r.Messages == 50 && r.Seconds < 5 }},
		{"broadcast websocket", []string{"broadcast", "-url", url + "/broadcast", "-sessions", "10", "-inflight", "4", "-warmup", "50ms"},
			func(r *Result) bool { return r.Messages > 0 && r.Publishes > 0 }},
		{"broadcast xhr-streaming", []string{"broadcast", "-url", url + "/broadcast", "-transport", "xhr-streaming", "-sessions", "5", "-warmup", "50ms"},
			func(r *Result) bool { return r.Messages > 0 }},
		{"connect websocket", []string{"connect", "-url", url + "/echo", "-concurrency", "4", "-warmup", "50ms"},
			func(r *Result) bool { return r.Connects > 0 }},
		{"connect xhr-polling", []string{"connect", "-url", url + "/echo", "-transport", "xhr-polling", "-concurrency", "2", "-warmup", "50ms"},
			func(r *Result) bool { return r.Connects > 0 }},
		{"idle websocket", []string{"idle", "-url", url + "/echo", "-sessions", "50", "-settle", "0s", "-pid", pid},
			func(r *Result) bool { return r.Opened == 50 && r.Verified == 50 && r.Server != nil }},
		{"idle xhr-streaming", []string{"idle", "-url", url + "/echo", "-transport", "xhr-streaming", "-sessions", "20", "-settle", "0s"},
			func(r *Result) bool { return r.Opened == 20 && r.Verified == 20 }},
		{"soak", []string{"soak", "-url", url + "/echo", "-concurrency", "4", "-settle", "0s", "-pid", pid,
			"-goroutines-url", url + "/debug/goroutines"},
			func(r *Result) bool {
				return r.Connects > 0 && r.Server != nil && r.Server.Before.Goroutines > 0 && r.Server.Peak != nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, srv := newFakeServer("")
			defer srv.Close()
			args := append([]string{}, tt.args...)
			for i, a := range args {
				args[i] = strings.Replace(a, url, srv.URL, 1)
			}
			code, res, _ := runTool(t, append(args, short...)...)
			if code != 0 || !res.Valid {
				t.Fatalf("exit %d, errors %+v", code, res.Errors)
			}
			if !tt.ok(res) {
				t.Fatalf("unexpected result %+v", res)
			}
		})
	}
}

// A misbehaving server makes the run invalid, names the error, and the
// tool exits 1.
func TestErrorsInvalidateRun(t *testing.T) {
	tests := []struct {
		fault, transport, kind string
	}{
		{"2010", "xhr-polling", "close-frame 2010"},
		{"wrong-echo", "websocket", string(KindMismatch)},
		{"drop-message", "websocket", string(KindMismatch)},
		{"stall", "websocket", string(KindTimeout)},
		{"bad-prelude", "xhr-streaming", string(KindHandshake)},
		{"send-500", "xhr-streaming", string(KindStatus)},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			t.Parallel()
			_, srv := newFakeServer(tt.fault)
			defer srv.Close()
			code, res, _ := runTool(t, "echo", "-url", srv.URL+"/echo", "-transport", tt.transport,
				"-sessions", "2", "-inflight", "2", "-duration", "300ms", "-warmup", "0s", "-timeout", "500ms")
			if code != 1 || res.Valid {
				t.Fatalf("exit %d valid %v, want an invalid run", code, res.Valid)
			}
			found := false
			for _, e := range res.Errors {
				found = found || e.Kind == tt.kind
			}
			if !found {
				t.Fatalf("errors %+v, want kind %q", res.Errors, tt.kind)
			}
		})
	}
}

func TestNothingListening(t *testing.T) {
	_, srv := newFakeServer("")
	url := srv.URL
	srv.Close()
	code, res, _ := runTool(t, "echo", "-url", url+"/echo", "-sessions", "2", "-duration", "100ms", "-timeout", "1s")
	if code != 1 || res.ErrorCount != 2 || res.Errors[0].Kind != string(KindDial) {
		t.Fatalf("exit %d, errors %+v", code, res.Errors)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"echo", "-url", "http://10.0.0.1:80/echo"}, "only loopback"},
		{[]string{"echo", "-url", "http://example.com/echo"}, "only loopback"},
		{[]string{"echo", "-url", "http://127.0.0.1:1/echo", "-source", "192.168.1.1"}, "only loopback"},
		{[]string{"echo"}, "-url is required"},
		{[]string{"echo", "-url", "http://127.0.0.1:1/echo", "-duration", "0s"}, "-duration"},
		{[]string{"echo", "-url", "http://127.0.0.1:1/echo", "-transport", "jsonp"}, "-transport"},
		{[]string{"echo", "-url", "http://127.0.0.1:1/echo", "-size", "4"}, "-size"},
		{[]string{"soak", "-url", "http://127.0.0.1:1/echo"}, "-pid"},
		{[]string{"flood", "-url", "http://127.0.0.1:1/echo"}, "unknown scenario"},
		{[]string{"echo", "-url", "https://127.0.0.1:1/echo"}, "scheme"},
		{[]string{"echo", "-url", "http://127.0.0.1:1/echo,http://10.0.0.1:1/echo"}, "only loopback"},
		{[]string{"echo", "-url", "http://127.0.0.1:1/echo,http://127.0.0.1:2/echo", "-spread", "node"}, "-spread"},
		{[]string{"echo", "-url", ","}, "-url"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tt.args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("run %q = %d, %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
		}
	}
}
