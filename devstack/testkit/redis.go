package testkit

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

// Redis returns a client of the test stack's Redis (REDIS_URL: one server,
// Sentinel or Cluster), closed when the test ends.
func Redis(t testing.TB) redis.UniversalClient {
	t.Helper()
	RequireStack(t)
	opt, err := redisconn.Parse(os.Getenv("REDIS_URL"))
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := opt.NewClient()
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// PrivateRedis returns a client of the test stack's Redis on database db
// instead of REDIS_URL's. A test that runs its own asynq server uses it so
// that the workers other packages start against the same Redis (every
// black-box conquest process) never take its tasks off the shared queues.
// The database is emptied first and at the end.
func PrivateRedis(t testing.TB, db int) *redis.Client {
	t.Helper()
	RequireStack(t)
	opt, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	if db == opt.DB {
		t.Fatalf("PrivateRedis: database %d is REDIS_URL's own", db)
	}
	opt.DB = db
	rdb := redis.NewClient(opt)
	if err := rdb.FlushDB(t.Context()).Err(); err != nil {
		t.Fatalf("flush redis db %d: %v", db, err)
	}
	t.Cleanup(func() {
		_ = rdb.FlushDB(context.Background()).Err()
		_ = rdb.Close()
	})
	return rdb
}
