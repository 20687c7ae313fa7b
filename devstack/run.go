package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	commandGrace = 15 * time.Second // for `go test` to report which test hung
	appGrace     = 15 * time.Second // for conquest to drain requests and tasks
	tailLines    = 40
)

// RunTest starts a throwaway stack in a fresh temporary folder, runs args with
// the stack's environment, tears everything down and returns the command's
// exit status (130 when interrupted). Servers' log tails are printed when the
// command fails, so a red CI run shows what they said.
func RunTest(ctx context.Context, root string, args []string, out io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(out, "stack test: no command given (usage: stack test -- go test ./...)")
		return 2
	}
	stopReaping := adoptOrphans(out)
	defer stopReaping()
	tmp, err := os.MkdirTemp("", "conquest-stack-")
	if err != nil {
		fmt.Fprintf(out, "stack: %v\n", err)
		return 1
	}
	defer removeAll(tmp, out)

	if err := ensureTestTools(ctx, root, out); err != nil {
		fmt.Fprintf(out, "stack: %v\n", err)
		return 1
	}
	// The word-vector and WordNet tables (WORDVEC_TABLE, WORDNET_TABLE)
	// are built once into .stack, so the wordvec embedder's and query
	// expansion's tests run for real.
	var extra []string
	if os.Getenv("WORDVEC_TABLE") == "" {
		table, err := EnsureWordVecs(ctx, root, out)
		if err != nil {
			return startFailed(ctx, err, out)
		}
		extra = append(extra, "WORDVEC_TABLE="+table)
		if os.Getenv("WORDNET_TABLE") == "" {
			extra = append(extra, "WORDNET_TABLE="+WordNetTable(root))
		}
	}
	st, err := Start(ctx, Options{Mode: Test, Root: root, Dir: tmp, Out: out, RedisTopology: os.Getenv("STACK_REDIS")})
	if err != nil {
		return startFailed(ctx, err, out)
	}
	code := runCommand(ctx, args, append(st.Env(), extra...), out)
	if code != 0 && ctx.Err() == nil { // an interrupt is no server's fault
		fmt.Fprintf(out, "stack: command exited with status %d\n", code)
		st.PrintLogTails(out, tailLines)
	}
	if err := st.Stop(); err != nil {
		fmt.Fprintf(out, "stack: stop: %v\n", err)
	}
	reportOrphans(out)
	return code
}

// startFailed reports a failed start-up and returns the exit status. After
// an interrupt the servers' complaints about it are noise.
func startFailed(ctx context.Context, err error, out io.Writer) int {
	if ctx.Err() != nil {
		fmt.Fprintln(out, "stack: interrupted during start-up; everything started was stopped")
		return 130
	}
	fmt.Fprintf(out, "stack: %v\n", err)
	return 1
}

// runCommand runs args in its own process group with env added, passing
// stdio through. On cancellation the group gets SIGINT, as a terminal's
// Ctrl-C would have sent it, then SIGKILL after commandGrace.
func runCommand(ctx context.Context, args, env []string, out io.Writer) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	p, err := start(args[0], cmd)
	if err != nil {
		fmt.Fprintf(out, "stack: %v\n", err)
		if errors.Is(err, exec.ErrNotFound) {
			return 127
		}
		return 126
	}
	select {
	case <-p.done:
		p.signal(syscall.SIGKILL) // whatever it left running in its group
		return exitCode(p.err)
	case <-ctx.Done():
		fmt.Fprintf(out, "stack: interrupted: stopping %s…\n", args[0])
		if err := p.stop(syscall.SIGINT, commandGrace); err != nil {
			fmt.Fprintf(out, "stack: %v\n", err)
		}
		return 130
	}
}

// DevOptions configure RunDev.
type DevOptions struct {
	// ServersOnly starts the servers but not conquest, for running the app
	// from an IDE or while cmd/conquest does not build.
	ServersOnly bool
}

// RunDev runs the dev stack on its fixed ports with data under .stack/data,
// builds and runs `conquest all` against it, and on cancellation stops
// conquest first, then the servers. It returns a process exit status.
func RunDev(ctx context.Context, root string, opts DevOptions, out io.Writer) int {
	stopReaping := adoptOrphans(out)
	defer stopReaping()
	began := time.Now()
	// Compile while the servers start: both take seconds.
	built := make(chan error, 1)
	appBuilt := make(chan struct{})
	if opts.ServersOnly {
		close(appBuilt)
	} else {
		go func() {
			err := buildApp(ctx, root, out)
			close(appBuilt)
			built <- err
		}()
	}
	dir := filepath.Join(root, ".stack")
	st, err := Start(ctx, Options{Mode: Dev, Root: root, Dir: dir, Out: out, BesideAfter: appBuilt})
	if err != nil {
		return startFailed(ctx, err, out)
	}
	defer func() {
		fmt.Fprintln(out, "stack: stopping servers…")
		if err := st.Stop(); err != nil {
			fmt.Fprintf(out, "stack: stop: %v\n", err)
		}
		os.Remove(envFile(root))
		reportOrphans(out)
		fmt.Fprintln(out, "stack: stopped")
	}()
	if err := writeEnvFile(root, st.Env()); err != nil {
		fmt.Fprintf(out, "stack: %v\n", err)
	}
	fmt.Fprintf(out, "stack: servers up in %s (S3 on %s, user %s, may still be starting); env: go run ./cmd/stack env\n",
		time.Since(began).Round(100*time.Millisecond), hostPort(DevS3Port), devS3AccessKey)

	if opts.ServersOnly {
		fmt.Fprintln(out, "stack: servers only; Ctrl-C stops them")
		<-ctx.Done()
		return 0
	}
	if err := <-built; err != nil {
		fmt.Fprintf(out, "stack: %v (use `stack dev -servers-only` to run the servers alone)\n", err)
		return 1
	}
	return runApp(ctx, root, st.Env(), out)
}

// appBinary is where the dev stack builds conquest: a built binary, unlike
// `go run`, is the process we signal, so shutdown reaches the app itself.
func appBinary(root string) string { return filepath.Join(root, ".stack", "bin", "conquest") }

func buildApp(ctx context.Context, root string, out io.Writer) error {
	fmt.Fprintln(out, "stack: building conquest…")
	defer ticker(out, "stack: still building conquest", time.Now())()
	if err := runVisible(ctx, out, root, os.Environ(), "go", "build", "-o", appBinary(root), "./cmd/conquest"); err != nil {
		return fmt.Errorf("build conquest: %w", err)
	}
	return nil
}

// runApp runs `conquest all` until it exits or ctx ends, then stops it.
func runApp(ctx context.Context, root string, env []string, out io.Writer) int {
	cmd := exec.Command(appBinary(root), "all")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	app, err := start("conquest", cmd)
	if err != nil {
		fmt.Fprintf(out, "stack: %v\n", err)
		return 1
	}
	fmt.Fprintf(out, "stack: conquest started (pid %d); Ctrl-C stops everything\n", app.pid())
	go announceWhenListening(ctx, app, out)
	select {
	case <-app.done:
		code := exitCode(app.err)
		fmt.Fprintf(out, "stack: conquest exited with status %d\n", code)
		return max(code, 1) // the app is meant to run until we stop it
	case <-ctx.Done():
		fmt.Fprintln(out, "stack: stopping conquest…")
		if err := app.stop(syscall.SIGTERM, appGrace); err != nil {
			fmt.Fprintf(out, "stack: %v\n", err)
		}
		return 0
	}
}

// announceWhenListening prints the app's address once it accepts
// connections, so the line is not lost above the app's start-up logs.
func announceWhenListening(ctx context.Context, app *process, out io.Writer) {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second); err == nil {
			c.Close()
			fmt.Fprintf(out, "stack: open %s\n", DevAppURL)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-app.done:
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// envFile is where a running dev stack leaves its environment for `stack env`.
func envFile(root string) string { return filepath.Join(root, ".stack", "env") }

func writeEnvFile(root string, env []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# dev stack pid %d, started %s; eval \"$(go run ./cmd/stack env)\" to use it\n",
		os.Getpid(), time.Now().Format(time.RFC3339))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	if err := os.WriteFile(envFile(root), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write env file: %w", err)
	}
	return nil
}

// PrintEnv writes the environment of the running dev stack, as shell export
// lines, to w.
func PrintEnv(root string, w io.Writer) error {
	b, err := os.ReadFile(envFile(root))
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("no dev stack is running (start one with `go run ./cmd/stack dev`)")
	}
	if err != nil {
		return fmt.Errorf("read env file: %w", err)
	}
	if pid := envFilePid(string(b)); pid <= 0 || syscall.Kill(pid, 0) != nil {
		return fmt.Errorf("no dev stack is running (stale %s from pid %d)", envFile(root), pid)
	}
	_, err = w.Write(b)
	return err
}

// envFilePid reads the pid from the env file's first line.
func envFilePid(content string) int {
	sc := bufio.NewScanner(strings.NewReader(content))
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text())
	for i, f := range fields {
		if f == "pid" && i+1 < len(fields) {
			pid, _ := strconv.Atoi(strings.TrimSuffix(fields[i+1], ","))
			return pid
		}
	}
	return 0
}

// shellQuote single-quotes s for POSIX shells: URLs carry & and ?.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// adoptOrphans makes us the subreaper of everything we start and reaps
// exited orphans until the returned func is called.
func adoptOrphans(out io.Writer) (stop func()) {
	if err := becomeSubreaper(); err != nil {
		fmt.Fprintf(out, "stack: cannot become subreaper, leaked grandchildren will outlive us: %v\n", err)
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go reapOrphans(ctx)
	return cancel
}

// reportOrphans kills what the command or app left running and says so, as
// a leak there is a bug worth seeing.
func reportOrphans(out io.Writer) {
	if pids := sweepOrphans(); len(pids) > 0 {
		fmt.Fprintf(out, "stack: killed %d leftover process(es) started by the command: %v\n", len(pids), pids)
	}
}

func removeAll(dir string, out io.Writer) {
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(out, "stack: remove %s: %v\n", dir, err)
	}
}
