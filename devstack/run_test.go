package devstack

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRunCommand(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"a passing command exits 0", []string{"true"}, 0},
		{"a failing command keeps its status", []string{"sh", "-c", "exit 3"}, 3},
		{"a missing command exits 127", []string{"no-such-command-anywhere"}, 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, runCommand(context.Background(), tt.args, nil, io.Discard))
		})
	}

	t.Run("the command sees the stack's environment", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "env")
		code := runCommand(context.Background(), []string{"sh", "-c", `printf %s "$REDIS_URL" > "$0"`, out},
			[]string{"REDIS_URL=redis://127.0.0.1:1/0"}, io.Discard)
		require.Zero(t, code)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		require.Equal(t, "redis://127.0.0.1:1/0", string(b))
	})

	t.Run("cancelling interrupts the command and exits 130", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		began := time.Now()
		require.Equal(t, 130, runCommand(ctx, []string{"sleep", "60"}, nil, io.Discard))
		require.Less(t, time.Since(began), commandGrace, "sleep should die of the SIGINT, not the SIGKILL")
	})
}

func TestEnvFile(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, ".stack"), 0o755))

	t.Run("no file means no dev stack", func(t *testing.T) {
		require.ErrorContains(t, PrintEnv(root, io.Discard), "no dev stack is running")
	})

	t.Run("a live stack's env prints as shell exports", func(t *testing.T) {
		url := "postgres://u:p@127.0.0.1:1/db?sslmode=disable&default_query_exec_mode=exec"
		require.NoError(t, writeEnvFile(root, []string{"DATABASE_URL=" + url}))
		var buf bytes.Buffer
		require.NoError(t, PrintEnv(root, &buf))

		// The shell must read back exactly what was written.
		script := buf.String() + `printf %s "$DATABASE_URL"`
		got, err := exec.Command("sh", "-c", script).Output()
		require.NoError(t, err)
		require.Equal(t, url, string(got))
	})

	t.Run("a file left by a dead stack is reported as stale", func(t *testing.T) {
		content := "# dev stack pid 999999999, started x\nexport A='b'\n"
		require.NoError(t, os.WriteFile(envFile(root), []byte(content), 0o600))
		require.ErrorContains(t, PrintEnv(root, io.Discard), "stale")
	})
}

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"plain", "a&b?c=d", "it's", `"$HOME"`, ""} {
		t.Run("round-trips "+strings.ReplaceAll(s, " ", "_"), func(t *testing.T) {
			got, err := exec.Command("sh", "-c", "printf %s "+shellQuote(s)).Output()
			require.NoError(t, err)
			require.Equal(t, s, string(got))
		})
	}
}
