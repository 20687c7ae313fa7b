package metrics

import (
	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// HubStats is a snapshot of an API process's event hub (events.Hub.Stats),
// copied here so this package does not depend on the events package.
type HubStats struct {
	Connected   bool
	Subscribers int    // open SSE connections (one subscription each)
	Received    uint64 // announcements read from Redis
	Malformed   uint64 // announcements that could not be decoded (dropped)
	Delivered   uint64 // frames handed to SSE clients
	Dropped     uint64 // slow clients disconnected: their buffer was full
	Reconnects  uint64 // Redis subscriptions re-established
	// Sessions is how many sessions' live channels the process is
	// subscribed to (watched, or left less than a linger ago);
	// Subscribes and Unsubscribes count the channel changes sent to Redis.
	Sessions                 int
	Subscribes, Unsubscribes uint64
}

// RegisterHub exposes the hub's counters, read at every scrape.
func (m *Metrics) RegisterHub(stats func() HubStats) {
	m.reg.MustRegister(&hubCollector{stats: stats})
}

// RegisterQueues exposes asynq's queue sizes, latencies and daily task
// outcomes (asynq's own exporter, metric names asynq_*). The numbers are
// global to the Redis, so register them in API processes only: each
// replica reports the same values (aggregate with max by (queue)).
func (m *Metrics) RegisterQueues(inspector *asynq.Inspector) {
	m.reg.MustRegister(asynqmetrics.NewQueueMetricsCollector(inspector))
}

var (
	sseConnsDesc = prometheus.NewDesc(Namespace+"_sse_connections",
		"Open SSE connections (event subscribers) on this API process.", nil, nil)
	hubConnectedDesc = prometheus.NewDesc(Namespace+"_events_hub_connected",
		"1 while this process's Redis subscription for live events is confirmed.", nil, nil)
	receivedDesc = prometheus.NewDesc(Namespace+"_events_received_total",
		"Live event announcements this process read from Redis.", nil, nil)
	deliveredDesc = prometheus.NewDesc(Namespace+"_events_delivered_total",
		"Event frames handed to this process's SSE clients.", nil, nil)
	droppedDesc = prometheus.NewDesc(Namespace+"_events_dropped_total",
		"Events not delivered live: slow_client (the client's buffer was full; it was disconnected and catches up with Last-Event-ID) or malformed (undecodable announcement).",
		[]string{"reason"}, nil)
	slowDesc = prometheus.NewDesc(Namespace+"_sse_slow_clients_disconnected_total",
		"SSE clients disconnected because they did not keep up.", nil, nil)
	reconnectsDesc = prometheus.NewDesc(Namespace+"_events_hub_reconnects_total",
		"Times the live Redis subscription was re-established (each closes every local SSE client so it resumes).", nil, nil)
	hubSessionsDesc = prometheus.NewDesc(Namespace+"_events_hub_sessions",
		"Sessions whose live channel this API process is subscribed to (watched by its clients, or left less than a linger ago).", nil, nil)
	hubChannelOpsDesc = prometheus.NewDesc(Namespace+"_events_hub_channel_changes_total",
		"Live channel subscriptions (op=subscribe) and unsubscriptions (op=unsubscribe) this process sent to Redis.", []string{"op"}, nil)
)

type hubCollector struct {
	stats func() HubStats
}

func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sseConnsDesc, hubConnectedDesc, receivedDesc, deliveredDesc, droppedDesc, slowDesc, reconnectsDesc, hubSessionsDesc, hubChannelOpsDesc} {
		ch <- d
	}
}

func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	connected := 0.0
	if s.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(sseConnsDesc, prometheus.GaugeValue, float64(s.Subscribers))
	ch <- prometheus.MustNewConstMetric(hubConnectedDesc, prometheus.GaugeValue, connected)
	ch <- prometheus.MustNewConstMetric(receivedDesc, prometheus.CounterValue, float64(s.Received))
	ch <- prometheus.MustNewConstMetric(deliveredDesc, prometheus.CounterValue, float64(s.Delivered))
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(s.Dropped), "slow_client")
	ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(s.Malformed), "malformed")
	ch <- prometheus.MustNewConstMetric(slowDesc, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(reconnectsDesc, prometheus.CounterValue, float64(s.Reconnects))
	ch <- prometheus.MustNewConstMetric(hubSessionsDesc, prometheus.GaugeValue, float64(s.Sessions))
	ch <- prometheus.MustNewConstMetric(hubChannelOpsDesc, prometheus.CounterValue, float64(s.Subscribes), "subscribe")
	ch <- prometheus.MustNewConstMetric(hubChannelOpsDesc, prometheus.CounterValue, float64(s.Unsubscribes), "unsubscribe")
}
