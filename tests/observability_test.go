package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/metrics"
)

// These tests keep the operator's view honest: the compose monitoring
// profile wires Prometheus (with deploy/alerts.yml) and Grafana (with
// deploy/grafana); promtool checks and unit-tests the rules; and every
// query of the dashboard and the alerts names a metric, and label, that a
// running conquest really exports.

// The monitoring profile's secret joins those of .env (composeSecrets in
// deploy_test.go).
func init() { composeSecrets["GRAFANA_ADMIN_PASSWORD"] = "grafana-secret-for-the-test" }

func loadMonitoringCompose(t *testing.T) *types.Project {
	t.Helper()
	env := envExample(t)
	for k, v := range composeSecrets {
		env[k] = v
	}
	p, err := loadCompose(t, env, cli.WithProfiles([]string{"monitoring"}))
	require.NoError(t, err)
	return p
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, name))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), name)
}

func TestMonitoringCompose(t *testing.T) {
	p := loadMonitoringCompose(t)
	mounts := func(svc string) map[string]string {
		m := map[string]string{}
		for _, v := range p.Services[svc].Volumes {
			m[v.Target] = v.Source
		}
		return m
	}

	t.Run("prometheus loads the scrape config and the alert rules it names", func(t *testing.T) {
		m := mounts("prometheus")
		require.Equal(t, repoFile(t, "deploy/prometheus.yml"), m["/etc/prometheus/prometheus.yml"])
		require.Equal(t, repoFile(t, "deploy/alerts.yml"), m["/etc/prometheus/alerts.yml"])
		require.Equal(t, "prometheus-data", m["/prometheus"])
		var cfg struct {
			RuleFiles []string `yaml:"rule_files"`
		}
		readYAML(t, "deploy/prometheus.yml", &cfg)
		require.Equal(t, []string{"/etc/prometheus/alerts.yml"}, cfg.RuleFiles)
		require.Contains(t, p.Services["prometheus"].Command, "--config.file=/etc/prometheus/prometheus.yml")
	})

	t.Run("grafana is provisioned with the data source and the dashboard", func(t *testing.T) {
		m := mounts("grafana")
		require.Equal(t, repoFile(t, "deploy/grafana/provisioning"), m["/etc/grafana/provisioning"])
		require.Equal(t, repoFile(t, "deploy/grafana/dashboards"), m["/var/lib/grafana/dashboards"])
		var ds struct {
			Datasources []struct {
				UID, Type, URL string
			} `yaml:"datasources"`
		}
		readYAML(t, "deploy/grafana/provisioning/datasources/prometheus.yml", &ds)
		require.Len(t, ds.Datasources, 1)
		require.Equal(t, "prometheus", ds.Datasources[0].Type)
		require.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL, "the compose service")
		for _, panel := range dashboardPanels(t) {
			require.Equal(t, ds.Datasources[0].UID, panel.Datasource.UID, "panel %q uses the provisioned data source", panel.Title)
		}
		var prov struct {
			Providers []struct {
				Options struct{ Path string } `yaml:"options"`
			} `yaml:"providers"`
		}
		readYAML(t, "deploy/grafana/provisioning/dashboards/conquest.yml", &prov)
		require.Len(t, prov.Providers, 1)
		require.Equal(t, "/var/lib/grafana/dashboards", prov.Providers[0].Options.Path, "the provider reads the mounted dashboards")
		e := p.Services["grafana"].Environment.ToMapping()
		require.Equal(t, composeSecrets["GRAFANA_ADMIN_PASSWORD"], e["GF_SECURITY_ADMIN_PASSWORD"], "the admin password comes from .env")
		require.Equal(t, types.ServiceConditionHealthy, p.Services["grafana"].DependsOn["prometheus"].Condition)
	})

	t.Run("both listen on loopback only and have health checks", func(t *testing.T) {
		for _, svc := range []string{"prometheus", "grafana"} {
			s := p.Services[svc]
			require.NotEmpty(t, s.Ports, svc)
			for _, port := range s.Ports {
				require.Equal(t, "127.0.0.1", port.HostIP, "%s is published on loopback only", svc)
			}
			require.NotNil(t, s.HealthCheck, svc)
			require.NotEmpty(t, s.HealthCheck.Test, svc)
		}
	})
}

// ---------------------------------------------------------------- alerts

// promtool finds promtool; the test stack installs it (Debian's
// prometheus package) when it can. The rules must be checked: no skip.
func promtool(t *testing.T) string {
	t.Helper()
	exe, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: run the suite with `go tool task test` (the stack installs Debian's prometheus package as root) or `apt-get install prometheus`")
	}
	return exe
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func alertRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	readYAML(t, "deploy/alerts.yml", &rf)
	require.NotEmpty(t, rf.Groups)
	return rf
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, promtool(t), args...)
		cmd.Dir = filepath.Dir(repoFile(t, "deploy/alerts.yml"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}

	t.Run("promtool accepts the rules", func(t *testing.T) {
		run(t, "check", "rules", "alerts.yml")
	})

	t.Run("promtool accepts the scrape config, rule file included", func(t *testing.T) {
		// The config names the rules where compose mounts them; point it
		// at the repository's copy for the check.
		b, err := os.ReadFile(repoFile(t, "deploy/prometheus.yml"))
		require.NoError(t, err)
		require.Contains(t, string(b), "/etc/prometheus/alerts.yml")
		cfg := filepath.Join(t.TempDir(), "prometheus.yml")
		require.NoError(t, os.WriteFile(cfg, []byte(strings.ReplaceAll(string(b), "/etc/prometheus/alerts.yml", repoFile(t, "deploy/alerts.yml"))), 0o644))
		run(t, "check", "config", cfg)
	})

	t.Run("every rule passes its promtool unit tests", func(t *testing.T) {
		run(t, "test", "rules", "alerts_test.yml")
	})

	t.Run("every alert is tested firing and quiet, and has a runbook entry", func(t *testing.T) {
		var tf struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string           `yaml:"alertname"`
					ExpAlerts []map[string]any `yaml:"exp_alerts"`
				} `yaml:"alert_rule_test"`
			} `yaml:"tests"`
		}
		readYAML(t, "deploy/alerts_test.yml", &tf)
		fires, quiet := map[string]bool{}, map[string]bool{}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
		runbook, err := os.ReadFile(repoFile(t, "docs/ALERTS.md"))
		require.NoError(t, err)
		n := 0
		for _, g := range alertRules(t).Groups {
			for _, r := range g.Rules {
				require.NotEmpty(t, r.Alert, "only alerting rules in %s", g.Name)
				n++
				require.True(t, fires[r.Alert], "%s has a test where it fires", r.Alert)
				require.True(t, quiet[r.Alert], "%s has a test where it stays quiet", r.Alert)
				require.Contains(t, []string{"page", "warning"}, r.Labels["severity"], r.Alert)
				require.Equal(t, "docs/ALERTS.md#"+strings.ToLower(r.Alert), r.Annotations["runbook"], r.Alert)
				require.Contains(t, string(runbook), "\n## "+r.Alert+"\n", "docs/ALERTS.md explains %s", r.Alert)
			}
		}
		require.GreaterOrEqual(t, n, 8)
	})
}

// ---------------------------------------------------------------- dashboard

type dashboardPanel struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	ID         int    `json:"id"`
	Datasource struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func dashboardPanels(t *testing.T) []dashboardPanel {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, "deploy/grafana/dashboards/conquest.json"))
	require.NoError(t, err)
	var d struct {
		UID    string           `json:"uid"`
		Title  string           `json:"title"`
		Panels []dashboardPanel `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d))
	require.NotEmpty(t, d.UID)
	require.NotEmpty(t, d.Title)
	var out []dashboardPanel
	ids := map[int]bool{}
	for _, p := range d.Panels {
		require.False(t, ids[p.ID], "panel id %d is unique", p.ID)
		ids[p.ID] = true
		require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "panel %q fits the grid", p.Title)
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has a query", p.Title)
		out = append(out, p)
	}
	return out
}

// grafanaVars are the dashboard's variables, replaced by what Grafana
// would send so the PromQL parser sees real queries.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h")

// exportedMetrics scrapes a /metrics endpoint and returns every series
// name it exposes (histograms as _bucket, _sum and _count) with the label
// names seen on it.
func exportedMetrics(t *testing.T, url, token string) map[string]map[string]bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := map[string]map[string]bool{}
	add := func(name string, m *dto.Metric, extra ...string) {
		if out[name] == nil {
			out[name] = map[string]bool{}
		}
		for _, l := range m.GetLabel() {
			out[name][l.GetName()] = true
		}
		for _, l := range extra {
			out[name][l] = true
		}
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				add(name+"_bucket", m, "le")
				add(name+"_sum", m)
				add(name+"_count", m)
			case dto.MetricType_SUMMARY:
				add(name, m, "quantile")
				add(name+"_sum", m)
				add(name+"_count", m)
			default:
				add(name, m)
			}
		}
	}
	return out
}

// describedMetrics are the names internal/metrics declares, series or not.
func describedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 256)
	go func() {
		metrics.New().Registry().Describe(ch)
		close(ch)
	}()
	out := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			out[m[1]] = true
		}
	}
	require.NotEmpty(t, out)
	return out
}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

func TestDashboardAndAlertsQueryExportedMetrics(t *testing.T) {
	const token = "metrics-token-for-the-test"
	app := testkit.Start(t, testkit.Options{Env: []string{"METRICS_TOKEN=" + token, "DM_WORD_DELAY=1ms"}})
	// One turn through every stage, so the histograms have series.
	p := signUp(t, app.URL)
	s := newSession(t, p, "")
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, tr := postMessage(t, p.Client, s.ID, "I read the map by candlelight.")
	ev.until(t, 30*time.Second, isDone(tr.ID))
	require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 30*time.Second).Status)
	exported := exportedMetrics(t, app.URL+"/metrics", token)
	// up is Prometheus' own series for every target.
	exported["up"] = map[string]bool{}
	// Metrics whose series only appear on a failure, which one turn does
	// not cause: they must be described by the binary's registry and not
	// (yet) scraped, so this list cannot go stale.
	described := describedMetrics(t)
	for name, labels := range map[string][]string{
		"conquest_events_publish_errors_total": {"type"}, // the first failed publish
	} {
		require.NotContains(t, exported, name, "%s is scraped now: drop it from this list", name)
		require.True(t, described[name], "%s is a metric of internal/metrics", name)
		exported[name] = map[string]bool{}
		for _, l := range labels {
			exported[name][l] = true
		}
	}

	check := func(t *testing.T, where, expr string) {
		t.Helper()
		e, err := parser.ParseExpr(grafanaVars.Replace(expr))
		require.NoError(t, err, "%s: %s", where, expr)
		sels := parser.ExtractSelectors(e)
		require.NotEmpty(t, sels, "%s selects something", where)
		for _, matchers := range sels {
			var name string
			for _, m := range matchers {
				if m.Name == model.MetricNameLabel {
					name = m.Value
				}
			}
			require.NotEmpty(t, name, "%s: every selector names its metric: %s", where, expr)
			labels, ok := exported[name]
			require.True(t, ok, "%s: conquest exports no metric %q", where, name)
			for _, m := range matchers {
				if m.Name == model.MetricNameLabel || slices.Contains(targetLabels, m.Name) {
					continue
				}
				require.True(t, labels[m.Name], "%s: %s has no label %q", where, name, m.Name)
			}
		}
		// Labels grouped by must exist too (a typo there gives an empty legend).
		parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
			agg, ok := node.(*parser.AggregateExpr)
			if !ok || agg.Without {
				return nil
			}
			for _, sel := range parser.ExtractSelectors(agg.Expr) {
				for _, m := range sel {
					if m.Name != model.MetricNameLabel {
						continue
					}
					for _, l := range agg.Grouping {
						if !slices.Contains(targetLabels, l) {
							require.True(t, exported[m.Value][l], "%s: %s is grouped by %q, which it does not have", where, m.Value, l)
						}
					}
				}
			}
			return nil
		})
	}

	t.Run("every dashboard panel queries exported metrics", func(t *testing.T) {
		panels := dashboardPanels(t)
		require.GreaterOrEqual(t, len(panels), 20)
		for _, panel := range panels {
			for _, target := range panel.Targets {
				check(t, "panel "+panel.Title+" "+target.RefID, target.Expr)
			}
		}
	})

	t.Run("every alert queries exported metrics", func(t *testing.T) {
		for _, g := range alertRules(t).Groups {
			for _, r := range g.Rules {
				check(t, "alert "+r.Alert, r.Expr)
			}
		}
	})

	t.Run("the check catches a metric that is not exported", func(t *testing.T) {
		e, err := parser.ParseExpr(`rate(conquest_turns_total[5m])`)
		require.NoError(t, err)
		name := parser.ExtractSelectors(e)[0][0].Value
		require.Equal(t, "conquest_turns_total", name)
		require.NotContains(t, exported, name)
	})
}
