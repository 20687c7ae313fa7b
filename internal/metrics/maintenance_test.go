package metrics

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func TestMaintenanceMetrics(t *testing.T) {
	t.Run("sweeps and re-embed progress land in their series", func(t *testing.T) {
		m := New()
		require.Contains(t, scrape(t, m), `conquest_sweeper_turns_total{action="failed"} 0`, "both actions exist before any sweep")
		m.TurnsSwept(SweepRequeued, 3)
		m.TurnsSwept(SweepFailed, 1)
		done := m.ReembedStarted()
		m.ReembedProgressed()
		m.ReembedProgressed()
		require.Equal(t, 3.0, testutil.ToFloat64(m.maint.swept.WithLabelValues(SweepRequeued)))
		require.Equal(t, 1.0, testutil.ToFloat64(m.maint.swept.WithLabelValues(SweepFailed)))
		require.Equal(t, 1.0, testutil.ToFloat64(m.maint.reembedRunning))
		require.Equal(t, 2.0, testutil.ToFloat64(m.maint.reembedDone))
		done()
		require.Equal(t, 0.0, testutil.ToFloat64(m.maint.reembedRunning))
	})

	t.Run("readiness checks run at scrape time, one series each", func(t *testing.T) {
		m := New()
		redisDown := false
		m.RegisterReadiness(map[string]func(context.Context) error{
			"postgres": func(context.Context) error { return nil },
			"redis": func(context.Context) error {
				if redisDown {
					return errors.New("connection refused")
				}
				return nil
			},
		})
		body := scrape(t, m)
		require.Contains(t, body, `conquest_readiness_check_up{check="postgres"} 1`)
		require.Contains(t, body, `conquest_readiness_check_up{check="redis"} 1`)
		redisDown = true
		body = scrape(t, m)
		require.Contains(t, body, `conquest_readiness_check_up{check="postgres"} 1`)
		require.Contains(t, body, `conquest_readiness_check_up{check="redis"} 0`)
		problems, err := testutil.GatherAndLint(m.Registry())
		require.NoError(t, err)
		require.Empty(t, problems)
	})
}
