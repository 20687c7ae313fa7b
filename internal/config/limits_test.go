package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTurnLimitsAndProfiling(t *testing.T) {
	t.Run("defaults are valid: 3 turns in flight, 30 per minute, no pprof, streams detached", func(t *testing.T) {
		c, err := Load()
		require.NoError(t, err)
		require.Equal(t, 3, c.TurnLimits.InFlight)
		require.Equal(t, 30, c.TurnLimits.PerMinute)
		require.Empty(t, c.PprofAddr)
		require.True(t, c.SSEDetach, "SSE_DETACH is on by default")
	})
	t.Run("a loopback pprof address is accepted", func(t *testing.T) {
		for _, addr := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:6060", "127.0.0.1:0"} {
			t.Setenv("PPROF_ADDR", addr)
			_, err := Load()
			require.NoError(t, err, addr)
		}
	})
	for _, tc := range []struct {
		name, key, value string
	}{
		{"zero turns in flight", "TURNS_IN_FLIGHT_PER_PLAYER", "0"},
		{"zero turns per minute", "TURNS_PER_MINUTE_PER_PLAYER", "0"},
		{"pprof on every interface", "PPROF_ADDR", ":6060"},
		{"pprof on a public address", "PPROF_ADDR", "0.0.0.0:6060"},
		{"pprof on a LAN address", "PPROF_ADDR", "10.0.0.5:6060"},
		{"pprof without a port", "PPROF_ADDR", "127.0.0.1"},
	} {
		t.Run(tc.name+" stops start-up naming "+tc.key, func(t *testing.T) {
			t.Setenv(tc.key, tc.value)
			_, err := Load()
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.key), err.Error())
		})
	}
}
