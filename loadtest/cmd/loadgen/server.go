package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/codeofconquest/brightdawn/devstack"
)

// jwtSecret is shared by the processes loadgen starts, so a token works on
// every replica.
const jwtSecret = "bG9hZHRlc3QtbG9hZHRlc3QtbG9hZHRlc3QtbG9hZHRlc3QtMTIzNDU2Nzg5MA=="

// server is the conquest under test: started here, or given with -base.
type server struct {
	URL       string
	PprofAddr string
	procs     []*proc
	sql       *sqlCounter // -count-sql
	bin       string      // the conquest binary started
	env       []string    // its environment, without HTTP_ADDR
}

// addAPI starts one more `conquest api` replica on the same stack and
// returns its base URL; stop stops it with the rest.
func (s *server) addAPI(ctx context.Context) (string, error) {
	if s.bin == "" {
		return "", fmt.Errorf("replicas need a started server (no -base)")
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	p, err := startProc(s.bin, "api", append(s.env, fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port)))
	if err != nil {
		return "", err
	}
	s.procs = append(s.procs, p)
	return base, waitHealthy(ctx, base, p)
}

// sqlKinds is the simple-protocol round trips counted so far by kind
// (-count-sql; nil otherwise).
func (s *server) sqlKinds() map[string]int64 {
	if s.sql == nil {
		return nil
	}
	return s.sql.kinds()
}

// statements is the SQL statements counted so far (-count-sql; 0 otherwise).
func (s *server) statements() int64 {
	if s.sql == nil {
		return 0
	}
	return s.sql.statements()
}

type proc struct {
	name string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

// pid of the process serving HTTP (0 when -base was given).
func (s *server) pid() int {
	if len(s.procs) == 0 {
		return 0
	}
	return s.procs[0].cmd.Process.Pid
}

// pids of every started conquest process.
func (s *server) pids() []int {
	var out []int
	for _, p := range s.procs {
		out = append(out, p.cmd.Process.Pid)
	}
	return out
}

// startServer starts conquest as c says, or returns the -base server.
// extraEnv comes first so -env overrides it.
func startServer(ctx context.Context, c *common, extraEnv ...string) (*server, error) {
	if c.base != "" {
		return &server{URL: strings.TrimRight(c.base, "/")}, nil
	}
	for _, k := range []string{"DATABASE_URL", "REDIS_URL"} {
		if os.Getenv(k) == "" {
			return nil, fmt.Errorf("%s is not set: run inside `go run ./cmd/stack test -- …` or give -base", k)
		}
	}
	bin := c.bin
	if bin == "" {
		var err error
		if bin, err = buildConquest(ctx); err != nil {
			return nil, err
		}
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), bin: bin}
	env := append(os.Environ(),
		"APP_ENV=test",
		"LOG_LEVEL=warn",
		"JWT_SECRET="+jwtSecret,
		"SHUTDOWN_TIMEOUT=5s",
		// Load comes from one IP and a few players: the limits meant for
		// real clients would measure themselves, not the pipeline.
		"RATE_REGISTER_PER_IP=100000",
		"RATE_LOGIN_PER_IP=100000",
		"RATE_LOGIN_PER_ACCOUNT=100000",
		"TURNS_IN_FLIGHT_PER_PLAYER=1000",
		"TURNS_PER_MINUTE_PER_PLAYER=100000",
	)
	dbURL := withExecMode(os.Getenv("DATABASE_URL"), c.pgMode)
	if c.countSQL {
		sc, proxied, err := startSQLCounter(dbURL)
		if err != nil {
			return nil, err
		}
		s.sql, dbURL = sc, proxied
	}
	env = append(env, "DATABASE_URL="+dbURL)
	env = append(env, extraEnv...)
	env = append(env, c.env...)
	if c.pprof {
		pp, err := freePort()
		if err != nil {
			return nil, err
		}
		s.PprofAddr = fmt.Sprintf("127.0.0.1:%d", pp)
	}
	s.env = env
	httpEnv := append(env[:len(env):len(env)], fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port))
	if s.PprofAddr != "" {
		httpEnv = append(httpEnv, "PPROF_ADDR="+s.PprofAddr)
	}
	cmd := c.cmd
	if cmd == "api" {
		out, err := exec.CommandContext(ctx, bin, "migrate").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("conquest migrate: %v\n%s", err, out)
		}
	}
	main, err := startProc(bin, cmd, httpEnv)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, main)
	for i := 0; i < c.workers; i++ {
		w, err := startProc(bin, "worker", env)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs = append(s.procs, w)
	}
	if err := waitHealthy(ctx, s.URL, main); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func startProc(bin, cmdName string, env []string) (*proc, error) {
	cmd := exec.Command(bin, cmdName)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &proc{name: cmdName, cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	// The log also goes to a file that outlives the run, for post-mortems.
	var out io.Writer = p.logs
	if f, err := os.CreateTemp("", "loadgen-conquest-"+cmdName+"-*.log"); err == nil {
		fmt.Fprintf(os.Stderr, "loadgen: conquest %s log: %s\n", cmdName, f.Name())
		out = io.MultiWriter(p.logs, f)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func waitHealthy(ctx context.Context, base string, p *proc) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("conquest %s exited:\n%s", p.name, p.logs.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("conquest %s not ready after 60s:\n%s", p.name, p.logs.String())
}

// alive reports whether every started process still runs.
func (s *server) alive() bool {
	for _, p := range s.procs {
		select {
		case <-p.done:
			return false
		default:
		}
	}
	return true
}

func (s *server) stop() {
	for _, p := range s.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.procs {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	}
}

func (s *server) logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		fmt.Fprintf(&b, "----- conquest %s (pid %d) -----\n%s\n", p.name, p.cmd.Process.Pid, p.logs.String())
	}
	return b.String()
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildConquest builds cmd/conquest once into a temporary folder.
func buildConquest(ctx context.Context) (string, error) {
	buildOnce.Do(func() {
		root, err := devstack.FindRoot(".")
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "loadgen-conquest-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "conquest")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", binPath, "./cmd/conquest")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/conquest: %v\n%s", err, out)
		}
	})
	return binPath, buildErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 8<<20 { // keep the tail of a long run only
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// --- process measurements (/proc)

// rssKB is a process's resident set size.
func rssKB(pid int) int64 {
	return procStatusField(pid, "VmRSS:")
}

// threads is a process's OS thread count.
func threads(pid int) int64 { return procStatusField(pid, "Threads:") }

func procStatusField(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return v
		}
	}
	return 0
}

// openFDs counts a process's open descriptors.
func openFDs(pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return len(ents)
}

// procLimitNoFile reads a process's RLIMIT_NOFILE (soft) from /proc.
func procLimitNoFile(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			f := strings.Fields(line)
			if len(f) >= 5 {
				return f[3]
			}
		}
	}
	return "?"
}

// cpuTicks is a process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces: fields start after ") ".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// findPID returns the first process whose command line contains every
// needle (to find the stack's PGlite and Redis by their ports), or 0.
func findPID(needles ...string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cl := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		ok := true
		for _, n := range needles {
			if !strings.Contains(cl, n) {
				ok = false
				break
			}
		}
		if ok {
			return pid
		}
	}
	return 0
}

// stackPIDs finds the stack's database and Redis processes from the URLs
// in the environment (0 when they are elsewhere).
func stackPIDs() (db, redis int) {
	if u, err := url.Parse(os.Getenv("DATABASE_URL")); err == nil && u.Port() != "" {
		db = findPID("pglite", "--port="+u.Port())
	}
	if u, err := url.Parse(os.Getenv("REDIS_URL")); err == nil && u.Port() != "" {
		redis = findPID("redis-server", ":"+u.Port())
		if redis == 0 {
			redis = findPID("redis-server", "--port "+u.Port())
		}
	}
	return db, redis
}

// cpuMeter measures the CPU share of some processes over an interval.
type cpuMeter struct {
	names []string
	pids  []int
	start []int64
	t0    time.Time
}

func newCPUMeter(named map[string]int) *cpuMeter {
	m := &cpuMeter{t0: time.Now()}
	for n, pid := range named {
		if pid == 0 {
			continue
		}
		m.names = append(m.names, n)
		m.pids = append(m.pids, pid)
		m.start = append(m.start, cpuTicks(pid))
	}
	return m
}

// percent returns each process's CPU use since the meter started, in % of
// one core.
func (m *cpuMeter) percent() map[string]float64 {
	wall := time.Since(m.t0).Seconds()
	out := map[string]float64{}
	for i, pid := range m.pids {
		out[m.names[i]] = float64(cpuTicks(pid)-m.start[i]) / 100 / wall * 100
	}
	return out
}

// loadAvg is the 1-minute load average of the machine.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// saveCPUProfile fetches a CPU profile of seconds from the server's pprof.
func saveCPUProfile(ctx context.Context, s *server, seconds int, path string) error {
	return saveProfile(ctx, s, fmt.Sprintf("profile?seconds=%d", seconds), path)
}

// saveProfile fetches /debug/pprof/<what> from the server into path.
func saveProfile(ctx context.Context, s *server, what, path string) error {
	if s.PprofAddr == "" {
		return nil
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/%s", s.PprofAddr, what), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("pprof: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// heapInuse asks the server's pprof to run a GC and reports the heap in
// use and the goroutine count (from the heap profile's MemStats lines).
func heapStats(s *server) (heapInuse, heapSys, stackInuse, heapAlloc int64, ok bool) {
	if s.PprofAddr == "" {
		return 0, 0, 0, 0, false
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/heap?gc=1&debug=1", s.PprofAddr))
	if err != nil {
		return 0, 0, 0, 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, f := range []struct {
			name string
			dst  *int64
		}{{"# HeapInuse = ", &heapInuse}, {"# HeapSys = ", &heapSys}, {"# Stack = ", &stackInuse}, {"# HeapAlloc = ", &heapAlloc}} {
			if rest, found := strings.CutPrefix(line, f.name); found {
				v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				*f.dst = v
			}
		}
	}
	return heapInuse, heapSys, stackInuse, heapAlloc, true
}

// goroutines counts the server's goroutines (pprof).
func goroutines(s *server) int {
	if s.PprofAddr == "" {
		return 0
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/goroutine?debug=1", s.PprofAddr))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	// "goroutine profile: total 1234"
	f := strings.Fields(line)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}
