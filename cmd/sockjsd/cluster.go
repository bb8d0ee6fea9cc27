package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/sockjsd/sockjsd/sockjs/cluster"
	"github.com/sockjsd/sockjsd/sockjs/hub"
)

// validateCluster checks the cluster flags: one broker at most, and with
// one, a secret of 16 bytes or more and an address the other nodes can
// reach this one at.
func (c config) validateCluster() []error {
	var errs []error
	bad := func(flag, value, why string) {
		errs = append(errs, fmt.Errorf("invalid %s %q: %s", c.name(flag), value, why))
	}
	if c.redisURL != "" && c.natsURL != "" {
		errs = append(errs, fmt.Errorf("%s and %s: choose one broker, not both", c.name("redis"), c.name("nats")))
		return errs
	}
	if c.redisURL != "" {
		if _, err := redis.ParseURL(c.redisURL); err != nil {
			bad("redis", c.redisURL, "not a Redis URL such as redis://127.0.0.1:6379/0 ("+err.Error()+")")
		}
	}
	if c.natsURL != "" {
		if err := checkNATSURL(c.natsURL); err != nil {
			bad("nats", c.natsURL, err.Error())
		}
	}
	if c.redisURL == "" && c.natsURL == "" {
		for _, f := range []string{"advertise", "cluster-secret"} {
			if c.from[f] != "" {
				errs = append(errs, fmt.Errorf("%s needs -redis or -nats: without a broker sockjsd runs alone", c.name(f)))
			}
		}
		return errs
	}
	switch {
	case c.clusterSecret == "":
		errs = append(errs, fmt.Errorf("%s (or %s) is required with a broker: the same secret of at least 16 bytes on every node",
			c.name("cluster-secret"), envName("cluster-secret")))
	case len(c.clusterSecret) < 16:
		errs = append(errs, fmt.Errorf("invalid %s: %d bytes, must be at least 16 (32 random ones are better)",
			c.name("cluster-secret"), len(c.clusterSecret)))
	}
	if _, err := c.advertiseURL(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func checkNATSURL(s string) error {
	for _, one := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss") {
			return errors.New("not a NATS URL such as nats://127.0.0.1:4222 (several: comma-separated)")
		}
	}
	return nil
}

// advertiseURL is -advertise, or the URL of -addr when it names one host.
func (c config) advertiseURL() (string, error) {
	scheme := "http"
	if c.tlsCert != "" {
		scheme = "https"
	}
	if c.advertise != "" {
		u, err := url.Parse(c.advertise)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return "", fmt.Errorf("invalid %s %q: must be scheme://host:port, such as %s://10.0.0.5:8081", c.name("advertise"), c.advertise, scheme)
		}
		return strings.TrimSuffix(c.advertise, "/"), nil
	}
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" || port == "0" {
		return "", fmt.Errorf("%s is required with a broker when %s %q names no one host and port: the URL the other nodes reach this one at",
			c.name("advertise"), c.name("addr"), c.addr)
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// clusterNode is what a sockjsd in a cluster holds: the node wrapping its
// services, its broker connection, and one hub broker per hub.
type clusterNode struct {
	node    *cluster.Node
	brokers []interface{ Close() error }
	closeFn func() error // closes the broker connection
	kind    string       // "redis" or "nats"
	log     *slog.Logger
	redis   *redis.Client
	nats    *nats.Conn
}

// brokerTimeout bounds the first contact with the broker at start.
const brokerTimeout = 5 * time.Second

// startCluster connects to the broker the config names and makes this
// process a node; nil, nil without a broker. self is the advertised URL.
func startCluster(ctx context.Context, c config, log *slog.Logger) (*clusterNode, error) {
	if c.redisURL == "" && c.natsURL == "" {
		return nil, nil
	}
	self, err := c.advertiseURL()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	cn := &clusterNode{log: log}
	var engine cluster.Engine
	if c.redisURL != "" {
		opts, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name("redis"), err)
		}
		opts.DialTimeout = brokerTimeout
		cn.kind, cn.redis = "redis", redis.NewClient(opts)
		cn.closeFn = cn.redis.Close
		if err := cn.redis.Ping(ctx).Err(); err != nil {
			_ = cn.redis.Close()
			return nil, fmt.Errorf("cannot reach Redis at %s %s: %w", c.name("redis"), redactURL(c.redisURL), err)
		}
		engine = cluster.NewRedis(cn.redis, nil)
	} else {
		nc, err := nats.Connect(c.natsURL, nats.Timeout(brokerTimeout), nats.Name("sockjsd "+self),
			nats.MaxReconnects(-1),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("NATS connection lost", "err", err) }),
			nats.ReconnectHandler(func(*nats.Conn) { log.Info("NATS connection back") }))
		if err != nil {
			return nil, fmt.Errorf("cannot reach NATS at %s %s: %w", c.name("nats"), redactURL(c.natsURL), err)
		}
		cn.kind, cn.nats = "nats", nc
		cn.closeFn = func() error { nc.Close(); return nil }
		js, err := jetstream.New(nc)
		if err == nil {
			engine, err = cluster.NewNATS(ctx, js, nil)
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("NATS at %s %s (JetStream enabled? nats-server -js): %w", c.name("nats"), redactURL(c.natsURL), err)
		}
	}
	cn.node, err = cluster.New(cluster.Config{
		Engine: engine,
		URL:    self,
		Secret: []byte(c.clusterSecret),
		Logger: log,
	})
	if err != nil {
		_ = cn.closeFn()
		return nil, err
	}
	log.Info("sockjsd is a cluster node", "broker", cn.kind, "advertise", self, "node", cn.node.ID())
	return cn, nil
}

// hubBroker returns a broker for the hub of service name, shared with the
// same service's hub on every node; nil (the in-memory broker) on a
// single node.
func (cn *clusterNode) hubBroker(ctx context.Context, name string) (hub.Broker, error) {
	if cn == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	opts := cluster.HubOptions{Name: name, Logger: cn.log.With("hub", name)}
	var b interface {
		hub.Broker
		Close() error
	}
	var err error
	if cn.redis != nil {
		b, err = cluster.NewRedisHub(ctx, cn.redis, &opts)
	} else {
		b, err = cluster.NewNATSHub(ctx, cn.nats, &cluster.NATSHubOptions{HubOptions: opts})
	}
	if err != nil {
		return nil, fmt.Errorf("hub of %s on %s: %w", name, cn.kind, err)
	}
	cn.brokers = append(cn.brokers, b)
	return b, nil
}

// shutdown drains the node's sessions with close frames, releases its
// claims and presence, and closes the broker connection.
func (cn *clusterNode) shutdown(ctx context.Context) error {
	errs := []error{cn.node.Shutdown(ctx)}
	for _, b := range cn.brokers {
		errs = append(errs, b.Close())
	}
	errs = append(errs, cn.closeFn())
	return errors.Join(errs...)
}

// redactURL hides a password in a broker URL for logs and errors.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// clusterServices gives the hub of every service that has one a broker
// of the cluster.
//
// It rebuilds the broadcast, chat and STOMP services' hubs here, as
// services.go builds them, on the cluster's broker (the in-memory hubs
// they replace hold nothing yet and start no goroutine).
func clusterServices(ctx context.Context, svcs []service, cn *clusterNode) ([]service, error) {
	if cn == nil {
		return svcs, nil
	}
	for i := range svcs {
		if svcs[i].name != "broadcast" && svcs[i].name != "chat" && svcs[i].name != "stomp" {
			continue
		}
		b, err := cn.hubBroker(ctx, svcs[i].name)
		if err != nil {
			return nil, err
		}
		switch svcs[i].name {
		case "chat":
			svcs[i].handler = newChat(b).serve
		case "stomp":
			svcs[i].build = newStomp(b)
		default:
			svcs[i].handler = (&broadcastHub{hub.New(&hub.Options{Broker: b})}).serve
		}
	}
	return svcs, nil
}
