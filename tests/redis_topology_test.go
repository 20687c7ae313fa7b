package tests

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

// Redis Sentinel and Cluster (docs/RELIABILITY.md "Redis Sentinel and
// Cluster"). These need a test stack started with STACK_REDIS=sentinel or
// STACK_REDIS=cluster (go tool task test:redis-sentinel, test:redis-cluster)
// and skip otherwise; on a Cluster the ordinary black-box turn and resume
// tests run as they are.

// TestSentinelFailoverUnderLoad kills the master (SIGKILL) while players
// post with Idempotency-Keys; Sentinel promotes the replica, the
// processes follow it, and every accepted turn still ends exactly once.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if !strings.HasPrefix(url, "redis+sentinel://") {
		t.Skip("needs the sentinel topology: go tool task test:redis-sentinel")
	}
	opt, err := redisconn.Parse(url)
	require.NoError(t, err)
	f := opt.Failover
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: f.SentinelAddrs[0]})
	t.Cleanup(func() { _ = sentinel.Close() })
	masterAddr := func() string {
		a, err := sentinel.GetMasterAddrByName(context.Background(), f.MasterName).Result()
		if err != nil || len(a) != 2 {
			return ""
		}
		return a[0] + ":" + a[1]
	}
	old := masterAddr()
	require.NotEmpty(t, old)

	srv := testkit.Start(t, testkit.Options{Env: faultEnv(url, os.Getenv("DATABASE_URL"))})
	var failover time.Duration
	o := runFault(t, srv.URL, func() {
		killRedis(t, old)
		began := time.Now()
		require.Eventually(t, func() bool { a := masterAddr(); return a != "" && a != old }, time.Minute, 100*time.Millisecond,
			"sentinel promotes the replica")
		failover = time.Since(began)
	})
	recoveries(t, srv)
	t.Logf("master %s killed; sentinel named %s after %s; %s", old, masterAddr(), failover.Round(10*time.Millisecond), o)
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/readyz", nil).Status, "ready on the new master")
}

// killRedis crashes the redis-server at addr (SIGKILL), as a lost machine
// would: no shutdown, no last write.
func killRedis(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "server").Result()
	require.NoError(t, err)
	pid := 0
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	require.Positive(t, pid)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
}

// TestClusterSpreadsSessionsOverMasters checks what the Cluster topology
// is for: session streams land on every master, their live channels with
// them (one hash tag), and a turn streams end to end.
func TestClusterSpreadsSessionsOverMasters(t *testing.T) {
	url := os.Getenv("REDIS_URL")
	if !strings.HasPrefix(url, "redis+cluster://") {
		t.Skip("needs the cluster topology: go tool task test:redis-cluster")
	}
	rdb := testkit.Redis(t)
	cc, ok := rdb.(*redis.ClusterClient)
	require.True(t, ok)
	masters := map[string]bool{}
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	for range 12 {
		s := newSession(t, p, ch.ID)
		_, tr := postMessage(t, p.Client, s.ID, "I look around.")
		require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, time.Minute).Status)
		key := events.StreamKey(uuid.MustParse(s.ID))
		m, err := cc.MasterForKey(context.Background(), key)
		require.NoError(t, err)
		n, err := m.Exists(context.Background(), key).Result()
		require.NoError(t, err)
		require.Equal(t, int64(1), n, "the stream is on its slot's master")
		masters[m.Options().Addr] = true
	}
	require.Len(t, masters, 3, "twelve sessions use all three masters")
}
