package stack

import (
	"net"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFreePorts(t *testing.T) {
	t.Run("returns distinct ports that can be listened on", func(t *testing.T) {
		ports, err := FreePorts(8)
		require.NoError(t, err)
		require.Len(t, ports, 8)

		seen := map[int]bool{}
		for _, p := range ports {
			require.False(t, seen[p], "port %d returned twice", p)
			seen[p] = true
			require.False(t, slices.Contains(devPorts, p), "port %d belongs to the dev stack", p)

			l, err := net.Listen("tcp", hostPort(p))
			require.NoError(t, err, "port %d should be free", p)
			l.Close()
		}
	})

	t.Run("checkPortFree names the port that is taken", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port

		err = checkPortFree(port, "redis")
		require.ErrorContains(t, err, "already in use")

		free, err := FreePorts(1)
		require.NoError(t, err)
		require.NoError(t, checkPortFree(free[0], "redis"))
	})
}
