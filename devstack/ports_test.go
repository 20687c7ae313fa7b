package devstack

import (
	"fmt"
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

	t.Run("a port someone listens on is not free", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.False(t, portFree(port))
		l.Close()
		require.True(t, portFree(port))
	})
}

func TestCheckDevPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	free, err := FreePorts(1)
	require.NoError(t, err)

	t.Run("names every port that is taken and its server", func(t *testing.T) {
		err := checkDevPorts([]server{{name: "redis", fixed: []int{busy}}, {name: "s3", fixed: free}})
		require.ErrorContains(t, err, fmt.Sprintf("%d (redis)", busy))
		require.NotContains(t, err.Error(), "s3")
	})
	t.Run("passes when all ports are free", func(t *testing.T) {
		require.NoError(t, checkDevPorts([]server{{name: "s3", fixed: free}}))
	})
}
