package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, w.Code)
	return w.Body.String()
}

func TestMetrics(t *testing.T) {
	t.Run("every observation lands in its series", func(t *testing.T) {
		m := New()
		m.ObserveHTTP("GET", "/api/sessions/:id", 200, 30*time.Millisecond, false)
		m.ObserveHTTP("GET", "/api/sessions/:id/events", 200, time.Minute, true)
		m.EventPublished("dm.delta", nil)
		m.EventPublished("dm.delta", errors.New("redis down"))
		m.TaskDone("turn:generate", "generate", "succeeded", 2*time.Second)
		m.StageDone("generate", 2*time.Second)
		m.TurnFinished("completed", 3*time.Second)
		m.TurnFinished("failed", -time.Second)
		m.FirstToken("offline", 40*time.Millisecond)
		m.DeltaStreamed("offline")
		m.TokensUsed("offline", 120, 80)
		m.TokensUsed("offline", 0, 0)

		require.Equal(t, 1.0, testutil.ToFloat64(m.httpRequests.WithLabelValues("GET", "/api/sessions/:id/events", "200")))
		require.Equal(t, 1, testutil.CollectAndCount(m.httpDuration), "the SSE stream is kept out of the latency histogram")
		require.Equal(t, 1.0, testutil.ToFloat64(m.eventsPublished.WithLabelValues("dm.delta")))
		require.Equal(t, 1.0, testutil.ToFloat64(m.publishErrors.WithLabelValues("dm.delta")))
		require.Equal(t, 1.0, testutil.ToFloat64(m.tasks.WithLabelValues("turn:generate", "generate", "succeeded")))
		require.Equal(t, 120.0, testutil.ToFloat64(m.tokens.WithLabelValues("offline", "prompt")))
		require.Equal(t, 1.0, testutil.ToFloat64(m.deltas.WithLabelValues("offline")))
		body := scrape(t, m)
		for _, want := range []string{
			`conquest_turn_duration_seconds_count{status="completed"} 1`,
			`conquest_turn_duration_seconds_bucket{status="failed",le="0.1"} 1`,
			`conquest_turn_stage_duration_seconds_count{stage="generate"} 1`,
			`conquest_model_first_token_seconds_count{model="offline"} 1`,
			`conquest_worker_task_duration_seconds_count{queue="generate",type="turn:generate"} 1`,
			"go_goroutines", "process_",
		} {
			require.Contains(t, body, want)
		}
	})

	t.Run("the hub's counters are read at scrape time", func(t *testing.T) {
		m := New()
		st := HubStats{Connected: true, Subscribers: 3, Received: 10, Delivered: 25, Dropped: 2, Malformed: 1, Reconnects: 4}
		m.RegisterHub(func() HubStats { return st })
		body := scrape(t, m)
		for _, want := range []string{
			"conquest_sse_connections 3", "conquest_events_hub_connected 1",
			"conquest_events_received_total 10", "conquest_events_delivered_total 25",
			`conquest_events_dropped_total{reason="slow_client"} 2`, `conquest_events_dropped_total{reason="malformed"} 1`,
			"conquest_sse_slow_clients_disconnected_total 2", "conquest_events_hub_reconnects_total 4",
		} {
			require.Contains(t, body, want)
		}
		st.Subscribers = 0
		require.True(t, strings.Contains(scrape(t, m), "conquest_sse_connections 0"))
	})

	t.Run("the registry passes Prometheus' lint", func(t *testing.T) {
		m := New()
		m.RegisterHub(func() HubStats { return HubStats{} })
		problems, err := testutil.GatherAndLint(m.Registry())
		require.NoError(t, err)
		require.Empty(t, problems)
	})
}
