package devstack

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// process is a child started in its own process group. The group is what we
// signal, so helpers a server forks (or test binaries `go test` forks) go down
// with it.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string        // where its stdout and stderr go; empty when inherited
	done    chan struct{} // closed once the child has been reaped
	err     error         // cmd.Wait's result, valid after done is closed
}

// startLogged starts cmd with stdout and stderr appended to logPath. The file
// is handed to the child as its descriptors, so the child keeps logging even
// while we are busy or gone.
func startLogged(name, logPath string, cmd *exec.Cmd) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	defer f.Close() // the child holds its own copy after Start
	fmt.Fprintf(f, "\n=== %s: %s\n", time.Now().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	cmd.Stdout, cmd.Stderr = f, f
	p, err := start(name, cmd)
	if err != nil {
		return nil, err
	}
	p.logPath = logPath
	return p, nil
}

// start runs cmd in a new process group and reaps it in the background.
func start(name string, cmd *exec.Cmd) (*process, error) {
	cmd.SysProcAttr = childAttr()
	if err := startTracked(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = waitTracked(cmd)
		close(p.done)
	}()
	return p, nil
}

// As a subreaper (sweep_linux.go) we adopt orphans and must reap them, but
// never a child of our own: that would steal its status from exec.Cmd.Wait.
// ownChildren holds the pids we started and have not yet waited for; starting
// holds spawning shared, the orphan reaper holds it exclusively, so the reaper
// never sees a child of ours before it is registered.
var (
	spawning    sync.RWMutex
	ownChildren sync.Map // pid → struct{}
)

func startTracked(cmd *exec.Cmd) error {
	spawning.RLock()
	defer spawning.RUnlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	ownChildren.Store(cmd.Process.Pid, struct{}{})
	return nil
}

func waitTracked(cmd *exec.Cmd) error {
	err := cmd.Wait()
	ownChildren.Delete(cmd.Process.Pid)
	return err
}

func isOwnChild(pid int) bool {
	_, ok := ownChildren.Load(pid)
	return ok
}

// pid is the child's process id, which is also its process group id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the child has already ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the child's whole process group.
func (p *process) signal(sig syscall.Signal) error {
	err := syscall.Kill(-p.pid(), sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // nothing left to signal
	}
	return err
}

// stop asks the group to end with sig, waits up to grace, then kills it. Any
// member still alive after the leader has gone (a grandchild that ignored the
// signal) is killed too, so nothing outlives stop.
func (p *process) stop(sig syscall.Signal, grace time.Duration) error {
	if !p.exited() {
		if err := p.signal(sig); err != nil {
			return fmt.Errorf("signal %s: %w", p.name, err)
		}
		select {
		case <-p.done:
		case <-time.After(grace):
			if err := p.signal(syscall.SIGKILL); err != nil {
				return fmt.Errorf("kill %s: %w", p.name, err)
			}
			<-p.done
		}
	}
	if err := p.signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill rest of %s's group: %w", p.name, err)
	}
	return nil
}

// exitCode turns a Wait error into a shell-style exit status: the child's own
// code, or 128+signal when a signal ended it.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 1
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ee.ExitCode()
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	lines := make([]string, 0, n)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if len(lines) == n {
			lines = append(lines[:0], lines[1:]...)
		}
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}
