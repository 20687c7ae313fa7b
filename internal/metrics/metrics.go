// Package metrics is Bright Dawn's Prometheus instrumentation: one registry
// per process with the HTTP, SSE, event, worker, turn and model metrics,
// and collectors that read the event hub's counters and asynq's queues at
// scrape time.
//
// The packages that are measured do not import Prometheus: each declares a
// small observer interface (api.HTTPObserver, game.Observer,
// workers.TaskObserver, an events publish callback) that *Metrics
// implements, wired in cmd/conquest.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric of this package.
const Namespace = "conquest"

// Task outcomes of TaskDone.
const (
	OutcomeSucceeded = "succeeded" // the handler returned nil
	OutcomeRetry     = "retry"     // it failed and asynq will retry it
	OutcomeFailed    = "failed"    // it failed for good (retries spent or not retryable)
	OutcomeWaiting   = "waiting"   // its turn waits for an earlier turn of the session; it runs again shortly
)

var (
	// Requests are mostly milliseconds; Argon2id logins take ~50–100 ms.
	httpBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// Stages and tasks: a hash embedding is ~1 ms, a generation seconds
	// to minutes.
	stageBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	// A whole turn: queue hops plus generation.
	turnBuckets = []float64{.1, .25, .5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300, 600}
	// Time to the model's first token.
	firstTokenBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5, 10, 30}
)

// Metrics holds the collectors of one process. Its methods are safe for
// concurrent use and cheap enough for hot paths.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	httpInFlight prometheus.Gauge

	eventsPublished *prometheus.CounterVec
	publishErrors   *prometheus.CounterVec

	tasks        *prometheus.CounterVec
	taskDuration *prometheus.HistogramVec

	stageDuration *prometheus.HistogramVec
	turnDuration  *prometheus.HistogramVec
	firstToken    *prometheus.HistogramVec
	deltas        *prometheus.CounterVec
	tokens        *prometheus.CounterVec

	maint maintenance
}

// New returns the metrics of a process on a fresh registry, with the Go
// runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by method, route (the route pattern, never the raw URL) and status; SSE streams included, counted when they end.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Latency of HTTP requests by method, route and status; SSE streams are left out (their duration is the client's session, not a latency).",
			Buckets: httpBuckets,
		}, []string{"method", "route", "status"}),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served, SSE streams included.",
		}),
		eventsPublished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "events", Name: "published_total",
			Help: "Events appended to session streams (and announced) by this process, by event type.",
		}, []string{"type"}),
		publishErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "events", Name: "publish_errors_total",
			Help: "Publishes that failed (Redis unavailable), by event type.",
		}, []string{"type"}),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "worker", Name: "tasks_total",
			Help: "asynq tasks handled by this worker, by type, queue and outcome (succeeded, retry, failed).",
		}, []string{"type", "queue", "outcome"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "worker", Name: "task_duration_seconds",
			Help:    "Time spent in the task handler, by type and queue.",
			Buckets: stageBuckets,
		}, []string{"type", "queue"}),
		stageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "turn", Name: "stage_duration_seconds",
			Help:    "Duration of a turn's stage (embed, retrieve, generate) when it succeeds.",
			Buckets: stageBuckets,
		}, []string{"stage"}),
		turnDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "turn", Name: "duration_seconds",
			Help:    "End-to-end turn latency, from the player's message being accepted to the turn's final status, by that status.",
			Buckets: turnBuckets,
		}, []string{"status"}),
		firstToken: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "model", Name: "first_token_seconds",
			Help:    "Time from starting the model call to its first streamed piece, by model.",
			Buckets: firstTokenBuckets,
		}, []string{"model"}),
		deltas: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "model", Name: "deltas_streamed_total",
			Help: "Pieces of DM replies streamed to players (dm.delta events), by model.",
		}, []string{"model"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "model", Name: "tokens_total",
			Help: "Tokens reported by the model for completed generations, by model and kind (prompt, completion).",
		}, []string{"model", "kind"}),
		maint: newMaintenance(),
	}
	reg.MustRegister(m.maint.collectors()...)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.eventsPublished, m.publishErrors,
		m.tasks, m.taskDuration,
		m.stageDuration, m.turnDuration, m.firstToken, m.deltas, m.tokens,
	)
	return m
}

// Registry is the process's registry, for extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector that fails (Redis down for the queue collector) must
		// not hide every other metric.
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// RequestStarted counts a request in flight; call the returned func when it ends.
func (m *Metrics) RequestStarted() func() {
	m.httpInFlight.Inc()
	return m.httpInFlight.Dec
}

// ObserveHTTP records one finished request. route is the route pattern
// (gin's FullPath) or "unmatched"; a streaming (SSE) response is counted
// but kept out of the latency histogram.
func (m *Metrics) ObserveHTTP(method, route string, status int, d time.Duration, streaming bool) {
	code := strconv.Itoa(status)
	m.httpRequests.WithLabelValues(method, route, code).Inc()
	if !streaming {
		m.httpDuration.WithLabelValues(method, route, code).Observe(d.Seconds())
	}
}

// EventPublished records one publish attempt (the events.Publisher observer).
func (m *Metrics) EventPublished(eventType string, err error) {
	if err != nil {
		m.publishErrors.WithLabelValues(eventType).Inc()
		return
	}
	m.eventsPublished.WithLabelValues(eventType).Inc()
}

// TaskDone records one run of an asynq task handler.
func (m *Metrics) TaskDone(taskType, queue, outcome string, d time.Duration) {
	m.tasks.WithLabelValues(taskType, queue, outcome).Inc()
	m.taskDuration.WithLabelValues(taskType, queue).Observe(d.Seconds())
}

// StageDone records a turn stage that completed.
func (m *Metrics) StageDone(stage string, d time.Duration) {
	m.stageDuration.WithLabelValues(stage).Observe(d.Seconds())
}

// TurnFinished records a turn reaching a final status.
func (m *Metrics) TurnFinished(status string, d time.Duration) {
	if d < 0 {
		d = 0 // clocks of Postgres and this process disagree a little
	}
	m.turnDuration.WithLabelValues(status).Observe(d.Seconds())
}

// FirstToken records the time to a model's first streamed piece.
func (m *Metrics) FirstToken(model string, d time.Duration) {
	m.firstToken.WithLabelValues(model).Observe(d.Seconds())
}

// DeltaStreamed counts one streamed piece of a reply.
func (m *Metrics) DeltaStreamed(model string) {
	m.deltas.WithLabelValues(model).Inc()
}

// TokensUsed adds the token counts a model reported for a generation.
func (m *Metrics) TokensUsed(model string, prompt, completion int) {
	if prompt > 0 {
		m.tokens.WithLabelValues(model, "prompt").Add(float64(prompt))
	}
	if completion > 0 {
		m.tokens.WithLabelValues(model, "completion").Add(float64(completion))
	}
}
