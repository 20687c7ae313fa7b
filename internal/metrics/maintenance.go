package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Sweeper actions of TurnsSwept.
const (
	SweepRequeued = "requeued" // a stuck turn's stage was enqueued again
	SweepFailed   = "failed"   // a turn past its deadline was ended failed
)

// maintenance holds the metrics of the background jobs: the stuck-turn
// sweeper and re-embedding. They let alerts see a sweeper that keeps
// rescuing turns (something upstream loses them) and a re-embed job that
// holds its task but makes no progress.
type maintenance struct {
	swept          *prometheus.CounterVec
	reembedRunning prometheus.Gauge
	reembedDone    prometheus.Counter
}

func newMaintenance() maintenance {
	return maintenance{
		swept: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "sweeper", Name: "turns_total",
			Help: "Stuck turns the sweeper acted on, by action (requeued: its stage enqueued again; failed: ended past its deadline).",
		}, []string{"action"}),
		reembedRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "reembed", Name: "tasks_running",
			Help: "Re-embed tasks running in this worker.",
		}),
		reembedDone: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "reembed", Name: "batches_total",
			Help: "Batches of messages given vectors of the new model by this worker's re-embed tasks (each batch also moves the job's cursor).",
		}),
	}
}

func (mt maintenance) collectors() []prometheus.Collector {
	// Both actions exist from the start, so rate() and alerts see zeros
	// rather than no series.
	mt.swept.WithLabelValues(SweepRequeued)
	mt.swept.WithLabelValues(SweepFailed)
	return []prometheus.Collector{mt.swept, mt.reembedRunning, mt.reembedDone}
}

// TurnsSwept counts n stuck turns the sweeper acted on with action.
func (m *Metrics) TurnsSwept(action string, n int) {
	m.maint.swept.WithLabelValues(action).Add(float64(n))
}

// ReembedStarted counts a running re-embed task; call the returned func
// when it ends.
func (m *Metrics) ReembedStarted() func() {
	m.maint.reembedRunning.Inc()
	return m.maint.reembedRunning.Dec
}

// ReembedProgressed counts one batch re-embedded.
func (m *Metrics) ReembedProgressed() {
	m.maint.reembedDone.Inc()
}

// readinessTimeout bounds a scrape's readiness checks, like /readyz's.
const readinessTimeout = 2 * time.Second

var readyDesc = prometheus.NewDesc(Namespace+"_readiness_check_up",
	"1 when the readiness check (the same as /readyz's: postgres, redis, s3, serving) passed at scrape time, else 0.",
	[]string{"check"}, nil)

// RegisterReadiness runs the /readyz checks at every scrape and exposes
// each result, so Prometheus sees a replica turn unready (and which
// dependency made it) without a separate prober.
func (m *Metrics) RegisterReadiness(checks map[string]func(context.Context) error) {
	m.reg.MustRegister(&readinessCollector{checks: checks})
}

type readinessCollector struct {
	checks map[string]func(context.Context) error
}

func (c *readinessCollector) Describe(ch chan<- *prometheus.Desc) { ch <- readyDesc }

func (c *readinessCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), readinessTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for name, check := range c.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			up := 1.0
			if check(ctx) != nil {
				up = 0
			}
			ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, up, name)
		}()
	}
	wg.Wait()
}
