package workers_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/workers"
)

// Sweeps enqueued for successive intervals do not run side by side: while
// one runs (slower than the interval: a large backlog) the next ones are
// skipped, and once it ends the next sweep runs.
func TestOneSweepRunsAtATime(t *testing.T) {
	rdb := testkit.PrivateRedis(t, 12)
	ctx := context.Background()
	lock := workers.SweepLock{RDB: rdb, TTL: time.Minute}
	var beside atomic.Bool
	release := make(chan struct{})
	started := make(chan struct{})
	slow := func(context.Context) error {
		close(started)
		<-release
		return nil
	}
	done := make(chan bool)
	go func() {
		ran, err := lock.Run(ctx, slow)
		require.NoError(t, err)
		done <- ran
	}()
	<-started
	for range 5 {
		ran, err := lock.Run(ctx, func(context.Context) error { beside.Store(true); return nil })
		require.NoError(t, err)
		require.False(t, ran, "a sweep started while another runs is skipped")
	}
	close(release)
	require.True(t, <-done)
	require.False(t, beside.Load(), "never two sweeps at once")

	ran, err := lock.Run(ctx, func(context.Context) error { return nil })
	require.NoError(t, err)
	require.True(t, ran, "the next sweep runs once the slow one ended")
}

// A sweep whose worker died holds the lock only until its TTL runs out.
func TestASweepLockOutlivesItsSweepOnlyForItsTTL(t *testing.T) {
	rdb := testkit.PrivateRedis(t, 12)
	ctx := context.Background()
	require.NoError(t, rdb.Set(ctx, "brightdawn:sweep:running", "dead-worker", 300*time.Millisecond).Err())
	lock := workers.SweepLock{RDB: rdb, TTL: time.Minute}
	ran, err := lock.Run(ctx, func(context.Context) error { return nil })
	require.NoError(t, err)
	require.False(t, ran)
	require.Eventually(t, func() bool {
		ran, err := lock.Run(ctx, func(context.Context) error { return nil })
		return err == nil && ran
	}, 10*time.Second, 100*time.Millisecond, "the lock expires")
}
