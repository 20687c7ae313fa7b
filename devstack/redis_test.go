package devstack

import (
	"context"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRedis(t *testing.T) {
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed; `stack test` installs it")
	}
	dir := t.TempDir()
	ports, err := FreePorts(1)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := startRedis(ctx, exe, dir, ports[0], false, filepath.Join(dir, "redis.log"))
	require.NoError(t, err)
	t.Cleanup(func() { p.stop(syscall.SIGKILL, 0) })

	t.Run("answers PING on its port", func(t *testing.T) {
		require.NoError(t, pingRedis(ctx, hostPort(ports[0])))
	})

	t.Run("is gone after stop, port released", func(t *testing.T) {
		pid := p.pid()
		require.NoError(t, p.stop(syscall.SIGTERM, 5*time.Second))
		eventually(t, func() bool { return !alive(pid) }, "redis-server outlived stop")
		require.Error(t, pingRedis(ctx, hostPort(ports[0])))
		require.True(t, portFree(ports[0]), "port still held")
	})
}

func TestRedisReportsEarlyExit(t *testing.T) {
	exe, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	// A port someone holds makes redis-server exit at once; waitReady must
	// say so instead of polling until its deadline.
	ports, err := FreePorts(1)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	first, err := startRedis(ctx, exe, dir, ports[0], false, filepath.Join(dir, "first.log"))
	require.NoError(t, err)
	defer first.stop(syscall.SIGKILL, 0)

	second, err := startRedis(ctx, exe, dir, ports[0], false, filepath.Join(dir, "second.log"))
	require.ErrorIs(t, err, errExited)
	require.True(t, second.exited())
}
