// Package hotcache keeps what every turn reads of a session in Redis, so
// the turn does not ask the database for it again.
//
// Each cached read of a session is one Redis hash, `hot:{<session>}:<name>`
// (the session's hash tag: one Cluster slot), holding a generation and the
// data stored under a generation. A write of what a read returns replaces
// the generation once the write has committed, before it is acknowledged
// (Invalidate); a reader stores what it read from the database only if the
// generation it saw before reading is still the current one (Get, then
// Put). So data stored under the current generation was read after the
// last acknowledged write committed: no reader can see an older value once
// a write is acknowledged. The generation is a random token, never a
// counter, so an expired hash cannot bring back an old one. Every write
// renews the TTL, which bounds what a crash between a commit and its
// invalidation leaves behind.
package hotcache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// DefaultTTL bounds how long a cached read lives without a write or a read
// that stores it again.
const DefaultTTL = 10 * time.Minute

// Cache is the hot-read cache on one Redis (single, Sentinel or Cluster).
type Cache struct {
	rdb redis.UniversalClient
	ttl time.Duration
}

// New returns a cache on rdb whose entries expire after ttl (DefaultTTL if 0).
func New(rdb redis.UniversalClient, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{rdb: rdb, ttl: ttl}
}

// Key is the hash of a session's cached read `name`.
func Key(sessionID uuid.UUID, name string) string {
	return "hot:{" + sessionID.String() + "}:" + name
}

// Get returns the cached data of a session's read `name` (hit) or, on a
// miss, the generation a Put of what the caller then reads must name.
func (c *Cache) Get(ctx context.Context, sessionID uuid.UUID, name string) (data []byte, gen string, hit bool, err error) {
	vals, err := c.rdb.HMGet(ctx, Key(sessionID, name), "gen", "data", "datagen").Result()
	if err != nil {
		return nil, "", false, err
	}
	gen, _ = vals[0].(string)
	d, okData := vals[1].(string)
	dgen, okGen := vals[2].(string)
	if okData && okGen && dgen == gen {
		return []byte(d), gen, true, nil
	}
	return nil, gen, false, nil
}

// putScript stores ARGV[2] as the data of generation ARGV[1] if that is
// still the hash's generation ("" = none yet).
var putScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'gen')
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'datagen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`)

// Put stores what was read from the database after Get answered gen; it
// stores nothing when a write replaced the generation since.
func (c *Cache) Put(ctx context.Context, sessionID uuid.UUID, name, gen string, data []byte) error {
	return putScript.Run(ctx, c.rdb, []string{Key(sessionID, name)}, gen, data, c.ttl.Milliseconds()).Err()
}

// invalidateScript gives the hash a new generation ARGV[1] and drops its data.
var invalidateScript = redis.NewScript(`
redis.call('HDEL', KEYS[1], 'data', 'datagen')
redis.call('HSET', KEYS[1], 'gen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// Invalidate replaces the generation of a session's read `name`: call it
// after a write of what it returns committed and before acknowledging the
// write. When it fails the write must not be acknowledged as done.
func (c *Cache) Invalidate(ctx context.Context, sessionID uuid.UUID, name string) error {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	return invalidateScript.Run(ctx, c.rdb, []string{Key(sessionID, name)}, hex.EncodeToString(b[:]), c.ttl.Milliseconds()).Err()
}
