package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// registerAs signs up email on base and returns a client with its token.
func registerAs(t *testing.T, base, email string) player {
	t.Helper()
	c := testkit.NewClient(base)
	c.Header.Set("X-Forwarded-For", fakeClientIP())
	resp := c.Do(t, "POST", "/auth/register", map[string]any{"email": email, "password": "correct horse battery", "display_name": "Ops"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out struct {
		Player struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		} `json:"player"`
		AccessToken string `json:"access_token"`
	}
	resp.JSON(t, &out)
	c.Token = out.AccessToken
	return player{ID: out.Player.ID, Email: email, Client: c}
}

func TestOpsDashboardIsForAdmins(t *testing.T) {
	adminEmail := testkit.UniqueEmail("ops-admin")
	srv := testkit.Start(t, testkit.Options{Command: "all", Env: []string{"DM_WORD_DELAY=1ms", "OPS_READ_ONLY=false"}})
	admin := registerAs(t, srv.URL, adminEmail)
	adminCLI(t, "grant", adminEmail)
	pl := registerAs(t, srv.URL, testkit.UniqueEmail("ops-player"))
	s := newSession(t, pl, "")
	_, tr := postMessage(t, pl.Client, s.ID, "I open the ledger of the queues.")
	waitFinal(t, pl.Client, tr.ID, 30*time.Second)
	anon := testkit.NewClient(srv.URL)

	for _, path := range []string{"/ops/queues", "/ops/queues/", "/ops/queues/api/queues", "/ops/queues/servers"} {
		t.Run("no token: 401 on "+path, func(t *testing.T) {
			resp := anon.Do(t, "GET", path, nil)
			require.Equal(t, http.StatusUnauthorized, resp.Status, string(resp.Body))
			require.Equal(t, "unauthorized", resp.ErrorCode())
		})
		t.Run("a player: 403 on "+path, func(t *testing.T) {
			resp := pl.Client.Do(t, "GET", path, nil)
			require.Equal(t, http.StatusForbidden, resp.Status, string(resp.Body))
			require.Equal(t, "forbidden", resp.ErrorCode())
		})
	}

	t.Run("an admin's bearer token opens the dashboard and its API on the real Redis", func(t *testing.T) {
		resp := admin.Client.Do(t, "GET", "/ops/queues/", nil)
		require.Equal(t, http.StatusOK, resp.Status)
		require.Contains(t, string(resp.Body), "/ops/queues/static/js/")
		require.Contains(t, resp.Header.Get("Content-Security-Policy"), "'sha256-")
		resp = admin.Client.Do(t, "GET", "/ops/queues/api/queues", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var body struct {
			Queues []struct {
				Queue string `json:"queue"`
			} `json:"queues"`
		}
		resp.JSON(t, &body)
		var names []string
		for _, q := range body.Queues {
			names = append(names, q.Queue)
		}
		require.Contains(t, names, "generate")
		require.Contains(t, names, "embed")
	})

	t.Run("a browser signs in once and uses the cookie for the whole prefix", func(t *testing.T) {
		resp := admin.Client.Do(t, "POST", "/ops/session", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		cookie := resp.Header.Get("Set-Cookie")
		require.Contains(t, cookie, "HttpOnly")
		require.Contains(t, cookie, "SameSite=Strict")
		require.Contains(t, cookie, "Path=/ops")
		browser := testkit.NewClient(srv.URL)
		browser.Header.Set("Cookie", strings.Split(cookie, ";")[0])
		for _, path := range []string{"/ops/queues/", "/ops/queues/api/queues", "/ops/queues/api/servers"} {
			r := browser.Do(t, "GET", path, nil)
			require.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		}
		js := regexp.MustCompile(`src="(/ops/queues/static/js/[^"]+)"`).FindAllStringSubmatch(string(browser.Do(t, "GET", "/ops/queues/", nil).Body), -1)
		require.NotEmpty(t, js)
		for _, m := range js {
			r := browser.Do(t, "GET", m[1], nil)
			require.Equal(t, http.StatusOK, r.Status, m[1])
		}
		t.Run("read-write mode lets an admin act (here: on a task that does not exist)", func(t *testing.T) {
			r := browser.Do(t, "DELETE", "/ops/queues/api/queues/generate/archived_tasks/no-such-task", nil, "Origin", srv.URL)
			require.NotEqual(t, http.StatusMethodNotAllowed, r.Status)
			require.NotEqual(t, http.StatusForbidden, r.Status)
		})
		t.Run("a cross-site request with the cookie is refused", func(t *testing.T) {
			r := browser.Do(t, "DELETE", "/ops/queues/api/queues/generate/archived_tasks/no-such-task", nil, "Origin", "https://evil.example")
			require.Equal(t, http.StatusForbidden, r.Status)
		})
		t.Run("logging out revokes the token in the cookie too", func(t *testing.T) {
			// The cookie holds the access token; a logout revokes it.
			resp := admin.Client.Do(t, "POST", "/auth/login", map[string]any{"email": adminEmail, "password": "correct horse battery"})
			require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
			var s struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			resp.JSON(t, &s)
			c := testkit.NewClient(srv.URL)
			c.Token = s.AccessToken
			setCookie := c.Do(t, "POST", "/ops/session", nil).Header.Get("Set-Cookie")
			b := testkit.NewClient(srv.URL)
			b.Header.Set("Cookie", strings.Split(setCookie, ";")[0])
			require.Equal(t, http.StatusOK, b.Do(t, "GET", "/ops/queues/api/queues", nil).Status)
			require.Equal(t, http.StatusNoContent, c.Do(t, "POST", "/auth/logout", map[string]any{"refresh_token": s.RefreshToken}).Status)
			require.Equal(t, http.StatusUnauthorized, b.Do(t, "GET", "/ops/queues/api/queues", nil).Status)
		})
	})

	t.Run("OPS_READ_ONLY=true refuses changes even to an admin", func(t *testing.T) {
		ro := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"OPS_READ_ONLY=true"}})
		c := admin.on(ro.URL)
		require.Contains(t, string(c.Do(t, "GET", "/ops/queues/", nil).Body), `window.FLAG_READ_ONLY="true"`)
		r := c.Do(t, "POST", "/ops/queues/api/queues/generate:pause", nil)
		require.Equal(t, http.StatusMethodNotAllowed, r.Status, string(r.Body))
		r = c.Do(t, "GET", "/ops/queues/api/queues/generate", nil)
		require.Equal(t, http.StatusOK, r.Status)
		var q struct {
			Current struct {
				Paused bool `json:"paused"`
			} `json:"current"`
		}
		r.JSON(t, &q)
		require.False(t, q.Current.Paused)
	})
}

// metricsOf scrapes a /metrics endpoint into "name{labels}" → value.
func metricsOf(t *testing.T, url, token string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	return out
}

func TestMetricsOfATurn(t *testing.T) {
	const token = "metrics-token-for-the-test"
	api := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"METRICS_TOKEN=" + token}})
	workerMetrics := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	testkit.Start(t, testkit.Options{Command: "worker", Env: []string{"DM_WORD_DELAY=2ms", "METRICS_ADDR=" + workerMetrics}})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + workerMetrics + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the worker's metrics port")
	p := signUp(t, api.URL)
	s := newSession(t, p, "")
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, tr := postMessage(t, p.Client, s.ID, "I count the coins in the dragon's hoard.")
	got := ev.until(t, 30*time.Second, isDone(tr.ID))
	ndeltas := 0
	for _, e := range got {
		if e.Type == "dm.delta" {
			ndeltas++
		}
	}

	t.Run("/metrics on the API port needs METRICS_TOKEN", func(t *testing.T) {
		resp := testkit.NewClient(api.URL).Do(t, "GET", "/metrics", nil)
		require.Equal(t, http.StatusUnauthorized, resp.Status)
		resp = p.Client.Do(t, "GET", "/metrics", nil)
		require.Equal(t, http.StatusUnauthorized, resp.Status, "a player's access token is not the metrics token")
	})

	t.Run("the API process reports requests by route, open streams, events and queues", func(t *testing.T) {
		m := metricsOf(t, api.URL+"/metrics", token)
		require.GreaterOrEqual(t, m[`conquest_http_requests_total{method="POST",route="/api/sessions/:id/messages",status="202"}`], 1.0)
		require.GreaterOrEqual(t, m[`conquest_http_request_duration_seconds_count{method="POST",route="/api/sessions/:id/messages",status="202"}`], 1.0)
		require.Equal(t, 1.0, m["conquest_sse_connections"], "the open stream")
		require.GreaterOrEqual(t, m["conquest_events_delivered_total"], float64(len(got)))
		require.Equal(t, 1.0, m["conquest_events_hub_connected"])
		require.GreaterOrEqual(t, m[`conquest_events_published_total{type="turn.status"}`], 1.0, "the API publishes the queued status")
		require.Contains(t, m, `asynq_queue_size{queue="generate"}`)
		require.Contains(t, m, `asynq_tasks_processed_total{queue="generate"}`)
		for k := range m {
			require.NotContains(t, k, s.ID, "no raw URL in labels")
		}
	})

	t.Run("the worker reports tasks, stages, turns and the model on METRICS_ADDR", func(t *testing.T) {
		m := metricsOf(t, "http://"+workerMetrics+"/metrics", "")
		require.GreaterOrEqual(t, m[`conquest_worker_tasks_total{outcome="succeeded",queue="generate",type="turn:generate"}`], 1.0)
		for _, stage := range []string{"embed", "retrieve", "generate"} {
			require.GreaterOrEqual(t, m[fmt.Sprintf(`conquest_turn_stage_duration_seconds_count{stage=%q}`, stage)], 1.0, stage)
		}
		require.GreaterOrEqual(t, m[`conquest_turn_duration_seconds_count{status="completed"}`], 1.0)
		var firstToken, deltasStreamed float64
		for k, v := range m {
			if strings.HasPrefix(k, "conquest_model_first_token_seconds_count{") {
				firstToken += v
			}
			if strings.HasPrefix(k, "conquest_model_deltas_streamed_total{") {
				deltasStreamed += v
			}
		}
		require.GreaterOrEqual(t, firstToken, 1.0)
		require.GreaterOrEqual(t, deltasStreamed, float64(ndeltas))
		require.GreaterOrEqual(t, m[`conquest_events_published_total{type="dm.delta"}`], float64(ndeltas))
	})
}

func TestOpsGracefulDrain(t *testing.T) {
	api := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"SHUTDOWN_DELAY=2s"}})
	p := signUp(t, api.URL)
	s := newSession(t, p, "")
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	require.Equal(t, http.StatusOK, testkit.NewClient(api.URL).Do(t, "GET", "/readyz", nil).Status)
	stopped := make(chan struct{})
	go func() { api.Stop(); close(stopped) }()

	t.Run("a draining replica fails /readyz but still serves", func(t *testing.T) {
		var body struct {
			Checks map[string]string `json:"checks"`
		}
		require.Eventually(t, func() bool {
			resp, err := http.Get(api.URL + "/readyz")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			_ = json.NewDecoder(resp.Body).Decode(&body)
			return resp.StatusCode == http.StatusServiceUnavailable
		}, 5*time.Second, 20*time.Millisecond)
		require.Equal(t, "unavailable", body.Checks["serving"])
		require.Equal(t, http.StatusOK, p.Client.Do(t, "GET", "/api/sessions/"+s.ID, nil).Status)
	})
	t.Run("then its SSE clients are told to come back soon, elsewhere", func(t *testing.T) {
		require.True(t, ev.ended(10*time.Second))
		<-stopped
		require.Contains(t, api.Logs(), "draining")
	})
}

func TestOpsHealthcheckCommand(t *testing.T) {
	api := testkit.Start(t, testkit.Options{Command: "api"})
	run := func(args ...string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, testkit.Binary(t), append([]string{"healthcheck"}, args...)...)
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	}
	t.Run("it exits 0 for a ready replica", func(t *testing.T) {
		require.Equal(t, 0, run("--url", api.URL+"/readyz"))
	})
	t.Run("it exits 1 when nothing answers", func(t *testing.T) {
		require.Equal(t, 1, run("--url", fmt.Sprintf("http://127.0.0.1:%d/readyz", testkit.FreePort(t)), "--timeout", "1s"))
	})
	t.Run("it exits 1 for an answer that is not 200", func(t *testing.T) {
		require.Equal(t, 1, run("--url", api.URL+"/no/such/route"))
	})
}
