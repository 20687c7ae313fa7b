package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/codeofconquest/brightdawn/devstack"
)

// K6Version is the k6 the project builds into .stack/bin (go install).
const K6Version = "v1.8.1"

// runK6 starts conquest (or uses -base) and runs the k6 scripts of
// loadtest/k6 against it, one after the other; it fails when a script's
// thresholds fail. k6 is built once into .stack/bin with the Go toolchain.
func runK6(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("k6", 20*time.Minute)
	scripts := fs.String("scripts", "journey,api", "scripts of loadtest/k6 to run, in order")
	vus := fs.Int("vus", 10, "journey: virtual players")
	iters := fs.Int("iterations", 2, "journey: journeys per player")
	msgs := fs.Int("messages", 5, "journey: turns per journey")
	rate := fs.Int("rate", 100, "api: requests per second")
	dur := fs.String("duration", "30s", "api: how long")
	out := fs.String("summary-dir", "", "write each script's end-of-test summary as JSON here")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()
	root, err := devstack.FindRoot(".")
	if err != nil {
		return err
	}
	k6, err := ensureK6(ctx, root)
	if err != nil {
		return err
	}
	srv, err := startServer(ctx, &c, "DM_WORD_DELAY=25ms")
	if err != nil {
		return err
	}
	defer srv.stop()
	var failed []error
	for _, name := range strings.Split(*scripts, ",") {
		script := filepath.Join(root, "loadtest", "k6", strings.TrimSpace(name)+".js")
		argv := []string{"run", "--quiet",
			"-e", "BASE_URL=" + srv.URL,
			"-e", fmt.Sprintf("VUS=%d", *vus), "-e", fmt.Sprintf("ITERATIONS=%d", *iters), "-e", fmt.Sprintf("MESSAGES=%d", *msgs),
			"-e", fmt.Sprintf("RATE=%d", *rate), "-e", "DURATION=" + *dur,
		}
		if *out != "" {
			_ = os.MkdirAll(*out, 0o755)
			argv = append(argv, "--summary-export", filepath.Join(*out, "k6-"+name+".json"))
		}
		argv = append(argv, script)
		fmt.Fprintf(os.Stderr, "loadgen: k6 %s (load average %s)\n", strings.Join(argv, " "), loadAvg())
		cmd := exec.CommandContext(ctx, k6, argv...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), "K6_NO_USAGE_REPORT=true")
		if err := cmd.Run(); err != nil {
			failed = append(failed, fmt.Errorf("k6 %s: %w", name, err))
		}
	}
	c.printLogs(srv)
	if !srv.alive() {
		failed = append(failed, errors.New("conquest exited during the run"))
	}
	return errors.Join(failed...)
}

// ensureK6 returns .stack/bin/k6 at K6Version, building it with
// `go install go.k6.io/k6@K6Version` when missing or of another version.
func ensureK6(ctx context.Context, root string) (string, error) {
	bin := filepath.Join(root, ".stack", "bin")
	k6 := filepath.Join(bin, "k6")
	if out, err := exec.CommandContext(ctx, k6, "version").Output(); err == nil && strings.Contains(string(out), K6Version) {
		return k6, nil
	}
	fmt.Fprintf(os.Stderr, "loadgen: building k6 %s into %s (a few minutes, once)…\n", K6Version, bin)
	cmd := exec.CommandContext(ctx, "go", "install", "go.k6.io/k6@"+K6Version)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install go.k6.io/k6@%s: %w", K6Version, err)
	}
	return k6, nil
}
