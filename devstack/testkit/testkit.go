// Package testkit starts the real conquest binary for black-box tests and
// speaks HTTP to it. Tests run inside `go tool task test`, whose stack
// exports DATABASE_URL, REDIS_URL and S3_* for the servers it started.
package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	migrated  sync.Once
	migErr    error
)

// SkipShort skips a test under -short, which runs without the test stack:
// needs names what the test needs instead.
func SkipShort(t testing.TB, needs string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs " + needs + "; -short runs without the test stack")
	}
}

// RequireStack fails the test when the test stack's environment is missing:
// these tests need real servers and must not pass by skipping.
func RequireStack(t testing.TB) {
	t.Helper()
	SkipShort(t, "the test stack")
	for _, k := range []string{"DATABASE_URL", "REDIS_URL"} {
		if os.Getenv(k) == "" {
			t.Fatalf("%s is not set: run the suite with `go tool task test`, which starts the test stack", k)
		}
	}
}

// repoRoot finds the module root from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binary builds cmd/conquest once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "conquest-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "conquest")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/conquest")
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreePort asks the kernel for a free loopback port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Migrate applies the migrations once per test process with the binary.
func Migrate(t testing.TB) {
	t.Helper()
	RequireStack(t)
	bin := Binary(t)
	migrated.Do(func() {
		cmd := exec.Command(bin, "migrate")
		cmd.Env = os.Environ()
		out, err := cmd.CombinedOutput()
		if err != nil {
			migErr = fmt.Errorf("conquest migrate: %v\n%s", err, out)
		}
	})
	if migErr != nil {
		t.Fatal(migErr)
	}
}

// Options configure a started process.
type Options struct {
	Command string   // api, worker or all (default all)
	Args    []string // extra arguments
	Env     []string // KEY=VALUE overrides on top of the test stack's env
}

// Process is a running conquest process.
type Process struct {
	URL  string // base URL of the HTTP server (api/all)
	cmd  *exec.Cmd
	logs *LockedBuffer
	done chan struct{}
}

// TestSecret is a fixed JWT key shared by processes of one test so that
// tokens work across replicas.
const TestSecret = "dGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtdGVzdC1zZWNyZXQtMTIzNDU2Nzg5MA=="

// Start runs the conquest binary and waits until it is healthy. It is
// stopped (SIGTERM, then SIGKILL) when the test ends; its log is printed
// when the test failed.
func Start(t testing.TB, o Options) *Process {
	t.Helper()
	Migrate(t)
	if o.Command == "" {
		o.Command = "all"
	}
	port := FreePort(t)
	cmd := exec.Command(Binary(t), append([]string{o.Command}, o.Args...)...)
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", port),
		"APP_ENV=test",
		"LOG_LEVEL=debug",
		"JWT_SECRET="+TestSecret,
		"SHUTDOWN_TIMEOUT=5s",
		// Every test registers players from 127.0.0.1 against one Redis;
		// tests of the limits themselves override these (last value wins).
		"RATE_REGISTER_PER_IP=100000",
		"RATE_LOGIN_PER_IP=100000",
		"RATE_LOGIN_PER_ACCOUNT=1000",
		// Some tests post many turns at once for one player; the per-player
		// turn limits have their own tests (tests/abuse_test.go).
		"TURNS_IN_FLIGHT_PER_PLAYER=1000",
		"TURNS_PER_MINUTE_PER_PLAYER=100000",
		// Fan-out tests open hundreds of streams for one player from
		// 127.0.0.1; the stream caps have their own test
		// (tests/security_test.go).
		"STREAMS_PER_PLAYER=100000",
		"STREAMS_PER_IP=100000",
	)
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Process{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, logs: &LockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("conquest %s log:\n%s", o.Command, p.Logs())
		}
	})
	if o.Command == "worker" {
		p.URL = ""
		time.Sleep(300 * time.Millisecond)
		return p
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("conquest %s exited early:\n%s", o.Command, p.Logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("conquest %s not healthy after 30s:\n%s", o.Command, p.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop sends SIGTERM and waits (SIGKILL after 10 s).
func (p *Process) Stop() {
	StopProcess(p.cmd.Process, p.done, 10*time.Second, func() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) })
}

// StopProcess stops a child process cleanly: SIGTERM, then kill (a SIGKILL
// of its own choosing: the process or its group) if it has not exited,
// done closed, within grace. A process already done is left alone.
func StopProcess(proc *os.Process, done <-chan struct{}, grace time.Duration, kill func()) {
	select {
	case <-done:
		return
	default:
	}
	_ = proc.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		kill()
		<-done
	}
}

// Kill sends SIGKILL to the process group (a crash).
func (p *Process) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Logs returns what the process printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// LockedBuffer collects a process's output: safe to write from its stdout
// and stderr copiers and to read while they run.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// UniqueEmail returns an email no other test uses.
func UniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%s@example.test", prefix, strings.ReplaceAll(uuid.NewString(), "-", "")[:16])
}

// Response is a decoded HTTP answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// ErrorCode returns error.code of an error body ("" if none).
func (r *Response) ErrorCode() string {
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// Client speaks HTTP to a process, optionally with a bearer token.
type Client struct {
	Base   string
	Token  string
	Header http.Header
	HTTP   *http.Client
}

// NewClient returns a client for base.
func NewClient(base string) *Client {
	return &Client{Base: base, Header: http.Header{}, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Do sends a request. body may be nil, a string/[]byte (sent raw) or a
// value (sent as JSON).
func (c *Client) Do(t testing.TB, method, path string, body any, hdr ...string) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	CheckResponse(t, req, resp, b) // every answer must match api/openapi/openapi.yaml
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Exec runs the conquest binary once (a one-shot command such as
// `admin grant <email>`) against the test stack and returns its output.
// env are KEY=VALUE overrides on top of the test stack's environment.
func Exec(t testing.TB, env []string, args ...string) (string, error) {
	t.Helper()
	Migrate(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Env = append(append(os.Environ(), "APP_ENV=test", "JWT_SECRET="+TestSecret), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
