package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Ops holds the operator surface: the asynqmon dashboard at /ops/queues,
// the Prometheus /metrics endpoint and the shutdown drain.
type Ops struct {
	// ReadOnlyRaw is OPS_READ_ONLY as given; ReadOnly is its value, which
	// defaults to true in production and false elsewhere.
	ReadOnlyRaw string `env:"OPS_READ_ONLY"`
	ReadOnly    bool
	// PrometheusURL lets asynqmon draw queue time series from a Prometheus
	// server that scrapes these processes (optional).
	PrometheusURL string `env:"OPS_PROMETHEUS_URL"`

	// MetricsToken, when set, is required as `Authorization: Bearer …` on
	// /metrics of the API port. It is a secret and never logged.
	MetricsToken string `env:"METRICS_TOKEN"`
	// MetricsAddr, when set, serves /metrics and /healthz on a separate
	// listener (no token: meant for a private network). Workers have no
	// other HTTP port, so this is how they are scraped.
	MetricsAddr string `env:"METRICS_ADDR"`

	// ShutdownDelay is how long an API replica keeps serving, with /readyz
	// answering 503, after SIGTERM and before it closes its SSE clients and
	// its listener: long enough for the load balancer's active health
	// check to take it out, so reconnecting clients land elsewhere.
	ShutdownDelay time.Duration `env:"SHUTDOWN_DELAY" envDefault:"0s"`
}

// check validates Ops and derives ReadOnly.
func (o *Ops) check(production bool) []error {
	var errs []error
	o.ReadOnly = production
	if raw := strings.TrimSpace(o.ReadOnlyRaw); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: OPS_READ_ONLY: must be true or false, got %q", raw))
		}
		o.ReadOnly = v
	}
	if o.PrometheusURL != "" {
		if u, err := url.Parse(o.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("config: OPS_PROMETHEUS_URL: must be an http(s):// URL"))
		}
	}
	if o.MetricsToken != "" && len(o.MetricsToken) < 16 {
		errs = append(errs, errors.New("config: METRICS_TOKEN: must be at least 16 characters"))
	}
	if o.ShutdownDelay < 0 || o.ShutdownDelay > time.Minute {
		errs = append(errs, errors.New("config: SHUTDOWN_DELAY: must be between 0s and 1m"))
	}
	return errs
}
