package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/config"
)

// limiter holds the login and register rate limits. They live in Redis
// (GCRA via redis_rate), so every API replica counts against the same budget.
type limiter struct {
	rl           *redis_rate.Limiter
	loginAccount redis_rate.Limit
	loginIP      redis_rate.Limit
	registerIP   redis_rate.Limit
}

func newLimiter(rdb redis.UniversalClient, cfg config.Auth) *limiter {
	return &limiter{
		rl:           redis_rate.NewLimiter(rdb),
		loginAccount: redis_rate.PerMinute(cfg.LoginPerAccount),
		loginIP:      redis_rate.PerMinute(cfg.LoginPerIP),
		registerIP:   redis_rate.PerMinute(cfg.RegisterPerIP),
	}
}

// login spends one login attempt of the client's IP and one of the account.
// Every attempt counts, not only failures: counting after the password check
// would let a burst of parallel guesses all pass before the first failure
// is recorded.
func (l *limiter) login(ctx context.Context, email, ip string) error {
	if err := l.allow(ctx, "auth:login:ip:"+ipKey(ip), l.loginIP); err != nil {
		return err
	}
	// The account key is hashed: Redis need not hold the address itself.
	sum := sha256.Sum256([]byte(email))
	return l.allow(ctx, "auth:login:acct:"+hex.EncodeToString(sum[:16]), l.loginAccount)
}

// register spends one registration of the client's IP.
func (l *limiter) register(ctx context.Context, ip string) error {
	return l.allow(ctx, "auth:register:ip:"+ipKey(ip), l.registerIP)
}

func (l *limiter) allow(ctx context.Context, key string, limit redis_rate.Limit) error {
	res, err := l.rl.Allow(ctx, key, limit)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return apperr.Wrap(err, apperr.Unavailable, "the rate limiter is unavailable")
	}
	if res.Allowed == 0 {
		return apperr.Limited(res.RetryAfter, "too many attempts; try again later")
	}
	return nil
}

// ipKey is the rate-limit bucket of an address: the address itself for IPv4,
// its /64 for IPv6 (one subscriber usually holds a whole /64).
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return "unknown"
	}
	return p.String()
}
