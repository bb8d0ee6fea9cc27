package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// The tests run real Redis and NATS servers from Debian's redis-server
// and nats-server packages (.ci/deps installs them), one of each for the
// whole test binary, on free loopback ports, stopped by PID when the
// tests end. A test that needs a missing binary is skipped.

func TestMain(m *testing.M) {
	code := m.Run()
	stopServers()
	os.Exit(code)
}

// external is a server process the tests started.
type external struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	err  error
}

var (
	serversMu sync.Mutex // guards servers
	servers   = map[string]*external{}
)

func stopServers() {
	serversMu.Lock()
	defer serversMu.Unlock()
	for _, s := range servers {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
	}
	clear(servers)
}

// findBinary looks in PATH and in the sbin directories Debian installs
// servers into (nats-server is in /usr/sbin).
func findBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startServer starts (once per test binary) the named server, waiting
// until ready answers, and returns its address.
func startServer(t testing.TB, name string, args func(port int, dir string) []string, ready func(addr string) error) string {
	t.Helper()
	serversMu.Lock()
	defer serversMu.Unlock()
	if s := servers[name]; s != nil {
		if s.err != nil {
			t.Fatal(s.err)
		}
		return s.addr
	}
	bin := findBinary(name)
	if bin == "" {
		t.Skipf("%s is not installed (Debian package %s; .ci/deps installs it)", name, name)
	}
	dir, err := os.MkdirTemp("", "sockjsd-"+name)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	s := &external{addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir}
	servers[name] = s
	s.cmd = exec.Command(bin, args(port, dir)...)
	s.cmd.Dir = dir
	logf, _ := os.Create(filepath.Join(dir, "log"))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		s.err = fmt.Errorf("starting %s: %w", name, err)
		t.Fatal(s.err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := ready(s.addr)
		if err == nil {
			return s.addr
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			s.err = fmt.Errorf("%s not ready on %s: %v\n%s", name, s.addr, err, log)
			t.Fatal(s.err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func redisAddr(t testing.TB) string {
	return startServer(t, "redis-server",
		func(port int, _ string) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
		},
		func(addr string) error {
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
			defer c.Close()
			return c.Ping(context.Background()).Err()
		})
}

func natsURL(t testing.TB) string {
	addr := startServer(t, "nats-server",
		func(port int, dir string) []string {
			return []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir}
		},
		func(addr string) error {
			nc, err := nats.Connect("nats://"+addr, nats.Timeout(time.Second))
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			_, err = js.AccountInfo(context.Background())
			return err
		})
	return "nats://" + addr
}

var testKeys sync.Mutex // guards testSeq
var testSeq int

// uniqueName is a fresh key prefix or bucket name, so that tests sharing
// one server share no keys.
func uniqueName(prefix string) string {
	testKeys.Lock()
	defer testKeys.Unlock()
	testSeq++
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), testSeq)
}

// engineCase builds a fresh engine of one kind with the given TTL.
type engineCase struct {
	name string
	make func(t testing.TB, ttl time.Duration) Engine
}

var engineCases = []engineCase{
	{"memory", func(_ testing.TB, ttl time.Duration) Engine { return NewMemory(ttl) }},
	{"redis", func(t testing.TB, ttl time.Duration) Engine {
		c := redis.NewClient(&redis.Options{Addr: redisAddr(t)})
		t.Cleanup(func() { c.Close() })
		return NewRedis(c, &RedisOptions{Prefix: uniqueName("test:") + ":", TTL: ttl})
	}},
	{"nats", func(t testing.TB, ttl time.Duration) Engine {
		nc, err := nats.Connect(natsURL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		e, err := NewNATS(context.Background(), js, &NATSOptions{Bucket: uniqueName("test-"), TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}},
}
