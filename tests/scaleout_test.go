package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/redisconn"
	"github.com/codeofconquest/brightdawn/workers"
)

// TestScaleOut runs the deployment's shape on loopback: the repository's
// Caddyfile in the real Caddy, in front of two `conquest api` replicas,
// with two `conquest worker` processes, one Redis and one database. A
// player's browser-style client streams a session through Caddy while its
// messages are posted to the other replica directly; then replicas and
// workers are stopped and killed in the middle of turns.
func TestScaleOut(t *testing.T) {
	testkit.Migrate(t)
	c := newCluster(t)
	p := signUp(t, c.caddy.url)

	t.Run("a stream through Caddy gets every event of a turn posted on the other replica exactly once", func(t *testing.T) {
		s := newSession(t, p, "")
		es := c.subscribe(t, p, s.ID)
		holder := c.streamHolder(t)
		other := c.apis[1-holder]
		_, tr := postMessage(t, p.on(other.url()), s.ID, "I light a lantern and look around the crypt.")
		got := es.until(t, 60*time.Second, isDone(tr.ID))
		require.Equal(t, "dm.done", got[len(got)-1].Type)
		t.Logf("%d events", len(got))
		requireExactlyOnce(t, got)
		require.Equal(t, c.turnReplay(t, p, other, tr.ID), onlyTurn(got, tr.ID), "the same events as the turn's own stream, in order")
		require.Zero(t, es.reconnects(), "nothing interrupted this stream")
		require.Empty(t, es.encodings(), "SSE is not compressed by Caddy")
	})

	t.Run("an API replica stopped mid-stream (SIGTERM): the client resumes on the other through Caddy with no gap", func(t *testing.T) {
		s := newSession(t, p, "")
		es := c.subscribe(t, p, s.ID)
		holder := c.streamHolder(t)
		other := c.apis[1-holder]
		_, tr := postMessage(t, p.on(other.url()), s.ID, "I sneak down the spiral stairs, step by step, listening.")
		head := es.until(t, 60*time.Second, deltas(3))
		stopped := make(chan struct{})
		go func() { c.apis[holder].stop(); close(stopped) }()
		tail := es.until(t, 60*time.Second, isDone(tr.ID))
		<-stopped
		all := append(head, tail...)
		requireExactlyOnce(t, all)
		require.Equal(t, c.turnReplay(t, p, other, tr.ID), onlyTurn(all, tr.ID), "no gap, no duplicate")
		require.GreaterOrEqual(t, es.reconnects(), 1, "the stream was closed and resumed")
		require.Empty(t, es.failures(), "the drained replica was out of Caddy's rotation before its clients reconnected")
		require.True(t, slices.ContainsFunc(es.retries(), func(d time.Duration) bool { return d < 2*time.Second }),
			"the closing stream carried a short retry hint: %v", es.retries())
		require.Contains(t, c.apis[holder].logs(), "draining")
		c.restartAPI(t, holder)
	})

	t.Run("an API replica killed mid-stream (SIGKILL): the client resumes on the other through Caddy with no gap", func(t *testing.T) {
		s := newSession(t, p, "")
		es := c.subscribe(t, p, s.ID)
		holder := c.streamHolder(t)
		other := c.apis[1-holder]
		_, tr := postMessage(t, p.on(other.url()), s.ID, "I draw my sword and charge the ghoul at the altar!")
		head := es.until(t, 60*time.Second, deltas(3))
		c.apis[holder].kill()
		tail := es.until(t, 60*time.Second, isDone(tr.ID))
		all := append(head, tail...)
		requireExactlyOnce(t, all)
		require.Equal(t, c.turnReplay(t, p, other, tr.ID), onlyTurn(all, tr.ID), "no gap, no duplicate")
		require.GreaterOrEqual(t, es.reconnects(), 1)
		if f := es.failures(); len(f) > 0 {
			// A browser's EventSource gives up on a non-200 answer; say so
			// if Caddy ever had to give one.
			t.Logf("answers other than 200 while reconnecting (retried): %v", f)
		}
		c.restartAPI(t, holder)
	})

	t.Run("a worker stopped mid-turn (SIGTERM) hands the task back and the other worker ends the turn", func(t *testing.T) {
		s := newSession(t, p, "")
		es := c.subscribe(t, p, s.ID)
		_, tr := postMessage(t, p.Client, s.ID, "I read the runes on the sealed door aloud, slowly.")
		head := es.until(t, 60*time.Second, deltas(2))
		w := c.generating(t, tr.ID)
		began := time.Now()
		w.signal(syscall.SIGTERM)
		require.True(t, w.waitExit(20*time.Second), "the worker exits after SHUTDOWN_TIMEOUT")
		t.Logf("worker stopped in %s", time.Since(began).Round(time.Millisecond))
		require.Contains(t, w.logs(), "Quitting worker", "asynq pushed the unfinished task back to Redis")
		tail := es.until(t, 60*time.Second, isDone(tr.ID))
		requireTurnEndsOnce(t, p, s.ID, tr.ID, append(head, tail...))
		c.dropWorker(w)
	})

	t.Run("a worker killed mid-turn (SIGKILL): the other worker recovers the task when its lease expires", func(t *testing.T) {
		// Two fresh workers started together: asynq's recoverer runs at
		// start and then every minute, so the survivor picks the dead
		// worker's task up at most about a minute after the kill.
		c.replaceWorkers(t)
		s := newSession(t, p, "")
		es := c.subscribe(t, p, s.ID)
		_, tr := postMessage(t, p.Client, s.ID, "I climb the bell tower to ring the warning bell.")
		head := es.until(t, 60*time.Second, deltas(2))
		w := c.generating(t, tr.ID)
		w.kill()
		began := time.Now()
		tail := es.until(t, 150*time.Second, isDone(tr.ID))
		t.Logf("turn ended %s after the kill", time.Since(began).Round(time.Second))
		requireTurnEndsOnce(t, p, s.ID, tr.ID, append(head, tail...))
		c.dropWorker(w)
	})

	t.Run("the edge", func(t *testing.T) {
		c.checkEdge(t, p)
	})

	t.Run("every log line names its request, or its task and turn", func(t *testing.T) {
		c.checkLogs(t)
	})
}

// ---------------------------------------------------------------- cluster

type cluster struct {
	apis    [2]*replica
	workers []*replica
	caddy   *caddyProc
	insp    *asynq.Inspector
	owner   *testing.T // the top-level test: processes live until it ends
	mu      sync.Mutex
	started []*replica // every process, also those stopped or killed
}

func (c *cluster) start(t *testing.T, name, command string, port int) *replica {
	t.Helper()
	r := startReplica(t, c.owner, name, command, port)
	c.mu.Lock()
	c.started = append(c.started, r)
	c.mu.Unlock()
	return r
}

// appEnv is the environment of every conquest process of the test.
var appEnv = []string{
	// Slow enough that a generation outlives a worker's SHUTDOWN_TIMEOUT.
	"DM_WORD_DELAY=120ms",
	// Drain for longer than Caddy's health interval (500 ms below).
	"SHUTDOWN_DELAY=1500ms",
	// A stopped worker hands its running task back after this.
	"SHUTDOWN_TIMEOUT=1s",
	// Caddy 2.6 tells an upstream SSE stream that its client went away only
	// when a write to the client fails: a short heartbeat reaps such
	// streams quickly, so each replica's open-stream count is exact.
	"SSE_HEARTBEAT=1s",
	"RATE_REGISTER_PER_IP=1000",
	"RATE_LOGIN_PER_IP=1000",
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{owner: t}
	for i := range c.apis {
		c.apis[i] = c.start(t, fmt.Sprintf("api-%d", i+1), "api", testkit.FreePort(t))
	}
	for i := range 2 {
		c.workers = append(c.workers, c.start(t, fmt.Sprintf("worker-%d", i+1), "worker", 0))
	}
	c.caddy = startCaddy(t, c.apis[0].port, c.apis[1].port)
	c.insp = asynq.NewInspector(stackRedisConnOpt(t))
	t.Cleanup(func() { _ = c.insp.Close() })
	return c
}

// subscribe opens a browser-style session stream through Caddy and waits
// until a replica has subscribed it.
func (c *cluster) subscribe(t *testing.T, p player, sessionID string) *eventSource {
	t.Helper()
	es := openEventSource(t, c.caddy.url, "/api/sessions/"+sessionID+"/events", p.Client.Token)
	c.streamHolder(t)
	return es
}

// streamHolder returns which API replica holds the one open SSE stream,
// from the replicas' own metrics.
func (c *cluster) streamHolder(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n0, n1 := sseConnections(t, c.apis[0]), sseConnections(t, c.apis[1])
		if n0+n1 == 1 {
			if n0 == 1 {
				return 0
			}
			return 1
		}
		if time.Now().After(deadline) {
			t.Fatalf("open SSE connections: %d on %s, %d on %s; want one in all", n0, c.apis[0].name, n1, c.apis[1].name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func sseConnections(t *testing.T, r *replica) int {
	t.Helper()
	if r.exited() {
		return 0
	}
	resp, err := http.Get(r.url() + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "conquest_sse_connections "); ok {
			n, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return int(n)
		}
	}
	t.Fatalf("%s: no conquest_sse_connections in /metrics", r.name)
	return 0
}

// turnReplay is the whole turn as its own stream replays it afterwards.
func (c *cluster) turnReplay(t *testing.T, p player, r *replica, turnID string) []sseEvent {
	t.Helper()
	s := openStream(t, p.on(r.url()), "/api/turns/"+turnID+"/events")
	defer s.close()
	return s.until(t, 30*time.Second, isDone(turnID))
}

// restartAPI starts replica i again on its port and waits until Caddy's
// health check has had time to see it.
func (c *cluster) restartAPI(t *testing.T, i int) {
	t.Helper()
	old := c.apis[i]
	require.True(t, old.waitExit(20*time.Second))
	c.apis[i] = c.start(t, old.name+"'", "api", old.port)
	waitReady(t, c.apis[i].url())
	time.Sleep(1500 * time.Millisecond) // three of Caddy's health intervals
}

// generating returns the worker that runs the turn's generate task right
// now: the one whose log has more "task started" than "task done" lines
// for it (workers log both at debug level, with the task id).
func (c *cluster) generating(t *testing.T, turnID string) *replica {
	t.Helper()
	taskID := workers.TaskID(game.StageGenerate, uuid.MustParse(turnID))
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, r := range c.workers {
			if r.exited() {
				continue
			}
			running := 0
			for _, l := range jsonLines(r.logs()) {
				if l["task_id"] != taskID {
					continue
				}
				switch l["msg"] {
				case "task started":
					running++
				case "task done":
					running--
				}
			}
			if running > 0 {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker of ours is running %s", taskID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) dropWorker(w *replica) {
	for i, r := range c.workers {
		if r == w {
			c.workers = append(c.workers[:i], c.workers[i+1:]...)
			return
		}
	}
}

// replaceWorkers stops the running workers and starts two new ones, one
// right after the other.
func (c *cluster) replaceWorkers(t *testing.T) {
	t.Helper()
	for _, w := range c.workers {
		w.stop()
	}
	c.workers = nil
	for i := range 2 {
		c.workers = append(c.workers, c.start(t, fmt.Sprintf("worker-%d'", i+1), "worker", 0))
	}
}

// requireTurnEndsOnce checks a turn whose generation was interrupted and
// resumed: it completed, the events arrived once each, and the stored
// reply is the last attempt's deltas — once.
func requireTurnEndsOnce(t *testing.T, p player, sessionID, turnID string, got []sseEvent) {
	t.Helper()
	requireExactlyOnce(t, got)
	final := waitFinal(t, p.Client, turnID, 30*time.Second)
	require.Equal(t, "completed", final.Status)
	last := got[len(got)-1]
	require.Equal(t, "dm.done", last.Type)
	byAttempt := map[float64]*strings.Builder{}
	maxAttempt := 0.0
	for _, ev := range onlyTurn(got, turnID) {
		if ev.Type != "dm.delta" {
			continue
		}
		a, _ := ev.Data["attempt"].(float64)
		if byAttempt[a] == nil {
			byAttempt[a] = &strings.Builder{}
		}
		byAttempt[a].WriteString(ev.Data["text"].(string))
		maxAttempt = max(maxAttempt, a)
	}
	require.GreaterOrEqual(t, len(byAttempt), 2, "the generation was started again")
	reply := last.Data["message"].(map[string]any)
	require.Equal(t, byAttempt[maxAttempt].String(), reply["content"], "the stored reply is the last attempt's")
	resp := p.Client.Do(t, "GET", "/api/sessions/"+sessionID+"/messages", nil)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	require.Len(t, page.Messages, 2, "one player message and exactly one DM reply")
}

// requireExactlyOnce: ids strictly increase, so none repeats or goes back.
func requireExactlyOnce(t *testing.T, evs []sseEvent) {
	t.Helper()
	var prev events.StreamID
	for i, ev := range evs {
		id, err := events.ParseID(ev.ID)
		require.NoError(t, err, "event %d has an id", i)
		if i > 0 {
			require.True(t, prev.Less(id), "event %d (%s) after %s: duplicate or out of order", i, ev.ID, prev)
		}
		prev = id
	}
}

func onlyTurn(evs []sseEvent, turnID string) []sseEvent {
	var out []sseEvent
	for _, ev := range evs {
		if fmt.Sprint(ev.Data["turn_id"]) == turnID {
			out = append(out, ev)
		}
	}
	return out
}

// deltas stops after the n-th dm.delta.
func deltas(n int) func(sseEvent) bool {
	seen := 0
	return func(ev sseEvent) bool {
		if ev.Type == "dm.delta" {
			seen++
		}
		return seen >= n
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz not ready after 30s", base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- processes

// replica is a conquest process on a port of our choosing, so that a
// replica can come back on the address Caddy knows.
type replica struct {
	name string
	port int
	cmd  *exec.Cmd
	out  *testkit.LockedBuffer
	done chan struct{}
}

// startReplica starts a process, reporting failures to t; it is stopped
// when owner ends (a replica started in one subtest serves the next).
func startReplica(t, owner *testing.T, name, command string, port int, env ...string) *replica {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), command)
	cmd.Env = append(os.Environ(),
		"APP_ENV=test", "LOG_LEVEL=debug", "LOG_JSON=true",
		"JWT_SECRET="+testkit.TestSecret,
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
	)
	cmd.Env = append(append(cmd.Env, appEnv...), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r := &replica{name: name, port: port, cmd: cmd, out: &testkit.LockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(r.done) }()
	owner.Cleanup(func() {
		r.stop()
		if owner.Failed() {
			t.Logf("----- %s (%s) log -----\n%s", r.name, command, tail(r.logs(), 150))
		}
	})
	if command == "worker" {
		// Wait until asynq lists it, so it is really serving.
		insp := asynq.NewInspector(stackRedisConnOpt(t))
		defer insp.Close()
		require.Eventually(t, func() bool {
			servers, err := insp.Servers()
			if err != nil {
				return false
			}
			for _, s := range servers {
				if s.PID == r.pid() {
					return true
				}
			}
			return r.exited()
		}, 30*time.Second, 50*time.Millisecond)
		require.False(t, r.exited(), "%s exited:\n%s", name, r.logs())
		return r
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		if r.exited() || time.Now().After(deadline) {
			t.Fatalf("%s did not come up:\n%s", name, r.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *replica) url() string { return fmt.Sprintf("http://127.0.0.1:%d", r.port) }
func (r *replica) pid() int    { return r.cmd.Process.Pid }
func (r *replica) logs() string {
	return r.out.String()
}

func (r *replica) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (r *replica) signal(sig syscall.Signal) { _ = r.cmd.Process.Signal(sig) }

func (r *replica) waitExit(d time.Duration) bool {
	select {
	case <-r.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop is a graceful stop: SIGTERM, then SIGKILL after 20 s.
func (r *replica) stop() {
	if r.exited() {
		return
	}
	r.signal(syscall.SIGTERM)
	if !r.waitExit(20 * time.Second) {
		r.kill()
	}
}

// kill is a crash: SIGKILL to the process group.
func (r *replica) kill() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// caddyProc is `caddy run` with the repository's Caddyfile, configured by
// environment variables alone: plain HTTP on a free loopback port, the two
// replicas as static upstreams.
type caddyProc struct {
	url string
	out *testkit.LockedBuffer
}

func startCaddy(t *testing.T, upstreamPorts ...int) *caddyProc {
	t.Helper()
	port := testkit.FreePort(t)
	var ups []string
	for _, p := range upstreamPorts {
		ups = append(ups, fmt.Sprintf("127.0.0.1:%d", p))
	}
	cmd := exec.Command(caddyBin(t), "run", "--adapter", "caddyfile", "--config", repoFile(t, "Caddyfile"))
	cmd.Env = caddyEnv(t, map[string]string{
		"SITE_ADDRESS":          fmt.Sprintf("http://127.0.0.1:%d", port),
		"CONQUEST_UPSTREAMS":    strings.Join(ups, " "),
		"CADDY_ADMIN":           "off",
		"CADDY_HEALTH_INTERVAL": "500ms",
	})
	cmd.Dir = t.TempDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	c := &caddyProc{url: fmt.Sprintf("http://127.0.0.1:%d", port), out: &testkit.LockedBuffer{}}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("----- caddy log -----\n%s", tail(c.out.String(), 80))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case <-done:
			t.Fatalf("caddy exited:\n%s", c.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy not proxying after 30s:\n%s", c.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- browser-style SSE client

// eventSource behaves like a browser's EventSource: it follows `retry:`,
// remembers the last `id:` (also of blocks without data) and reconnects
// with Last-Event-ID when the stream ends or breaks. Unlike EventSource it
// also retries after a non-200 answer, and records it.
type eventSource struct {
	base, path, token string
	ch                chan sseEvent

	mu       sync.Mutex
	lastID   string
	retry    time.Duration
	retried  []time.Duration // every retry: value seen
	nreconn  int
	failed   []string
	encoding []string
}

func openEventSource(t *testing.T, base, path, token string) *eventSource {
	t.Helper()
	es := &eventSource{base: base, path: path, token: token, ch: make(chan sseEvent, 10000), retry: 3 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); es.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return es
}

var noDecompression = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func (es *eventSource) run(ctx context.Context) {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			es.mu.Lock()
			es.nreconn++
			wait := es.retry
			es.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		es.connect(ctx)
	}
}

func (es *eventSource) connect(ctx context.Context) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, es.base+es.path, nil)
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+es.token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip, zstd") // invite compression: it must not happen
	es.mu.Lock()
	if es.lastID != "" {
		req.Header.Set("Last-Event-ID", es.lastID)
	}
	es.mu.Unlock()
	resp, err := noDecompression.Do(req)
	if err != nil {
		es.fail("error: " + err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		es.fail(fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b)))
		return
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" {
		es.mu.Lock()
		es.encoding = append(es.encoding, enc)
		es.mu.Unlock()
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	var ev sseEvent
	var data strings.Builder
	idBuf := ""
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			es.mu.Lock()
			es.lastID = idBuf // set on dispatch, even without data
			es.mu.Unlock()
			if data.Len() > 0 {
				ev.ID = idBuf
				ev.Raw = data.String()
				_ = json.Unmarshal([]byte(ev.Raw), &ev.Data)
				es.ch <- ev
			}
			ev, data = sseEvent{}, strings.Builder{}
		case field == "":
			// a comment
		case field == "id":
			idBuf = value
		case field == "event":
			ev.Type = value
		case field == "data":
			data.WriteString(value)
		case field == "retry":
			if ms, err := strconv.Atoi(value); err == nil {
				es.mu.Lock()
				es.retry = time.Duration(ms) * time.Millisecond
				es.retried = append(es.retried, es.retry)
				es.mu.Unlock()
			}
		}
	}
}

func (es *eventSource) fail(what string) {
	es.mu.Lock()
	defer es.mu.Unlock()
	es.failed = append(es.failed, what)
}

func (es *eventSource) until(t *testing.T, within time.Duration, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	deadline := time.After(within)
	for {
		select {
		case ev := <-es.ch:
			out = append(out, ev)
			if stop(ev) {
				return out
			}
		case <-deadline:
			t.Fatalf("stream: no final event within %s; got %d events, reconnects %d, failures %v", within, len(out), es.reconnects(), es.failures())
		}
	}
}

func (es *eventSource) reconnects() int {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.nreconn
}

func (es *eventSource) failures() []string {
	es.mu.Lock()
	defer es.mu.Unlock()
	return append([]string(nil), es.failed...)
}

func (es *eventSource) encodings() []string {
	es.mu.Lock()
	defer es.mu.Unlock()
	return append([]string(nil), es.encoding...)
}

func (es *eventSource) retries() []time.Duration {
	es.mu.Lock()
	defer es.mu.Unlock()
	return append([]time.Duration(nil), es.retried...)
}

// ---------------------------------------------------------------- edge and logs

func (c *cluster) checkEdge(t *testing.T, p player) {
	t.Run("/metrics is not served through Caddy", func(t *testing.T) {
		resp, err := http.Get(c.caddy.url + "/metrics")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
	})
	t.Run("JSON is compressed, with the security headers", func(t *testing.T) {
		s := newSession(t, p, "")
		for i := range 3 {
			postMessage(t, p.Client, s.ID, fmt.Sprintf("Message %d: I keep a careful journal of everything that happens in the keep.", i))
		}
		req, _ := http.NewRequest(http.MethodGet, c.caddy.url+"/api/sessions/"+s.ID+"/messages", nil)
		req.Header.Set("Authorization", "Bearer "+p.Client.Token)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := noDecompression.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		require.Empty(t, resp.Header.Get("Strict-Transport-Security"), "no HSTS over plain HTTP")
		require.Empty(t, resp.Header.Get("Server"))
	})
	t.Run("a forged X-Forwarded-For does not reach the app; the client's address does", func(t *testing.T) {
		rid := "edge-xff-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		req, _ := http.NewRequest(http.MethodGet, c.caddy.url+"/healthz", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("X-Request-ID", rid)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, rid, resp.Header.Get("X-Request-ID"))
		var line map[string]any
		require.Eventually(t, func() bool {
			for _, a := range c.apis {
				for _, l := range jsonLines(a.logs()) {
					if l["request_id"] == rid && l["msg"] == "http" {
						line = l
						return true
					}
				}
			}
			return false
		}, 5*time.Second, 20*time.Millisecond)
		require.Equal(t, "127.0.0.1", line["ip"])
	})
}

func jsonLines(s string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(s, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// checkLogs reads every line the API replicas and workers wrote (JSON
// logs): request lines carry request_id, task lines task_id, and a turn
// task's lines also turn_id.
func (c *cluster) checkLogs(t *testing.T) {
	var requests, tasks int
	for _, r := range c.started {
		for i, raw := range strings.Split(strings.TrimRight(r.logs(), "\n"), "\n") {
			var l map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &l), "%s line %d is not JSON: %s", r.name, i+1, raw)
			_, inRequest := l["route"]
			if _, ok := l["player_id"]; ok || inRequest || l["msg"] == "request failed" || l["msg"] == "request refused" {
				require.Contains(t, l, "request_id", "%s: %s", r.name, raw)
				requests++
			}
			if tt, ok := l["task_type"].(string); ok {
				require.NotEmpty(t, l["task_id"], "%s: %s", r.name, raw)
				if strings.HasPrefix(tt, "turn:") {
					require.Contains(t, l, "turn_id", "%s: %s", r.name, raw)
				}
				tasks++
			}
			if _, ok := l["turn_id"]; ok && strings.HasPrefix(r.name, "worker") {
				require.Contains(t, l, "task_id", "%s: %s", r.name, raw)
			}
		}
	}
	require.Greater(t, requests, 0)
	t.Logf("checked %d request lines and %d task lines", requests, tasks)
}

// stackRedisConnOpt is the stack's REDIS_URL (any topology) for asynq.
func stackRedisConnOpt(t *testing.T) asynq.RedisConnOpt {
	t.Helper()
	opt, err := redisconn.Parse(os.Getenv("REDIS_URL"))
	require.NoError(t, err)
	return workers.RedisConnOpt(opt)
}
