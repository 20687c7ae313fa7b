package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/codeofconquest/brightdawn/api"
	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/metrics"
)

// opsParts is the operator surface of a process: its metrics registry,
// the shutdown drain flag and, in an API process, asynqmon.
type opsParts struct {
	cfg      *config.Config
	metrics  *metrics.Metrics
	draining atomic.Bool
}

func newOpsParts(cfg *config.Config) *opsParts {
	return &opsParts{cfg: cfg, metrics: metrics.New()}
}

// serving is a readiness check: it fails once the process is draining,
// so load balancers stop sending new requests before it closes.
func (o *opsParts) serving(context.Context) error {
	if o.draining.Load() {
		return errors.New("shutting down")
	}
	return nil
}

// drain marks the process not ready and keeps serving for SHUTDOWN_DELAY,
// long enough for the load balancer's health check to take it out.
func (o *opsParts) drain(log *slog.Logger) {
	o.draining.Store(true)
	if d := o.cfg.Ops.ShutdownDelay; d > 0 {
		log.Info("draining: /readyz answers 503", "for", d)
		time.Sleep(d)
	}
}

// apiDeps wires the metrics and asynqmon of an API process. The returned
// func releases asynqmon's Redis connections.
func (o *opsParts) apiDeps(connOpt asynq.RedisConnOpt, hub *events.Hub, inspector *asynq.Inspector) (api.OpsDeps, func(), error) {
	o.metrics.RegisterHub(func() metrics.HubStats {
		s := hub.Stats()
		return metrics.HubStats{
			Connected: s.Connected, Subscribers: s.Subscribers, Received: s.Received,
			Malformed: s.Malformed, Delivered: s.Delivered, Dropped: s.Dropped, Reconnects: s.Reconnects,
			Sessions: s.Sessions, Subscribes: s.Subscribes, Unsubscribes: s.Unsubscribes,
		}
	})
	o.metrics.RegisterQueues(inspector)
	mon := asynqmon.New(asynqmon.Options{
		RootPath:          api.OpsQueuesPath,
		RedisConnOpt:      connOpt,
		ReadOnly:          o.cfg.Ops.ReadOnly,
		PrometheusAddress: o.cfg.Ops.PrometheusURL,
	})
	deps := api.OpsDeps{
		HTTP:         o.metrics,
		Metrics:      o.apiMetrics(),
		MetricsToken: o.cfg.Ops.MetricsToken,
		Queues:       mon,
		SecureCookie: o.cfg.Production(),
	}
	return deps, func() { _ = mon.Close() }, nil
}

// registerReadiness exposes /readyz's checks as conquest_readiness_check_up,
// run at every scrape, for the ReadyzFailing alert and the dashboard's
// Postgres/Redis/S3 health.
func (o *opsParts) registerReadiness(checks []api.Check) {
	m := make(map[string]func(context.Context) error, len(checks))
	for _, c := range checks {
		m[c.Name] = c.Check
	}
	o.metrics.RegisterReadiness(m)
}

// apiMetrics is the /metrics handler of the API port, or nil to leave the
// route out: in production the public port serves metrics only behind
// METRICS_TOKEN (METRICS_ADDR is the private way), since they reveal
// traffic, queue depths and error rates to anyone who asks.
func (o *opsParts) apiMetrics() http.Handler {
	if o.cfg.Production() && o.cfg.Ops.MetricsToken == "" {
		return nil
	}
	return o.metrics.Handler()
}

// serveMetrics serves /metrics and /healthz on METRICS_ADDR until ctx
// ends: the scrape port of workers (which have no other HTTP port) and,
// optionally, of API processes. It is meant for a private network and
// takes no token.
func (o *opsParts) serveMetrics(ctx context.Context, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	srv := &http.Server{Addr: o.cfg.Ops.MetricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", o.cfg.Ops.MetricsAddr)
	if err != nil {
		return fmt.Errorf("config: METRICS_ADDR: %w", err)
	}
	log.Info("metrics listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// healthcheck is `conquest healthcheck [--url URL]`: it GETs the URL
// (default: /readyz of HTTP_ADDR on loopback) and exits 0 on a 200. It
// is the container health check of images without a shell or curl.
func healthcheck(args []string) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	target := fs.String("url", "", "URL to check (default http://127.0.0.1<HTTP_ADDR port>/readyz)")
	timeout := fs.Duration("timeout", 3*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *target == "" {
		addr := os.Getenv("HTTP_ADDR")
		if addr == "" {
			addr = ":8080"
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "healthcheck: HTTP_ADDR:", err)
			return 2
		}
		*target = "http://127.0.0.1:" + port + "/readyz"
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "healthcheck:", *target, "answered", resp.Status)
		return 1
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		fmt.Fprintln(os.Stderr, "healthcheck:", *target, "is not a conquest health endpoint")
		return 1
	}
	return 0
}
