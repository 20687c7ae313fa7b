package devstack

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// alive reports whether pid exists and is not a zombie waiting to be reaped
// by someone else (kill -0 succeeds on zombies).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// eventually waits for cond, as process death is asynchronous.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 20*time.Millisecond, msg)
}

func TestProcessStop(t *testing.T) {
	t.Run("kills the whole group, grandchildren included", func(t *testing.T) {
		pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
		// The grandchild ignores SIGTERM, so only the SIGKILL to the group
		// after the grace period can end it.
		cmd := exec.Command("sh", "-c", `sh -c 'trap "" TERM; echo $$ > "$0"; while :; do sleep 1; done' "$0" & wait`, pidFile)
		p, err := startLogged("sh", filepath.Join(t.TempDir(), "sh.log"), cmd)
		require.NoError(t, err)

		var grandchild int
		eventually(t, func() bool {
			b, err := os.ReadFile(pidFile)
			grandchild, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return err == nil && grandchild > 0
		}, "grandchild never started")

		require.NoError(t, p.stop(syscall.SIGTERM, 200*time.Millisecond))
		require.True(t, p.exited())
		eventually(t, func() bool { return !alive(grandchild) }, "grandchild outlived stop")
	})

	t.Run("is harmless on a process that already exited", func(t *testing.T) {
		p, err := start("true", exec.Command("true"))
		require.NoError(t, err)
		<-p.done
		require.NoError(t, p.stop(syscall.SIGTERM, time.Second))
	})
}

func TestExitCode(t *testing.T) {
	run := func(script string) error { return exec.Command("sh", "-c", script).Run() }
	tests := []struct {
		name   string
		script string
		want   int
	}{
		{"success is 0", "true", 0},
		{"a plain failure keeps its code", "exit 7", 7},
		{"death by signal is 128+signal", "kill -TERM $$", 128 + int(syscall.SIGTERM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, exitCode(run(tt.script)))
		})
	}
}

func TestTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var lines []string
	for i := range 100 {
		lines = append(lines, "line "+strconv.Itoa(i))
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))

	t.Run("returns the last n lines in order", func(t *testing.T) {
		got, err := tail(path, 3)
		require.NoError(t, err)
		require.Equal(t, []string{"line 97", "line 98", "line 99"}, got)
	})
	t.Run("returns everything from a short file", func(t *testing.T) {
		got, err := tail(path, 500)
		require.NoError(t, err)
		require.Len(t, got, 100)
	})
}
