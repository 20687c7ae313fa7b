package events

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestShutdownBlock(t *testing.T) {
	t.Run("it sets a short, spread reconnection delay and dispatches no event", func(t *testing.T) {
		seen := map[string]bool{}
		for range 50 {
			b := string(shutdownBlock())
			require.True(t, strings.HasSuffix(b, "\n\n"), "one complete block: %q", b)
			require.NotContains(t, b, "data:")
			require.NotContains(t, b, "event:")
			ms := retryOf(t, b)
			require.GreaterOrEqual(t, ms, ShutdownRetryMin.Milliseconds())
			require.Less(t, ms, (ShutdownRetryMin + ShutdownRetrySpread).Milliseconds())
			seen[strconv.FormatInt(ms, 10)] = true
		}
		require.Greater(t, len(seen), 1, "the delay is spread")
	})
}

func TestShutdownSendsRetryHint(t *testing.T) {
	h := startHub(t, HubOptions{})
	srv := newServer(t, h, time.Minute)
	resp := get(t, t.Context(), srv.sessionURL(uuid.New()), "")
	defer resp.Body.Close()
	require.Eventually(t, func() bool { return h.Stats().Subscribers == 1 }, patience, time.Millisecond)
	h.Shutdown()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	// The opening block carries the normal delay; the last one the short one.
	blocks := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
	last := blocks[len(blocks)-1] + "\n\n"
	require.Contains(t, last, ": server shutting down")
	ms := retryOf(t, last)
	require.Less(t, ms, int64(1500), "shorter than the stream's normal retry")
}

// retryOf returns the value of the block's retry: field in milliseconds.
func retryOf(t *testing.T, block string) int64 {
	t.Helper()
	for _, line := range strings.Split(block, "\n") {
		if v, ok := strings.CutPrefix(line, "retry: "); ok {
			ms, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			return ms
		}
	}
	t.Fatalf("no retry field in %q", block)
	return 0
}
