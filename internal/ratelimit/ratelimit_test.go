package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/apperr"
)

func TestTurns(t *testing.T) {
	t.Run("a player's minute is spent, then refused with the time to wait", func(t *testing.T) {
		rdb := testkit.Redis(t)
		l := NewTurns(rdb, 3)
		ctx := context.Background()
		player, other := uuid.New(), uuid.New()
		for range 3 {
			require.NoError(t, l.AllowTurn(ctx, player))
		}
		err := l.AllowTurn(ctx, player)
		e, ok := apperr.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, apperr.RateLimited, e.Code)
		require.Greater(t, e.RetryAfter, time.Second)
		require.LessOrEqual(t, e.RetryAfter, 20*time.Second, "3 per minute: one more every 20s")
		require.NoError(t, l.AllowTurn(ctx, other), "another player has a minute of their own")
	})
	t.Run("an unreachable Redis lets the turn through", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		t.Cleanup(func() { rdb.Close() })
		require.NoError(t, NewTurns(rdb, 3).AllowTurn(context.Background(), uuid.New()))
	})
}
