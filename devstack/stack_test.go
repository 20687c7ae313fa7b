package devstack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStartUsesServersFromTheEnvironment(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://elsewhere/db")
	t.Setenv("REDIS_URL", "redis://elsewhere:6379/0")
	t.Setenv("S3_ENDPOINT", "elsewhere:9000")
	dir := t.TempDir()

	st, err := Start(context.Background(), Options{Mode: Test, Root: repoRoot(t), Dir: dir, Out: io.Discard})
	require.NoError(t, err)
	defer st.Stop()

	require.Empty(t, st.LogFiles(), "no server should have been started")
	require.Equal(t, []string{"CONQUEST_TEST_STACK=1", "STACK_TMP=" + dir}, st.Env(),
		"the external URLs pass through the inherited environment untouched")
}

// TestStartTestStack brings up a whole throwaway stack, checks each server
// the way the app will use it, and checks nothing survives Stop.
func TestStartTestStack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PGlite, Redis and the S3 server")
	}
	root := repoRoot(t)
	if !built(filepath.Join(root, ".stack", "bin", "versitygw"), filepath.Join(root, ".stack", "bin", "versitygw.version"), VersityGWVersion) {
		t.Skip("the S3 server is not built yet; `go tool task test` builds it before the suite runs")
	}
	// Inside `stack test` these point at the outer stack: clear them so this
	// test starts its own servers.
	for _, k := range []string{"DATABASE_URL", "REDIS_URL", "S3_ENDPOINT"} {
		t.Setenv(k, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	st, err := Start(ctx, Options{Mode: Test, Root: root, Dir: dir, Out: io.Discard})
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			st.Stop()
		}
	})
	env := envMap(st.Env())

	t.Run("exports the full environment", func(t *testing.T) {
		for _, k := range []string{"DATABASE_URL", "REDIS_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_USE_SSL", "S3_BUCKET", "S3_REGION", "STACK_TMP", "CONQUEST_TEST_STACK"} {
			require.NotEmpty(t, env[k], k)
		}
		require.Contains(t, env["DATABASE_URL"], "default_query_exec_mode=simple_protocol")
	})

	t.Run("postgres serves two connections and pgvector", func(t *testing.T) {
		require.NoError(t, probePostgres(ctx, env["DATABASE_URL"]))
	})

	t.Run("redis answers PING", func(t *testing.T) {
		require.NoError(t, pingRedis(ctx, strings.TrimSuffix(strings.TrimPrefix(env["REDIS_URL"], "redis://"), "/0")))
	})

	t.Run("the S3 server is healthy", func(t *testing.T) {
		require.NoError(t, probeHTTP(ctx, "http://"+env["S3_ENDPOINT"]+s3HealthPath))
	})

	t.Run("PGlite multiplexing behaves as documented", func(t *testing.T) {
		testPGliteMultiplexing(t, ctx, env["DATABASE_URL"])
	})

	t.Run("stop leaves no server running", func(t *testing.T) {
		var pids []int
		for _, p := range st.procs {
			pids = append(pids, p.pid())
		}
		require.Len(t, pids, 3)
		require.NoError(t, st.Stop())
		stopped = true
		for _, pid := range pids {
			eventually(t, func() bool { return !alive(pid) }, "a server outlived Stop")
		}
	})
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	root, err := FindRoot(wd)
	require.NoError(t, err)
	return root
}
