package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOpsConfig(t *testing.T) {
	t.Run("asynqmon is read-only by default in production only", func(t *testing.T) {
		for _, tc := range []struct {
			raw        string
			production bool
			want       bool
		}{
			{"", true, true},
			{"", false, false},
			{"false", true, false},
			{"true", false, true},
			{" TRUE ", false, true},
		} {
			o := Ops{ReadOnlyRaw: tc.raw}
			require.Empty(t, o.check(tc.production))
			require.Equal(t, tc.want, o.ReadOnly, "%q production=%v", tc.raw, tc.production)
		}
	})

	t.Run("bad values are refused, naming the variable", func(t *testing.T) {
		for _, tc := range []struct {
			o    Ops
			name string
		}{
			{Ops{ReadOnlyRaw: "sometimes"}, "OPS_READ_ONLY"},
			{Ops{PrometheusURL: "prometheus:9090"}, "OPS_PROMETHEUS_URL"},
			{Ops{MetricsToken: "short"}, "METRICS_TOKEN"},
			{Ops{ShutdownDelay: -time.Second}, "SHUTDOWN_DELAY"},
			{Ops{ShutdownDelay: 2 * time.Minute}, "SHUTDOWN_DELAY"},
		} {
			errs := tc.o.check(false)
			require.Len(t, errs, 1, tc.name)
			require.True(t, strings.Contains(errs[0].Error(), tc.name), errs[0].Error())
		}
	})

	t.Run("the environment reaches the typed config", func(t *testing.T) {
		t.Setenv("APP_ENV", "test")
		t.Setenv("OPS_READ_ONLY", "true")
		t.Setenv("METRICS_TOKEN", "a-metrics-token-long-enough")
		t.Setenv("METRICS_ADDR", "127.0.0.1:9091")
		t.Setenv("SHUTDOWN_DELAY", "3s")
		t.Setenv("OPS_PROMETHEUS_URL", "http://prometheus:9090")
		c, err := Load()
		require.NoError(t, err)
		require.True(t, c.Ops.ReadOnly)
		require.Equal(t, "a-metrics-token-long-enough", c.Ops.MetricsToken)
		require.Equal(t, "127.0.0.1:9091", c.Ops.MetricsAddr)
		require.Equal(t, 3*time.Second, c.Ops.ShutdownDelay)
		require.Equal(t, "http://prometheus:9090", c.Ops.PrometheusURL)
	})
}
