package devstack

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// S3 settings shared by every stack; only the endpoint and the keys vary.
const (
	S3Bucket = "conquest-assets"
	S3Region = "us-east-1"

	devS3AccessKey = "conquest-dev"
	devS3SecretKey = "conquest-dev-secret"
)

// VersityGWVersion is the pinned versitygw (S3 gateway, Apache-2.0) built
// into .stack/bin. docs/STORAGE.md says why this server and not another.
const VersityGWVersion = "v1.8.0"

const versityGWModule = "github.com/versity/versitygw/cmd/versitygw"

// s3HealthPath is the gateway's unauthenticated health endpoint (--health).
const s3HealthPath = "/health"

// s3Creds are the gateway's root account, handed to the app as its S3 keys.
type s3Creds struct{ accessKey, secretKey string }

// startS3 serves dir as S3 on port with versitygw's posix backend and waits
// for its health endpoint. Object metadata (content type, ETag) goes into a
// sidecar folder rather than extended attributes, so any filesystem works,
// tmpfs included.
func startS3(ctx context.Context, exe, dir string, port int, creds s3Creds, logPath string) (*process, error) {
	data, meta := filepath.Join(dir, "objects"), filepath.Join(dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	cmd := exec.Command(exe,
		"--port", hostPort(port),
		"--region", S3Region,
		"--health", s3HealthPath,
		// Browsers post the presigned upload form from the app's origin.
		"--cors-allow-origin", "*",
		"--quiet",
		"posix", "--sidecar", meta, data,
	)
	// Keys through the environment, not argv, so `ps` does not show them.
	cmd.Env = append(os.Environ(),
		"ROOT_ACCESS_KEY="+creds.accessKey,
		"ROOT_SECRET_KEY="+creds.secretKey,
	)
	p, err := startLogged("s3", logPath, cmd)
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://%s%s", hostPort(port), s3HealthPath)
	if err := waitReady(ctx, p, port, func(ctx context.Context) error { return probeHTTP(ctx, url) }); err != nil {
		return p, err
	}
	return p, nil
}

// probeHTTP succeeds when url answers 200.
func probeHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// ensureS3Server builds the pinned versitygw into .stack/bin unless that
// exact version is already there. A stamp file records the version, so
// bumping VersityGWVersion rebuilds.
func ensureS3Server(ctx context.Context, root string, out io.Writer) (string, error) {
	bin := filepath.Join(root, ".stack", "bin")
	exe := filepath.Join(bin, "versitygw")
	stamp := exe + ".version"
	if built(exe, stamp, VersityGWVersion) {
		return exe, nil
	}
	err := withInstallLock(ctx, root, "s3", func() error {
		if built(exe, stamp, VersityGWVersion) {
			return nil
		}
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", bin, err)
		}
		fmt.Fprintf(out, "stack: building the S3 server (versitygw %s) into .stack/bin, first time only…\n", VersityGWVersion)
		began := time.Now()
		stop := ticker(out, "stack: still building versitygw", began)
		defer stop()
		// GOFLAGS and GOWORK are cleared so the project's own settings cannot
		// leak into a build of another module; -trimpath and no DWARF make the
		// link step (the slowest single step here) lighter.
		env := append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "GOWORK=off")
		if err := runVisible(ctx, out, root, env, "go", "install", "-trimpath", "-ldflags=-s -w", versityGWModule+"@"+VersityGWVersion); err != nil {
			return fmt.Errorf("build versitygw: %w", err)
		}
		fmt.Fprintf(out, "stack: versitygw built in %s\n", time.Since(began).Round(time.Second))
		return os.WriteFile(stamp, []byte(VersityGWVersion+"\n"), 0o644)
	})
	return exe, err
}

// built reports whether exe exists and its stamp names version.
func built(exe, stamp, version string) bool {
	if _, err := os.Stat(exe); err != nil {
		return false
	}
	b, err := os.ReadFile(stamp)
	return err == nil && strings.TrimSpace(string(b)) == version
}

// ticker prints "<what> (Ns)…" every 15 s until stop is called, so a long
// quiet step (a Go build prints nothing while it compiles) shows it is alive.
func ticker(out io.Writer, what string, began time.Time) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(out, "%s (%s)…\n", what, time.Since(began).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}
