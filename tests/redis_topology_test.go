package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack"
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

// stackCluster is the stack's REDIS_URL and a client of it, when it is a
// Cluster; the test is skipped otherwise.
func stackCluster(t *testing.T) (string, *redis.ClusterClient) {
	url := os.Getenv("REDIS_URL")
	if !strings.HasPrefix(url, "redis+cluster://") {
		t.Skip("needs the cluster topology: go tool task test:redis-cluster")
	}
	cc, ok := testkit.Redis(t).(*redis.ClusterClient)
	require.True(t, ok)
	return url, cc
}

// TestClusterSpreadsSessionsOverMasters checks what the Cluster topology
// is for: session streams land on every master, their live channels with
// them (one hash tag), and a turn streams end to end.
func TestClusterSpreadsSessionsOverMasters(t *testing.T) {
	_, cc := stackCluster(t)
	masters := map[string]bool{}
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	// Session ids are random: twelve miss a master about once in 40 runs
	// (3 × (2/3)^12), so go on, up to 40, until all three are used.
	for i := 0; i < 40 && (i < 12 || len(masters) < 3); i++ {
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
	require.Len(t, masters, 3, "sessions use all three masters")
}

// TestClusterFailoverUnderLoad kills every master of the Cluster in turn
// (SIGKILL) while players post with Idempotency-Keys: each time the
// dead master's replica is promoted, the processes follow the new slot
// map, and the dead node is started again and rejoins as a replica (so
// the cluster has a replica for every master again afterwards). Every
// accepted turn still ends exactly once.
func TestClusterFailoverUnderLoad(t *testing.T) {
	url, cc := stackCluster(t)
	ctx := context.Background()
	var seed string
	require.NoError(t, cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		seed = c.Options().Addr
		return nil
	}))
	masters := clusterNodes(t, seed).masters()
	require.Len(t, masters, 3)

	srv := testkit.Start(t, testkit.Options{Env: faultEnv(url, os.Getenv("DATABASE_URL"))})
	var report []string
	var load *faultLoad
	var watchers []*sessionWatcher
	ctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	o := runFault(t, srv.URL, func() {
		for _, m := range masters {
			report = append(report, failOver(t, m))
			time.Sleep(time.Second) // load on the new master before the next kill
		}
	}, func(l *faultLoad) {
		// Each session is watched live through the failovers, as a
		// player's client does: reconnecting with Last-Event-ID.
		load = l
		for i, p := range l.players {
			watchers = append(watchers, watchSession(ctx, srv.URL, p.Client.Token, l.session[i]))
		}
	})
	recoveries(t, srv)
	t.Logf("failovers: %s; %s", strings.Join(report, "; "), o)
	for i, w := range watchers {
		w.check(t, load.doneTurns(t, i))
	}
	require.Len(t, clusterNodes(t, seed).masters(), 3, "three masters serve the slots")
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/readyz", nil).Status, "ready on the new masters")
}

// sessionWatcher follows a session's stream as a client does through
// faults: on any error it reconnects with the Last-Event-ID it has.
type sessionWatcher struct {
	mu                       sync.Mutex
	last                     events.StreamID
	lastRaw                  string
	done                     map[string]int // dm.done per turn
	backwards                int            // ids not above the one before: duplicates or disorder
	reconnects, resets, errs int
}

func watchSession(ctx context.Context, base, token, sessionID string) *sessionWatcher {
	w := &sessionWatcher{done: map[string]int{}}
	go func() {
		for ctx.Err() == nil {
			if err := w.follow(ctx, base, token, sessionID); err != nil && ctx.Err() == nil {
				w.mu.Lock()
				w.errs++
				w.mu.Unlock()
				time.Sleep(200 * time.Millisecond)
			}
			w.mu.Lock()
			w.reconnects++
			w.mu.Unlock()
		}
	}()
	return w
}

func (w *sessionWatcher) follow(ctx context.Context, base, token, sessionID string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/sessions/"+sessionID+"/events", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	w.mu.Lock()
	if w.lastRaw != "" {
		req.Header.Set("Last-Event-ID", w.lastRaw)
	}
	w.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return events.Read(ctx, resp.Body, func(e events.Event) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if e.Type == events.TypeReset {
			w.resets++
		}
		if e.ID == "" {
			return true
		}
		id, err := events.ParseID(e.ID)
		if err != nil {
			return true
		}
		// A reset starts over from the stream's current end, which may be
		// below the id the client had (the new master lacks the tail).
		if w.lastRaw != "" && !w.last.Less(id) && e.Type != events.TypeReset {
			w.backwards++
		}
		w.last, w.lastRaw = id, e.ID
		if e.Type == "dm.done" {
			w.done[e.TurnID]++
		}
		return true
	})
}

// check waits until the watcher has seen the last completed turn of its
// session end (its stream follows the new masters), then holds it to what
// resuming promises: no event twice or out of order, no turn ended twice.
// Replication is asynchronous, so an event the dead master acknowledged
// in its last moments may be missing on the new one; those are counted
// and logged, not failed (the client reloads over REST on reset).
func (w *sessionWatcher) check(t *testing.T, completed []string) {
	t.Helper()
	require.NotEmpty(t, completed)
	lastTurn := slices.Max(completed) // uuid v7: the latest
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.done[lastTurn] > 0
	}, time.Minute, 100*time.Millisecond, "the stream delivers the session's last dm.done after the failovers")
	w.mu.Lock()
	defer w.mu.Unlock()
	missed := 0
	for _, id := range completed {
		if w.done[id] == 0 {
			missed++
		}
	}
	for id, n := range w.done {
		require.Equal(t, 1, n, "dm.done of turn %s delivered once", id)
	}
	require.Zero(t, w.backwards, "events arrive once each, in order, across reconnects")
	t.Logf("stream watcher: %d completed turns, dm.done seen for %d (missed %d), %d reconnects (%d after an error), %d resets",
		len(completed), len(completed)-missed, missed, w.reconnects, w.errs, w.resets)
}

// clusterNode is a line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	flags            []string
}

func (n clusterNode) is(flag string) bool { return slices.Contains(n.flags, flag) }

type clusterView []clusterNode

// masters are the masters not marked failed.
func (v clusterView) masters() []clusterNode {
	var out []clusterNode
	for _, n := range v {
		if n.is("master") && !n.is("fail") {
			out = append(out, n)
		}
	}
	return out
}

// clusterNodes reads CLUSTER NODES from the node at addr.
func clusterNodes(t *testing.T, addr string) clusterView {
	t.Helper()
	v, err := readClusterNodes(addr)
	require.NoError(t, err)
	return v
}

func readClusterNodes(addr string) (clusterView, error) {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	text, err := c.ClusterNodes(context.Background()).Result()
	if err != nil {
		return nil, err
	}
	var v clusterView
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		a, _, _ := strings.Cut(f[1], "@")
		v = append(v, clusterNode{id: f[0], addr: a, master: f[3], flags: strings.Split(strings.TrimPrefix(f[2], "myself,"), ",")})
	}
	return v, nil
}

// nodeIn is the node id as the node at addr sees it.
func nodeIn(addr, id string) (clusterNode, bool) {
	v, err := readClusterNodes(addr)
	if err != nil {
		return clusterNode{}, false
	}
	for _, n := range v {
		if n.id == id {
			return n, true
		}
	}
	return clusterNode{}, false
}

// failOver kills the master m, waits until its replica is promoted (the
// replica sees itself master and the cluster state ok), starts the dead
// node again with its nodes.conf and waits until it is the new master's
// replica. It returns what happened, for the log.
func failOver(t *testing.T, m clusterNode) string {
	t.Helper()
	var replica clusterNode
	for _, n := range clusterNodes(t, m.addr) {
		if n.master == m.id && !n.is("fail") {
			replica = n
		}
	}
	require.NotEmpty(t, replica.id, "master %s has a replica", m.addr)
	c := redis.NewClient(&redis.Options{Addr: m.addr})
	dir, err := c.ConfigGet(context.Background(), "dir").Result()
	c.Close()
	require.NoError(t, err)
	killRedis(t, m.addr)
	began := time.Now()
	rc := redis.NewClient(&redis.Options{Addr: replica.addr})
	defer rc.Close()
	require.Eventually(t, func() bool {
		info, err := rc.ClusterInfo(context.Background()).Result()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return false
		}
		n, ok := nodeIn(replica.addr, replica.id)
		return ok && n.is("master")
	}, time.Minute, 50*time.Millisecond, "the replica %s of %s is promoted", replica.addr, m.addr)
	promoted := time.Since(began)

	exe, err := exec.LookPath("redis-server")
	require.NoError(t, err)
	_, port, _ := strings.Cut(m.addr, ":")
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	cmd := exec.Command(exe, devstack.ClusterNodeArgs(p, dir["dir"])...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait() }()
	require.Eventually(t, func() bool {
		n, ok := nodeIn(replica.addr, m.id)
		return ok && n.is("slave") && n.master == replica.id && !n.is("fail")
	}, time.Minute, 100*time.Millisecond, "the restarted %s rejoins as a replica", m.addr)
	return fmt.Sprintf("master %s killed, replica %s promoted after %s, the old master back as its replica after %s",
		m.addr, replica.addr, promoted.Round(10*time.Millisecond), time.Since(began).Round(10*time.Millisecond))
}
