package testkit

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client of the test stack's Redis (REDIS_URL), closed
// when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	RequireStack(t)
	opt, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
