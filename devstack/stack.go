package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Mode chooses between the long-lived dev stack and a throwaway test stack.
type Mode int

const (
	// Dev runs on the fixed Dev*Port ports and keeps data under Options.Dir.
	Dev Mode = iota
	// Test runs on free ports with in-memory Postgres and random S3 keys.
	Test
)

const (
	readyTimeout = 3 * time.Minute // first PGlite start on disk runs initdb
	stopGrace    = 10 * time.Second
	testAttempts = 3 // a free port can be taken before the server binds it
)

// Options configure Start.
type Options struct {
	Mode Mode
	// Root is the repository root (FindRoot).
	Root string
	// Dir holds the servers' data/ and logs/: <root>/.stack for dev, a fresh
	// temporary folder for a test stack.
	Dir string
	// Out receives progress lines.
	Out io.Writer
	// BesideAfter, when set, holds back the servers started beside the app
	// (their builds included) until it is closed: on two cores, building
	// the S3 server while conquest compiles would delay the playable page.
	BesideAfter <-chan struct{}
	// RedisTopology, in a test stack, starts a Redis Cluster ("cluster")
	// or a Sentinel set-up ("sentinel") instead of one server
	// (redistopo.go; STACK_REDIS).
	RedisTopology string
}

// Stack is a set of running servers and the environment that points at them.
type Stack struct {
	opts Options

	mu    sync.Mutex
	procs []*process
	env   map[string]string

	// Servers started beside the app (server.beside) run on after Start
	// returns; Stop cancels and waits for them.
	cancelBeside context.CancelFunc
	beside       sync.WaitGroup
}

// server is one member of the stack.
type server struct {
	name     string
	external string // set in the environment = use that server, start none
	fixed    []int  // dev ports; a test stack takes len(fixed) free ones
	// install makes the server's program available. It is not bounded by
	// readyTimeout: building the S3 server alone takes minutes.
	install func(ctx context.Context) error
	// start launches the server on ports and waits until it is ready.
	start func(ctx context.Context, ports []int) (*process, error)
	// env is what the app needs to reach the server on ports.
	env func(ports []int) map[string]string
	// beside: in a dev stack, Start does not wait for this server; the app
	// starts without it and copes until it answers (the S3 store: the game
	// is playable while it builds or starts, uploads follow).
	beside bool
}

// Start brings up every server whose URL is not already in the environment,
// concurrently, and returns once all answer. If one fails the others are
// abandoned, and whatever did start is stopped again.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	s := &Stack{opts: opts, env: map[string]string{}}
	for _, d := range []string{s.dataDir(""), s.logDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	var servers []server
	for _, srv := range s.servers() {
		if os.Getenv(srv.external) != "" {
			s.progress("%s is set: using that server, not starting %s", srv.external, srv.name)
			continue
		}
		servers = append(servers, srv)
	}
	if opts.Mode == Dev {
		if err := checkDevPorts(servers); err != nil {
			return nil, err
		}
	}
	besideCtx, cancelBeside := context.WithCancel(ctx)
	s.cancelBeside = cancelBeside
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, srv := range servers {
		if srv.beside && opts.Mode == Dev {
			s.startBeside(besideCtx, srv)
			continue
		}
		wg.Go(func() {
			if errs[i] = s.run(ctx, srv); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, s.Stop())
	}
	if opts.Mode == Test {
		s.env["STACK_TMP"] = opts.Dir
		s.env["CONQUEST_TEST_STACK"] = "1"
	}
	return s, nil
}

// startBeside runs srv in the background on its fixed dev ports. Its
// environment is known before it answers, so the app gets it at once.
func (s *Stack) startBeside(ctx context.Context, srv server) {
	s.setEnv(srv.env(srv.fixed))
	s.progress("starting %s beside the app: the game does not wait for it", srv.name)
	s.beside.Go(func() {
		if s.opts.BesideAfter != nil {
			select {
			case <-s.opts.BesideAfter:
			case <-ctx.Done():
				return
			}
		}
		if err := s.run(ctx, srv); err != nil && ctx.Err() == nil {
			s.progress("%v: the game runs on, without it", err)
		}
	})
}

// servers lists the members of the stack for the mode.
func (s *Stack) servers() []server {
	creds := s3Creds{devS3AccessKey, devS3SecretKey}
	if s.opts.Mode == Test {
		creds = s3Creds{"test-" + randomHex(6), randomHex(16)}
	}
	root, out := s.opts.Root, s.opts.Out
	var redisExe, s3Exe string
	return []server{
		{
			name: "postgres", external: "DATABASE_URL", fixed: []int{DevPostgresPort},
			install: func(ctx context.Context) error { return ensureNodeModules(ctx, root, out) },
			start: func(ctx context.Context, ports []int) (*process, error) {
				db := "memory://" // a test stack throws its data away anyway
				if s.opts.Mode == Dev {
					db = s.dataDir("pglite")
				}
				return startPGlite(ctx, root, db, ports[0], s.logPath("postgres"))
			},
			env: func(ports []int) map[string]string {
				return map[string]string{"DATABASE_URL": postgresURL(ports[0])}
			},
		},
		{
			name: "redis", external: "REDIS_URL", fixed: s.redisPorts(),
			install: func(ctx context.Context) (err error) {
				redisExe, err = ensureRedis(ctx, root, out)
				return err
			},
			start: func(ctx context.Context, ports []int) (*process, error) {
				dir := s.dataDir("redis")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return nil, fmt.Errorf("create %s: %w", dir, err)
				}
				if s.opts.RedisTopology != "" {
					return startRedisTopology(ctx, redisExe, dir, s.opts.RedisTopology, ports, s.logPath("redis"))
				}
				return startRedis(ctx, redisExe, dir, ports[0], s.opts.Mode == Dev, s.logPath("redis"))
			},
			env: func(ports []int) map[string]string {
				return map[string]string{"REDIS_URL": topologyURL(s.opts.RedisTopology, ports)}
			},
		},
		{
			name: "s3", external: "S3_ENDPOINT", fixed: []int{DevS3Port}, beside: true,
			install: func(ctx context.Context) (err error) {
				s3Exe, err = ensureS3Server(ctx, root, out)
				return err
			},
			start: func(ctx context.Context, ports []int) (*process, error) {
				return startS3(ctx, s3Exe, s.dataDir("s3"), ports[0], creds, s.logPath("s3"))
			},
			env: func(ports []int) map[string]string {
				return map[string]string{
					"S3_ENDPOINT":   hostPort(ports[0]),
					"S3_ACCESS_KEY": creds.accessKey,
					"S3_SECRET_KEY": creds.secretKey,
					"S3_USE_SSL":    "false",
					"S3_BUCKET":     S3Bucket,
					"S3_REGION":     S3Region,
				}
			},
		},
	}
}

// redisPorts are the Redis server's dev ports; a topology (test stacks
// only) takes as many free ones as it has servers.
func (s *Stack) redisPorts() []int {
	if s.opts.RedisTopology == "" {
		return []int{DevRedisPort}
	}
	return make([]int, topologyPorts(s.opts.RedisTopology))
}

// run installs and starts one server, on fresh ports again when a test
// stack's server dies early, and records it and its environment.
func (s *Stack) run(ctx context.Context, srv server) error {
	if err := srv.install(ctx); err != nil {
		return fmt.Errorf("install %s: %w", srv.name, err)
	}
	attempts := 1
	if s.opts.Mode == Test {
		attempts = testAttempts
	}
	var err error
	for range attempts {
		var ports []int
		if ports, err = s.ports(srv); err != nil {
			return err
		}
		began := time.Now()
		var p *process
		if p, err = s.startReady(ctx, srv, ports); err == nil {
			s.track(p)
			s.setEnv(srv.env(ports))
			s.progress("%s ready on %s in %s (log: %s)", srv.name, hostPort(ports[0]), time.Since(began).Round(100*time.Millisecond), p.logPath)
			return nil
		}
		if p != nil {
			p.stop(syscall.SIGTERM, stopGrace)
		}
		if !errors.Is(err, errExited) || ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("start %s: %w", srv.name, err)
}

// startReady bounds how long a server may take to become ready.
func (s *Stack) startReady(ctx context.Context, srv server, ports []int) (*process, error) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return srv.start(ctx, ports)
}

// ports returns the fixed dev ports (checkDevPorts vetted them), or free ones
// for a test stack.
func (s *Stack) ports(srv server) ([]int, error) {
	if s.opts.Mode == Test {
		return FreePorts(len(srv.fixed))
	}
	return srv.fixed, nil
}

// checkDevPorts fails, before anything is installed or started, when another
// process holds a dev port: most likely a dev stack already running.
func checkDevPorts(servers []server) error {
	var busy []string
	for _, srv := range servers {
		for _, p := range srv.fixed {
			if !portFree(p) {
				busy = append(busy, fmt.Sprintf("%d (%s)", p, srv.name))
			}
		}
	}
	if len(busy) > 0 {
		return fmt.Errorf("port %s already in use: is a dev stack running? (`go run ./cmd/stack env` tells)", strings.Join(busy, ", "))
	}
	return nil
}

// Stop ends every server (SIGTERM, then SIGKILL after a grace period), all at
// once. It is safe to call more than once.
func (s *Stack) Stop() error {
	if s.cancelBeside != nil {
		s.cancelBeside() // a build or start still under way ends here
	}
	s.beside.Wait()
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.stop(syscall.SIGTERM, stopGrace) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Env returns the KEY=VALUE pairs that point the app at this stack, sorted.
func (s *Stack) Env() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.env))
	for k, v := range s.env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// LogFiles returns the log paths of the servers this stack started.
func (s *Stack) LogFiles() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.procs {
		out = append(out, p.logPath)
	}
	return out
}

// PrintLogTails writes the last n lines of every server's log to w, so a
// failed CI run shows what the servers were saying.
func (s *Stack) PrintLogTails(w io.Writer, n int) {
	for _, path := range s.LogFiles() {
		lines, err := tail(path, n)
		if err != nil {
			fmt.Fprintf(w, "stack: read %s: %v\n", path, err)
			continue
		}
		fmt.Fprintf(w, "----- last %d lines of %s -----\n%s\n", n, path, strings.Join(lines, "\n"))
	}
}

func (s *Stack) track(p *process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, p)
}

func (s *Stack) setEnv(kv map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range kv {
		s.env[k] = v
	}
}

func (s *Stack) progress(format string, args ...any) {
	fmt.Fprintf(s.opts.Out, "stack: "+format+"\n", args...)
}

func (s *Stack) dataDir(name string) string { return filepath.Join(s.opts.Dir, "data", name) }
func (s *Stack) logDir() string             { return filepath.Join(s.opts.Dir, "logs") }
func (s *Stack) logPath(name string) string { return filepath.Join(s.logDir(), name+".log") }

// randomHex returns n random bytes as hex, for throwaway credentials.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: see crypto/rand.Read
	return hex.EncodeToString(b)
}
