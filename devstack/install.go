package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

const modulePath = "github.com/codeofconquest/brightdawn"

// FindRoot walks up from dir to the repository root: the folder whose go.mod
// declares this module.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if declaresModule(filepath.Join(d, "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of %s in %s or above", modulePath, dir)
		}
	}
}

func declaresModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == modulePath
		}
	}
	return false
}

// withInstallLock serialises one kind of install across concurrent stack
// processes (two `stack test` runs on a fresh checkout would otherwise run npm
// ci into the same folder at once). Each kind has its own lock so npm need
// not wait for the S3 server's build. The lock is released when the file is closed,
// also when the process dies.
func withInstallLock(ctx context.Context, root, name string, fn func() error) error {
	dir := filepath.Join(root, ".stack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("open install lock: %w", err)
	}
	defer f.Close()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("take install lock: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fn()
}

// runVisible runs an installer with its output shown to the user, who is
// waiting on it anyway.
func runVisible(ctx context.Context, out io.Writer, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childAttr()
	// Kill the whole group on cancel: `go install` and npm fork workers.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := startTracked(cmd)
	if err == nil {
		err = waitTracked(cmd)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// ensureNodeModules runs npm ci when devstack/node_modules is missing or older
// than the lockfile. npm rewrites node_modules/.package-lock.json on every
// install, so its age tells whether the tree matches package-lock.json.
func ensureNodeModules(ctx context.Context, root string, out io.Writer) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH: install Node.js 20+ and npm (Debian: apt-get install nodejs npm)")
	}
	devstack := filepath.Join(root, "devstack")
	if fresh(filepath.Join(devstack, "node_modules", ".package-lock.json"), filepath.Join(devstack, "package-lock.json")) {
		return nil
	}
	return withInstallLock(ctx, root, "npm", func() error {
		if fresh(filepath.Join(devstack, "node_modules", ".package-lock.json"), filepath.Join(devstack, "package-lock.json")) {
			return nil // another stack installed while we waited
		}
		if _, err := exec.LookPath("npm"); err != nil {
			return errors.New("npm is not on PATH: install it (Debian: apt-get install npm)")
		}
		fmt.Fprintln(out, "stack: installing npm packages (PGlite) into devstack/node_modules…")
		defer ticker(out, "stack: still installing npm packages", time.Now())()
		return runVisible(ctx, out, root, os.Environ(), "npm", "ci", "--prefix", "devstack", "--no-audit", "--no-fund")
	})
}

// fresh reports whether target exists and is not older than source.
func fresh(target, source string) bool {
	t, err := os.Stat(target)
	if err != nil {
		return false
	}
	s, err := os.Stat(source)
	if err != nil {
		return true // nothing to compare with: trust what is there
	}
	return !t.ModTime().Before(s.ModTime())
}

// ensureRedis finds redis-server, installing Debian's package when we are root
// (the only prerequisites of a fresh machine are Go, Node and apt).
func ensureRedis(ctx context.Context, root string, out io.Writer) (string, error) {
	if exe, err := exec.LookPath("redis-server"); err == nil {
		return exe, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("redis-server is not on PATH: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)")
	}
	err := withInstallLock(ctx, root, "apt", func() error {
		if _, err := exec.LookPath("redis-server"); err == nil {
			return nil
		}
		fmt.Fprintln(out, "stack: redis-server missing, running apt-get install -y redis-server…")
		defer ticker(out, "stack: still installing redis-server", time.Now())()
		env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if err := runVisible(ctx, out, root, env, "apt-get", "update"); err != nil {
			return err
		}
		return runVisible(ctx, out, root, env, "apt-get", "install", "-y", "redis-server")
	})
	if err != nil {
		return "", fmt.Errorf("install redis-server: %w", err)
	}
	return exec.LookPath("redis-server")
}
