package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// NATS is an Engine on a NATS JetStream key-value bucket. Create it with
// NewNATS.
type NATS struct {
	kv  jetstream.KeyValue
	ttl time.Duration
}

// NATSOptions configures a NATS engine. The zero value is usable.
type NATSOptions struct {
	// Bucket is the key-value bucket of the claims. Empty means
	// "sockjsd-owners".
	Bucket string
	// TTL is how long a claim lives unrefreshed; JetStream expires every
	// key of a bucket after the same time (the bucket's max age), so it
	// is set on the bucket. Zero means DefaultTTL.
	TTL time.Duration
	// Replicas is the bucket's number of replicas in a JetStream cluster.
	// Zero means 1.
	Replicas int
}

// NewNATS returns an Engine keeping claims in a JetStream key-value
// bucket, which it creates, or updates to opts, if needed. The bucket is
// in memory: claims are worth nothing once the nodes that hold the
// sessions are gone. The connection stays the caller's to close.
func NewNATS(ctx context.Context, js jetstream.JetStream, opts *NATSOptions) (*NATS, error) {
	var o NATSOptions
	if opts != nil {
		o = *opts
	}
	if o.Bucket == "" {
		o.Bucket = "sockjsd-owners"
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      o.Bucket,
		Description: "sockjsd: the node that holds each session",
		History:     1,
		TTL:         o.TTL,
		Storage:     jetstream.MemoryStorage,
		Replicas:    max(o.Replicas, 1),
	})
	if err != nil {
		return nil, err
	}
	return &NATS{kv: kv, ttl: o.TTL}, nil
}

// natsKey maps any key to the characters a KV key may hold: session ids
// are the client's choice.
func natsKey(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// get returns the current owner of key and its revision; "" when none.
func (e *NATS) get(ctx context.Context, key string) (string, uint64, error) {
	entry, err := e.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return "", 0, nil
	case err != nil:
		return "", 0, err
	}
	return string(entry.Value()), entry.Revision(), nil
}

// Claim implements Engine.
func (e *NATS) Claim(ctx context.Context, key, owner string) (string, error) {
	k := natsKey(key)
	// A claim that expires between a failed Create and the Get leaves
	// nothing to read: try again, a bounded number of times.
	for range 3 {
		_, err := e.kv.Create(ctx, k, []byte(owner))
		if err == nil {
			return owner, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return "", err
		}
		cur, _, err := e.get(ctx, k)
		if err != nil || cur != "" {
			return cur, err
		}
	}
	return "", errors.New("sockjs/cluster: nats: claim kept changing")
}

// Owner implements Engine.
func (e *NATS) Owner(ctx context.Context, key string) (string, error) {
	cur, _, err := e.get(ctx, natsKey(key))
	return cur, err
}

// Refresh implements Engine: a new revision of the same value, written
// only over the revision read, restarts the key's age.
func (e *NATS) Refresh(ctx context.Context, key, owner string) (bool, error) {
	k := natsKey(key)
	cur, rev, err := e.get(ctx, k)
	if err != nil || cur != owner {
		return false, err
	}
	_, err = e.kv.Update(ctx, k, []byte(owner), rev)
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil // another node's claim came between
	}
	return err == nil, err
}

// Release implements Engine.
func (e *NATS) Release(ctx context.Context, key, owner string) (bool, error) {
	k := natsKey(key)
	cur, rev, err := e.get(ctx, k)
	if err != nil || cur != owner {
		return false, err
	}
	err = e.kv.Purge(ctx, k, jetstream.LastRevision(rev))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return false, nil
	}
	return err == nil, err
}

// TTL implements Engine.
func (e *NATS) TTL() time.Duration { return e.ttl }
