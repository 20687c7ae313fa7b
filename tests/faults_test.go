package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack"
	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// Fault tests (docs/RELIABILITY.md): a fault hits the system while players
// keep posting, and afterwards every accepted message must end in exactly
// one final state, with no duplicate DM message and no turn left behind.
// Each test runs its own Redis (and, for the database fault, its own
// PGlite), so the faults never touch the stack other tests share — except
// the worker faults on a Redis Cluster or Sentinel stack, which use the
// stack's (workerFaultRedis; go tool task test:redis-cluster).
//
// FAULT_SOAK=1 (go tool task faults) runs each with more players for
// longer; FAULT_FREEZE sets how long Redis is frozen (default 30s);
// FAULT_SETTLE how long the turns may take to end after the load stops
// (default 3m, 10m with FAULT_SOAK: the long forms' backlog after the
// Cluster's three failovers takes about 3.5 min to drain even on a quiet
// box, docs/RELIABILITY.md).

// soak reports whether the long variants were asked for.
func soak() bool { return os.Getenv("FAULT_SOAK") != "" }

// faultEnv is the environment of every conquest process of a fault test:
// quick recovery (the sweeper looks every second and requeues a turn silent
// for 3s) and, for PGlite, the simple query protocol (see docs/RELIABILITY.md:
// PGlite's socket server can stall connections that interleave exec-mode
// queries, which would look like a stuck turn but is not the app's fault).
func faultEnv(redisURL, databaseURL string, extra ...string) []string {
	env := []string{
		"REDIS_URL=" + redisURL,
		"DATABASE_URL=" + simpleProtocol(databaseURL),
		"TURN_STUCK_AFTER=3s",
		"SWEEP_INTERVAL=1s",
		"DM_WORD_DELAY=10ms",
		"LOG_LEVEL=info",
	}
	return append(env, extra...)
}

func simpleProtocol(url string) string {
	return strings.Replace(url, "default_query_exec_mode=exec", "default_query_exec_mode=simple_protocol", 1)
}

// --- a Redis of the test's own

type ownRedis struct {
	t    *testing.T
	port int
	dir  string
	aof  bool
	cmd  *exec.Cmd
	done chan struct{}
}

func startOwnRedis(t *testing.T, aof bool) *ownRedis {
	t.Helper()
	testkit.RequireStack(t)
	r := &ownRedis{t: t, port: testkit.FreePort(t), dir: t.TempDir(), aof: aof}
	r.start()
	t.Cleanup(func() {
		r.thaw()
		r.kill()
	})
	return r
}

// workerFaultRedis is the Redis of a fault test that does not touch Redis
// itself: on a stack started with a Redis topology (STACK_REDIS=cluster or
// sentinel), the stack's, so the fault is tested on it (run them one at a
// time there: every test's workers share its queues); otherwise one of the
// test's own, so the fault never touches the Redis other tests share.
func workerFaultRedis(t *testing.T) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); strings.HasPrefix(u, "redis+cluster://") || strings.HasPrefix(u, "redis+sentinel://") {
		return u
	}
	return startOwnRedis(t, false).url()
}

func (r *ownRedis) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *ownRedis) start() {
	r.t.Helper()
	exe, err := exec.LookPath("redis-server")
	require.NoError(r.t, err, "redis-server is needed (the test stack installs it)")
	aof := "no"
	if r.aof {
		aof = "yes"
	}
	r.cmd = exec.Command(exe, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", aof, "--appendfsync", "everysec", "--daemonize", "no")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	require.NoError(r.t, r.cmd.Start())
	done := make(chan struct{})
	r.done = done
	go func() { _ = r.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(buf)
			c.Close()
			if strings.HasPrefix(string(buf[:n]), "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis on %d not ready:\n%s", r.port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill crashes Redis (SIGKILL): with AOF (fsync every second) at most the
// last second of writes is lost; without it, everything.
func (r *ownRedis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

func (r *ownRedis) freeze() { _ = r.cmd.Process.Signal(syscall.SIGSTOP) }
func (r *ownRedis) thaw() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
	}
}

// --- a PGlite of the test's own, on disk, so it restarts with its data

type ownPGlite struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	logs *testkit.LockedBuffer
}

func startOwnPGlite(t *testing.T) *ownPGlite {
	t.Helper()
	testkit.RequireStack(t)
	p := &ownPGlite{t: t, port: testkit.FreePort(t), dir: filepath.Join(t.TempDir(), "pglite")}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *ownPGlite) url() string {
	return fmt.Sprintf("postgres://postgres:postgres@127.0.0.1:%d/postgres?sslmode=disable&default_query_exec_mode=simple_protocol", p.port)
}

// start runs the same server the stack runs (devstack/pglite.go).
func (p *ownPGlite) start() {
	p.t.Helper()
	root, err := devstack.FindRoot(".")
	require.NoError(p.t, err)
	server := filepath.Join(root, "devstack", "node_modules", "@electric-sql", "pglite-socket", "dist", "scripts", "server.js")
	p.cmd = exec.Command("node", server, "--db="+p.dir, "--host=127.0.0.1", fmt.Sprintf("--port=%d", p.port),
		"--extensions=@electric-sql/pglite-pgvector:vector", "--max-connections=200")
	p.cmd.Dir = filepath.Join(root, "devstack")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.logs = &testkit.LockedBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(p.t, p.cmd.Start())
	done := make(chan struct{})
	p.done = done
	go func() { _ = p.cmd.Wait(); close(done) }()
	// The first start runs initdb.
	if err := awaitPostgres(p.url(), "CREATE EXTENSION IF NOT EXISTS vector", 2*time.Minute, done); err != nil {
		p.t.Fatalf("pglite not ready: %v\n%s", err, p.logs.String())
	}
}

// stop shuts PGlite down cleanly (SIGTERM: it closes the database, which
// writes it out), killing it if it takes more than 30s.
func (p *ownPGlite) stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	testkit.StopProcess(p.cmd.Process, p.done, 30*time.Second, func() { _ = p.cmd.Process.Kill() })
}

// --- players posting under a fault

// faultClient is a tolerant HTTP client: under a fault, requests fail and
// time out, and the test must go on.
var faultClient = &http.Client{Timeout: 10 * time.Second}

func tryJSON(ctx context.Context, base, token, method, path string, body any, hdr ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := faultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// faultLoad is players posting messages at a steady pace until stopped.
// Each message carries an Idempotency-Key and is retried with it until it
// gets a definite answer, as an honest client does: a 202 whose answer was
// lost is then still counted, and never doubled.
type faultLoad struct {
	base    string
	players []player
	session []string

	stop chan struct{}
	wg   sync.WaitGroup

	mu       sync.Mutex
	accepted []string // turn ids answered 202
	refused  map[int]int
	lost     int // no definite answer after every retry
}

func startFaultLoad(t *testing.T, base string, players int, every time.Duration) *faultLoad {
	t.Helper()
	l := &faultLoad{base: base, stop: make(chan struct{}), refused: map[int]int{}}
	for i := 0; i < players; i++ {
		p := signUp(t, base)
		l.players = append(l.players, p)
		l.session = append(l.session, newSession(t, p, "").ID)
	}
	for i := range l.players {
		l.wg.Go(func() { l.play(i, every) })
	}
	return l
}

func (l *faultLoad) play(i int, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for n := 0; n < 10_000; n++ {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		key := uuid.NewString()
		body := map[string]any{"content": fmt.Sprintf("I take step %d along the tunnel.", n)}
		definite := false
		for attempt := 0; attempt < 20 && !definite; attempt++ {
			if attempt > 0 {
				time.Sleep(500 * time.Millisecond)
			}
			status, b, err := tryJSON(context.Background(), l.base, l.players[i].Client.Token, "POST",
				"/api/sessions/"+l.session[i]+"/messages", body, "Idempotency-Key", key)
			switch {
			case err != nil || status >= 500:
				continue // ambiguous or unavailable: retry with the same key
			case status == http.StatusAccepted:
				var out struct{ Turn struct{ ID string } }
				_ = json.Unmarshal(b, &out)
				l.mu.Lock()
				l.accepted = append(l.accepted, out.Turn.ID)
				l.mu.Unlock()
			default:
				l.mu.Lock()
				l.refused[status]++
				l.mu.Unlock()
			}
			definite = true
		}
		if !definite {
			l.mu.Lock()
			l.lost++
			l.mu.Unlock()
		}
	}
}

func (l *faultLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// outcome counts how the turns of a fault test ended.
type outcome struct {
	Accepted, PlayerMessages, Completed, Failed, Cancelled, DMMessages int
	Refused                                                            map[int]int
	Lost                                                               int
	FailedCodes                                                        map[string]int
}

func (o outcome) String() string {
	return fmt.Sprintf("accepted %d (player messages stored %d): completed %d, failed %d %v, cancelled %d; DM messages %d; refused %v; no answer %d",
		o.Accepted, o.PlayerMessages, o.Completed, o.Failed, o.FailedCodes, o.Cancelled, o.DMMessages, o.Refused, o.Lost)
}

// settle waits until every turn of the load's sessions is final and checks
// the invariants: every stored player message has a turn in exactly one
// final state; a completed turn has exactly one DM message, any other none;
// every 202 is among them.
func (l *faultLoad) settle(t *testing.T, within time.Duration) outcome {
	t.Helper()
	o := outcome{Accepted: len(l.accepted), Refused: l.refused, Lost: l.lost, FailedCodes: map[string]int{}}
	began := time.Now()
	deadline := began.Add(within)
	statuses := map[string]turn{}
	lastLog := began
	for {
		pending := 0
		for i, p := range l.players {
			msgs := l.messages(t, p, l.session[i], deadline)
			for _, m := range msgs {
				if m.Role != "player" || m.TurnID == nil {
					continue
				}
				if tr, ok := statuses[*m.TurnID]; ok && isFinal(tr.Status) {
					continue
				}
				tr, ok := l.turn(p, *m.TurnID)
				if !ok || !isFinal(tr.Status) {
					pending++
					continue
				}
				statuses[*m.TurnID] = tr
			}
		}
		if pending == 0 {
			t.Logf("every turn final %s after the load stopped", time.Since(began).Round(100*time.Millisecond))
			break
		}
		if time.Since(lastLog) > 30*time.Second {
			t.Logf("%d turns not final yet, %s after the load stopped", pending, time.Since(began).Round(time.Second))
			lastLog = time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d turns still not final after %s", pending, within)
		}
		time.Sleep(500 * time.Millisecond)
	}
	dmByTurn := map[string]int{}
	for i, p := range l.players {
		for _, m := range l.messages(t, p, l.session[i], deadline) {
			switch {
			case m.Role == "player":
				o.PlayerMessages++
			case m.Role == "dm":
				o.DMMessages++
				require.NotNil(t, m.TurnID, "a DM message belongs to a turn")
				dmByTurn[*m.TurnID]++
			}
		}
	}
	for id, tr := range statuses {
		switch tr.Status {
		case "completed":
			o.Completed++
			require.Equal(t, 1, dmByTurn[id], "completed turn %s has exactly one DM message", id)
			require.NotNil(t, tr.DMMessageID)
		case "failed":
			o.Failed++
			if tr.Error != nil {
				o.FailedCodes[tr.Error.Code]++
			}
			require.Zero(t, dmByTurn[id], "failed turn %s has no DM message", id)
		case "cancelled":
			o.Cancelled++
			require.Zero(t, dmByTurn[id], "cancelled turn %s has no DM message", id)
		}
	}
	for id := range dmByTurn {
		_, ok := statuses[id]
		require.True(t, ok, "DM message of turn %s belongs to a player message", id)
	}
	require.Equal(t, o.PlayerMessages, len(statuses), "every player message has exactly one turn")
	for _, id := range l.accepted {
		_, ok := statuses[id]
		require.True(t, ok, "accepted turn %s is stored and final", id)
	}
	return o
}

// doneTurns are the turns of player i's session that have a DM reply.
func (l *faultLoad) doneTurns(t *testing.T, i int) []string {
	t.Helper()
	var ids []string
	for _, m := range l.messages(t, l.players[i], l.session[i], time.Now().Add(time.Minute)) {
		if m.Role == "dm" && m.TurnID != nil {
			ids = append(ids, *m.TurnID)
		}
	}
	return ids
}

func isFinal(s string) bool { return s == "completed" || s == "failed" || s == "cancelled" }

func (l *faultLoad) turn(p player, id string) (turn, bool) {
	status, b, err := tryJSON(context.Background(), l.base, p.Client.Token, "GET", "/api/turns/"+id, nil)
	if err != nil || status != 200 {
		return turn{}, false
	}
	var out struct{ Turn turn }
	return out.Turn, json.Unmarshal(b, &out) == nil
}

// messages lists a whole session, retrying while the service recovers.
func (l *faultLoad) messages(t *testing.T, p player, sessionID string, deadline time.Time) []message {
	t.Helper()
	var all []message
	before := ""
	for page := 0; page < 100; page++ {
		path := "/api/sessions/" + sessionID + "/messages?limit=100"
		if before != "" {
			path += "&before=" + before
		}
		var out struct {
			Messages   []message
			NextBefore *string `json:"next_before"`
		}
		for {
			status, b, err := tryJSON(context.Background(), l.base, p.Client.Token, "GET", path, nil)
			if err == nil && status == 200 && json.Unmarshal(b, &out) == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("listing messages: status %d, err %v", status, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		all = append(all, out.Messages...)
		if out.NextBefore == nil {
			return all
		}
		before = *out.NextBefore
	}
	return all
}

// recoveries counts, in the logs of the processes, how the system got
// over the fault: turns the sweeper re-enqueued, failed publishes and
// enqueues (the state was in Postgres; clients reload), task retries.
func recoveries(t *testing.T, procs ...*testkit.Process) {
	t.Helper()
	counts := map[string]int{}
	for _, p := range procs {
		logs := p.Logs()
		for _, what := range []string{"sweeper re-enqueued a stuck turn", "publish failed", "enqueue failed", "task failed; will retry", "task failed for good", "live subscription lost"} {
			counts[what] += strings.Count(logs, what)
		}
	}
	t.Logf("recovery in the logs: %v", counts)
}

// runFault puts load on base, applies the fault after warm, keeps the load
// on for after, then settles. started, if given, runs once the players
// are posting, before the fault.
func runFault(t *testing.T, base string, fault func(), started ...func(*faultLoad)) outcome {
	t.Helper()
	players, warm, after, every := 3, 2*time.Second, 3*time.Second, 300*time.Millisecond
	if soak() {
		players, warm, after, every = 8, 20*time.Second, 30*time.Second, 200*time.Millisecond
	}
	load := startFaultLoad(t, base, players, every)
	for _, f := range started {
		f(load)
	}
	time.Sleep(warm)
	fault()
	time.Sleep(after)
	load.finish()
	settle := 3 * time.Minute
	if soak() {
		settle = 10 * time.Minute
	}
	if d, err := time.ParseDuration(os.Getenv("FAULT_SETTLE")); err == nil {
		settle = d
	}
	o := load.settle(t, settle)
	require.Positive(t, o.Accepted, "some messages were accepted")
	t.Logf("outcome: %s", o)
	return o
}

// --- the faults

func TestFaultWorkerKilledMidGenerationUnderLoad(t *testing.T) {
	t.Parallel()
	env := faultEnv(workerFaultRedis(t), os.Getenv("DATABASE_URL"))
	api := testkit.Start(t, testkit.Options{Command: "api", Env: env})
	w1 := testkit.Start(t, testkit.Options{Command: "worker", Env: append(env, "DM_WORD_DELAY=100ms")})
	var w2 *testkit.Process
	o := runFault(t, api.URL, func() {
		w1.Kill()
		w2 = testkit.Start(t, testkit.Options{Command: "worker", Env: env})
	})
	recoveries(t, api, w2)
	require.Zero(t, o.Failed, "a killed worker's turns are recovered, not failed")
}

func TestFaultWorkerSIGTERMHandsItsTaskBack(t *testing.T) {
	t.Parallel()
	// The sweeper would recover the turn only after 60s: a completion
	// before that is asynq handing the task back on shutdown.
	env := faultEnv(workerFaultRedis(t), os.Getenv("DATABASE_URL"), "TURN_STUCK_AFTER=60s", "SHUTDOWN_TIMEOUT=2s")
	api := testkit.Start(t, testkit.Options{Command: "api", Env: env})
	w1 := testkit.Start(t, testkit.Options{Command: "worker", Env: append(env, "DM_WORD_DELAY=300ms")})
	p := signUp(t, api.URL)
	s := newSession(t, p, "")
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, tr := postMessage(t, p.Client, s.ID, "I recite the long saga of my clan, every verse of it.")
	ev.until(t, 30*time.Second, func(e sseEvent) bool { return e.Type == "dm.delta" })

	began := time.Now()
	w1.Stop() // SIGTERM
	stopped := time.Since(began)
	require.Contains(t, w1.Logs(), "msg=stopped", "the worker shut down by itself (testkit would SIGKILL it after 10s)")
	require.Equal(t, "generating", getTurn(t, p.Client, tr.ID).Status, "the turn was mid-generation when the worker left")

	// Within 30s, while the sweeper would wait 60s: asynq handed it back.
	testkit.Start(t, testkit.Options{Command: "worker", Env: append(env, "DM_WORD_DELAY=5ms")})
	rest := ev.until(t, 30*time.Second, isDone(tr.ID))
	took := time.Since(began)
	require.Equal(t, "dm.done", rest[len(rest)-1].Type)
	final := getTurn(t, p.Client, tr.ID)
	require.Equal(t, "completed", final.Status)
	resp := p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages", nil)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	require.Len(t, page.Messages, 2, "exactly one DM reply")
	t.Logf("worker stopped in %s; the turn completed on the other worker %s after SIGTERM", stopped.Round(time.Millisecond), took.Round(time.Millisecond))
}

func TestFaultRedisCrashUnderLoad(t *testing.T) {
	t.Parallel()
	for _, aof := range []bool{true, false} {
		t.Run(fmt.Sprintf("appendonly=%v", aof), func(t *testing.T) {
			t.Parallel()
			rd := startOwnRedis(t, aof)
			srv := testkit.Start(t, testkit.Options{Env: faultEnv(rd.url(), os.Getenv("DATABASE_URL"))})
			o := runFault(t, srv.URL, func() {
				rd.kill()
				time.Sleep(2 * time.Second)
				rd.start()
			})
			recoveries(t, srv)
			if aof {
				require.Zero(t, o.Failed, "with AOF nothing is lost that the sweeper cannot redo")
			}
		})
	}
}

func TestFaultRedisFrozen(t *testing.T) {
	t.Parallel()
	freeze := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("FAULT_FREEZE")); err == nil {
		freeze = d
	}
	rd := startOwnRedis(t, true)
	srv := testkit.Start(t, testkit.Options{Env: faultEnv(rd.url(), os.Getenv("DATABASE_URL"))})
	runFault(t, srv.URL, func() {
		rd.freeze()
		time.Sleep(freeze)
		rd.thaw()
	})
	recoveries(t, srv)
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/readyz", nil).Status, "ready again after the freeze")
}

func TestFaultDatabaseRestartUnderLoad(t *testing.T) {
	t.Parallel()
	rd := startOwnRedis(t, true)
	pg := startOwnPGlite(t)
	// `all` applies the migrations to the fresh database itself.
	srv := testkit.Start(t, testkit.Options{Env: faultEnv(rd.url(), pg.url())})
	var down time.Duration
	runFault(t, srv.URL, func() {
		began := time.Now()
		pg.stop()
		pg.start()
		down = time.Since(began)
	})
	t.Logf("the database was away for %s", down.Round(100*time.Millisecond))
	recoveries(t, srv)
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/readyz", nil).Status, "ready again after the restart")
}

// TestFaultDatabaseCrashUnderLoad crashes a real Postgres under load
// (no clean shutdown: WAL recovery on restart, and whatever the stages
// committed asynchronously and the WAL writer had not yet written is lost;
// docs/RELIABILITY.md "Asynchronous stage commits"). PGlite cannot crash
// that way (it writes its files when it closes), so this runs against a
// server the caller controls, given by three variables:
//
//	FAULT_PG_URL    a superuser URL of that server (pgvector installed)
//	FAULT_PG_CRASH  a shell command that stops it hard, e.g. pg_ctl stop -m immediate
//	FAULT_PG_START  a shell command that starts it again
//
// Without them it is skipped: the suite's database is PGlite.
func TestFaultDatabaseCrashUnderLoad(t *testing.T) {
	admin, crash, start := os.Getenv("FAULT_PG_URL"), os.Getenv("FAULT_PG_CRASH"), os.Getenv("FAULT_PG_START")
	if admin == "" || crash == "" || start == "" {
		t.Skip("needs a real Postgres this test may crash: set FAULT_PG_URL, FAULT_PG_CRASH and FAULT_PG_START (docs/RELIABILITY.md)")
	}
	t.Parallel()
	rd := startOwnRedis(t, true)
	dbURL := freshDatabase(t, admin)
	srv := testkit.Start(t, testkit.Options{Env: faultEnv(rd.url(), dbURL)})
	var down time.Duration
	o := runFault(t, srv.URL, func() {
		began := time.Now()
		shell(t, crash)
		shell(t, start)
		require.NoError(t, awaitPostgres(admin, "", time.Minute, nil), "postgres back after the crash")
		down = time.Since(began)
	})
	t.Logf("the database was away for %s", down.Round(100*time.Millisecond))
	recoveries(t, srv)
	require.Zero(t, o.Failed, "what the crash lost of the stages' progress, the sweeper redoes")
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/readyz", nil).Status, "ready again after the crash")
}

// freshDatabase creates a database of the test's own on the server admin
// points at, drops it afterwards, and returns its URL.
func freshDatabase(t *testing.T, admin string) string {
	t.Helper()
	u, err := url.Parse(admin)
	require.NoError(t, err, "FAULT_PG_URL")
	name := "brightdawn_fault_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	run := func(sql string) { require.NoError(t, execOn(admin, sql), sql) }
	run("CREATE DATABASE " + name)
	t.Cleanup(func() { run("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

func shell(t *testing.T, command string) {
	t.Helper()
	out, err := exec.Command("sh", "-c", command).CombinedOutput()
	require.NoError(t, err, "%s:\n%s", command, out)
}

// execOn connects to dsn, runs sql (nothing if empty) and disconnects.
func execOn(dsn, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	if sql != "" {
		_, err = c.Exec(ctx, sql)
	}
	return err
}

// awaitPostgres tries execOn(dsn, sql) every 200 ms until it succeeds;
// it gives up after within, or as soon as gone (the server's exit, if
// the test runs it) is closed.
func awaitPostgres(dsn, sql string, within time.Duration, gone <-chan struct{}) error {
	deadline := time.Now().Add(within)
	for {
		err := execOn(dsn, sql)
		if err == nil {
			return nil
		}
		select {
		case <-gone:
			return fmt.Errorf("the server exited: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
