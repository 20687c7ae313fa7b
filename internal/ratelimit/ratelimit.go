// Package ratelimit counts actions per key in Redis (GCRA through
// go-redis/redis_rate), so every API replica spends from the same budget.
// Refusals are apperr rate_limited errors carrying the time to wait.
package ratelimit

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Turns limits how many turns a player may start per minute.
type Turns struct {
	rl      *redis_rate.Limiter
	limit   redis_rate.Limit
	timeout time.Duration
}

// DefaultTimeout bounds one check. A Redis that does not answer in time
// (down, restarting, frozen) does not hold the player's request: the check
// lets the turn through, and the in-flight limit, kept in Postgres, still
// bounds what one player can queue.
const DefaultTimeout = 250 * time.Millisecond

// NewTurns returns a limiter of perMinute turns per player (a burst of
// perMinute, refilled evenly over the minute).
func NewTurns(rdb redis.UniversalClient, perMinute int) *Turns {
	return &Turns{rl: redis_rate.NewLimiter(rdb), limit: redis_rate.PerMinute(perMinute), timeout: DefaultTimeout}
}

// AllowTurn spends one turn of the player's minute, or answers
// rate_limited with the time until the next one is allowed.
func (t *Turns) AllowTurn(ctx context.Context, playerID uuid.UUID) error {
	cctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	res, err := t.rl.Allow(cctx, "game:turns:player:"+playerID.String(), t.limit)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Fail open (see DefaultTimeout), loudly.
		logging.From(ctx).Warn("turn rate limiter unavailable; letting the turn through", slog.Any("err", err))
		return nil
	}
	if res.Allowed == 0 {
		return apperr.Limited(res.RetryAfter, "too many turns this minute; try again later")
	}
	return nil
}
