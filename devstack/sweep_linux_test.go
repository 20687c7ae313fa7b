package devstack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSweepOrphans(t *testing.T) {
	require.NoError(t, becomeSubreaper())
	pidFile := filepath.Join(t.TempDir(), "orphan.pid")

	// The shell exits at once; its background sleep is orphaned and, with us
	// as subreaper, re-parented to this test process.
	require.NoError(t, exec.Command("sh", "-c", `sleep 60 & echo $! > "$0"`, pidFile).Run())
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	orphan, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	require.True(t, alive(orphan))

	t.Run("kills adopted orphans and says which", func(t *testing.T) {
		require.Contains(t, sweepOrphans(), orphan)
		require.False(t, alive(orphan))
	})

	t.Run("leaves children we started ourselves alone", func(t *testing.T) {
		p, err := start("sleep", exec.Command("sleep", "60"))
		require.NoError(t, err)
		defer p.stop(syscall.SIGKILL, 0)
		require.NotContains(t, sweepOrphans(), p.pid())
		require.False(t, p.exited())
	})
}
