package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/metrics"
)

// opsAuth knows two tokens: "admin-token" and "player-token". Only
// Authenticate and HasRole are used by the ops routes; the rest of
// AuthService is nil.
type opsAuth struct{ AuthService }

// HasRole answers as the database would for the two tokens' players.
func (opsAuth) HasRole(_ context.Context, p auth.Principal, role string) (bool, error) {
	return p.Role == role, nil
}

func (opsAuth) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	exp := time.Now().Add(10 * time.Minute)
	switch tok {
	case "admin-token":
		return auth.Principal{PlayerID: uuid.New(), Role: auth.RoleAdmin, ExpiresAt: exp}, nil
	case "player-token":
		return auth.Principal{PlayerID: uuid.New(), Role: auth.RolePlayer, ExpiresAt: exp}, nil
	}
	return auth.Principal{}, apperr.New(apperr.Unauthorized, "invalid token")
}

func newOpsRouter(t *testing.T, metricsToken string) (http.Handler, *metrics.Metrics) {
	t.Helper()
	m := metrics.New()
	// No Redis behind it: the UI is served from memory; only its JSON API
	// would need Redis, and read-only mode answers before that.
	mon := asynqmon.New(asynqmon.Options{
		RootPath:     OpsQueuesPath,
		RedisConnOpt: asynq.RedisClientOpt{Addr: "127.0.0.1:1"},
		ReadOnly:     true,
	})
	t.Cleanup(func() { _ = mon.Close() })
	r, err := NewRouter(Deps{
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: opsAuth{},
		Ops:  OpsDeps{HTTP: m, Metrics: m.Handler(), MetricsToken: metricsToken, Queues: mon},
	})
	require.NoError(t, err)
	return r, m
}

type opsRequest struct {
	method, path string
	header       map[string]string
}

func serve(h http.Handler, rq opsRequest) *httptest.ResponseRecorder {
	req := httptest.NewRequest(rq.method, rq.path, nil)
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b ErrorBody
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &b), w.Body.String())
	return b.Error.Code
}

func TestOpsQueuesAreForAdminsOnly(t *testing.T) {
	r, _ := newOpsRouter(t, "")
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	paths := []string{"/ops/queues", "/ops/queues/", "/ops/queues/queues/generate", "/ops/queues/api/queues", "/ops/queues/static/js/x.js"}

	for _, p := range paths {
		t.Run("without a token "+p+" answers 401", func(t *testing.T) {
			w := serve(r, opsRequest{method: "GET", path: p})
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			require.Equal(t, "unauthorized", errorCode(t, w))
			require.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
		})
		t.Run("a player gets 403 on "+p, func(t *testing.T) {
			w := serve(r, opsRequest{method: "GET", path: p, header: bearer("player-token")})
			require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
			require.Equal(t, "forbidden", errorCode(t, w))
		})
		t.Run("an invalid token gets 401 on "+p, func(t *testing.T) {
			w := serve(r, opsRequest{method: "GET", path: p, header: bearer("forged")})
			require.Equal(t, http.StatusUnauthorized, w.Code)
		})
	}

	t.Run("an admin gets the dashboard with a CSP that allows exactly its inline scripts", func(t *testing.T) {
		w := serve(r, opsRequest{method: "GET", path: "/ops/queues/", header: bearer("admin-token")})
		require.Equal(t, http.StatusOK, w.Code)
		body := w.Body.String()
		require.Contains(t, body, `src="/ops/queues/static/js/`)
		require.Contains(t, body, `window.FLAG_READ_ONLY="true"`)
		csp := w.Header().Get("Content-Security-Policy")
		require.Contains(t, csp, "frame-ancestors 'none'")
		require.NotContains(t, csp, "unsafe-inline' ;")
		scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
		require.NotEmpty(t, scripts)
		for _, s := range scripts {
			sum := sha256.Sum256([]byte(s[1]))
			require.Contains(t, csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	})

	t.Run("an admin gets the dashboard's scripts", func(t *testing.T) {
		w := serve(r, opsRequest{method: "GET", path: "/ops/queues/", header: bearer("admin-token")})
		src := regexp.MustCompile(`src="(/ops/queues/static/js/main[^"]+)"`).FindStringSubmatch(w.Body.String())
		require.Len(t, src, 2)
		w = serve(r, opsRequest{method: "GET", path: src[1], header: bearer("admin-token")})
		require.Equal(t, http.StatusOK, w.Code)
		require.Contains(t, w.Header().Get("Content-Type"), "javascript")
	})

	t.Run("read-only mode refuses changes even to an admin", func(t *testing.T) {
		w := serve(r, opsRequest{method: "DELETE", path: "/ops/queues/api/queues/generate", header: bearer("admin-token")})
		require.Equal(t, http.StatusMethodNotAllowed, w.Code, w.Body.String())
	})
}

func TestOpsSessionCookie(t *testing.T) {
	r, _ := newOpsRouter(t, "")

	t.Run("creating a session needs an admin's bearer token", func(t *testing.T) {
		w := serve(r, opsRequest{method: "POST", path: "/ops/session"})
		require.Equal(t, http.StatusUnauthorized, w.Code)
		w = serve(r, opsRequest{method: "POST", path: "/ops/session", header: map[string]string{"Authorization": "Bearer player-token"}})
		require.Equal(t, http.StatusForbidden, w.Code)
		require.Empty(t, w.Header().Values("Set-Cookie"))
	})

	w := serve(r, opsRequest{method: "POST", path: "/ops/session", header: map[string]string{"Authorization": "Bearer admin-token", "X-Forwarded-Proto": "https"}})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]

	t.Run("the cookie is HttpOnly, SameSite=Strict, scoped to /ops and short-lived", func(t *testing.T) {
		require.Equal(t, OpsCookie, c.Name)
		require.True(t, c.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, c.SameSite)
		require.Equal(t, "/ops", c.Path)
		require.True(t, c.Secure, "the client spoke HTTPS to the proxy")
		require.Greater(t, c.MaxAge, 0)
		require.LessOrEqual(t, c.MaxAge, 600)
		require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	})

	cookie := map[string]string{"Cookie": OpsCookie + "=" + c.Value}
	t.Run("a browser with the cookie gets the dashboard", func(t *testing.T) {
		w := serve(r, opsRequest{method: "GET", path: "/ops/queues/", header: cookie})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	})
	t.Run("a cross-site change with the cookie is refused", func(t *testing.T) {
		for _, h := range []map[string]string{
			{"Origin": "https://evil.example"},
			{"Sec-Fetch-Site": "cross-site"},
			{"Sec-Fetch-Site": "same-site", "Origin": "https://example.com"},
		} {
			h["Cookie"] = cookie["Cookie"]
			w := serve(r, opsRequest{method: "POST", path: "/ops/queues/api/queues/generate:pause", header: h})
			require.Equal(t, http.StatusForbidden, w.Code, "%v", h)
		}
	})
	t.Run("a same-origin change with the cookie reaches asynqmon (read-only here)", func(t *testing.T) {
		w := serve(r, opsRequest{method: "POST", path: "/ops/queues/api/queues/generate:pause", header: map[string]string{
			"Cookie": cookie["Cookie"], "Origin": "http://example.com", "Sec-Fetch-Site": "same-origin",
		}})
		require.Equal(t, http.StatusMethodNotAllowed, w.Code, w.Body.String())
	})
	t.Run("a player's token in the cookie is refused", func(t *testing.T) {
		w := serve(r, opsRequest{method: "GET", path: "/ops/queues/", header: map[string]string{"Cookie": OpsCookie + "=player-token"}})
		require.Equal(t, http.StatusForbidden, w.Code)
	})
	t.Run("an expired or revoked cookie answers 401 and is removed", func(t *testing.T) {
		w := serve(r, opsRequest{method: "GET", path: "/ops/queues/", header: map[string]string{"Cookie": OpsCookie + "=revoked"}})
		require.Equal(t, http.StatusUnauthorized, w.Code)
		require.Contains(t, w.Header().Get("Set-Cookie"), "Max-Age=0")
	})
	t.Run("deleting the session clears the cookie", func(t *testing.T) {
		w := serve(r, opsRequest{method: "DELETE", path: "/ops/session", header: cookie})
		require.Equal(t, http.StatusNoContent, w.Code)
		require.Contains(t, w.Header().Get("Set-Cookie"), OpsCookie+"=;")
	})
	t.Run("the sign-in page loads its script from this origin only", func(t *testing.T) {
		w := serve(r, opsRequest{method: "GET", path: "/ops/login"})
		require.Equal(t, http.StatusOK, w.Code)
		require.Contains(t, w.Body.String(), `src="/ops/login.js"`)
		require.Contains(t, w.Header().Get("Content-Security-Policy"), "script-src 'self';")
		w = serve(r, opsRequest{method: "GET", path: "/ops/login.js"})
		require.Equal(t, http.StatusOK, w.Code)
		require.Contains(t, w.Body.String(), "/ops/session")
	})
}

func TestMetricsEndpoint(t *testing.T) {
	t.Run("without METRICS_TOKEN it is open", func(t *testing.T) {
		r, _ := newOpsRouter(t, "")
		w := serve(r, opsRequest{method: "GET", path: "/metrics"})
		require.Equal(t, http.StatusOK, w.Code)
		require.Contains(t, w.Body.String(), "go_goroutines")
	})
	t.Run("with METRICS_TOKEN it needs that bearer token", func(t *testing.T) {
		r, _ := newOpsRouter(t, "a-long-metrics-token")
		require.Equal(t, http.StatusUnauthorized, serve(r, opsRequest{method: "GET", path: "/metrics"}).Code)
		require.Equal(t, http.StatusUnauthorized, serve(r, opsRequest{method: "GET", path: "/metrics",
			header: map[string]string{"Authorization": "Bearer admin-token"}}).Code, "an access token is not the metrics token")
		w := serve(r, opsRequest{method: "GET", path: "/metrics", header: map[string]string{"Authorization": "Bearer a-long-metrics-token"}})
		require.Equal(t, http.StatusOK, w.Code)
	})
	t.Run("requests are labelled by route pattern, never by raw URL", func(t *testing.T) {
		r, _ := newOpsRouter(t, "")
		serve(r, opsRequest{method: "GET", path: "/ops/queues/queues/secret-queue-name"})
		serve(r, opsRequest{method: "GET", path: "/no/such/route/4242"})
		serve(r, opsRequest{method: "GET", path: "/healthz"})
		body := serve(r, opsRequest{method: "GET", path: "/metrics"}).Body.String()
		require.Contains(t, body, `conquest_http_requests_total{method="GET",route="/ops/queues/*path",status="401"} 1`)
		require.Contains(t, body, `conquest_http_requests_total{method="GET",route="unmatched",status="404"} 1`)
		require.Contains(t, body, `conquest_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`)
		require.NotContains(t, body, "secret-queue-name")
		require.NotContains(t, body, "/no/such/route", "an unmatched URL is never a label") // not "4242": any sample value may hold those digits
		require.True(t, strings.Contains(body, "conquest_http_requests_in_flight 1"), "the scrape itself is in flight")
	})
}
