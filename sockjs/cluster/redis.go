package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is an Engine on a Redis server (or a Redis Cluster: every
// operation touches one key). Create it with NewRedis.
type Redis struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
}

// RedisOptions configures a Redis engine. The zero value is usable.
type RedisOptions struct {
	// Prefix starts every key the engine writes. Empty means
	// "sockjsd:owner:".
	Prefix string
	// TTL is how long a claim lives unrefreshed. Zero means DefaultTTL.
	TTL time.Duration
}

// NewRedis returns an Engine keeping claims in the Redis server client
// talks to. The client stays the caller's to close.
func NewRedis(client redis.UniversalClient, opts *RedisOptions) *Redis {
	var o RedisOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = "sockjsd:owner:"
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	return &Redis{client: client, prefix: o.Prefix, ttl: o.TTL}
}

// Each script reads and writes one key, atomically.
var (
	// KEYS[1] key, ARGV[1] owner, ARGV[2] ttl in ms: the owner after the call.
	claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`)
	// KEYS[1] key, ARGV[1] owner, ARGV[2] ttl in ms: 1 if refreshed.
	refreshScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	// KEYS[1] key, ARGV[1] owner: 1 if deleted.
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)
)

// Claim implements Engine.
func (e *Redis) Claim(ctx context.Context, key, owner string) (string, error) {
	return claimScript.Run(ctx, e.client, []string{e.prefix + key}, owner, e.ttl.Milliseconds()).Text()
}

// Owner implements Engine.
func (e *Redis) Owner(ctx context.Context, key string) (string, error) {
	v, err := e.client.Get(ctx, e.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// Refresh implements Engine.
func (e *Redis) Refresh(ctx context.Context, key, owner string) (bool, error) {
	n, err := refreshScript.Run(ctx, e.client, []string{e.prefix + key}, owner, e.ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release implements Engine.
func (e *Redis) Release(ctx context.Context, key, owner string) (bool, error) {
	n, err := releaseScript.Run(ctx, e.client, []string{e.prefix + key}, owner).Int()
	return n == 1, err
}

// TTL implements Engine.
func (e *Redis) TTL() time.Duration { return e.ttl }
