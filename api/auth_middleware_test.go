package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAuthMiddleware runs requireAuth and requireAdmin with the real auth
// service on the test stack's Postgres and Redis.
func TestAuthMiddleware(t *testing.T) {
	testkit.RequireStack(t)
	ctx := context.Background()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	cfg, err := config.Load()
	require.NoError(t, err)
	adminEmail := fmt.Sprintf("mw-admin-%s@example.test", uuid.NewString()[:8])
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = schema.Migrate(ctx, pool, log)
	require.NoError(t, err)
	rdb := testkit.Redis(t)
	svc, err := auth.NewService(auth.Deps{DB: pool, Redis: rdb, Config: cfg.Auth, Log: log})
	require.NoError(t, err)

	r, err := NewRouter(Deps{Log: log, Auth: svc, TrustedProxies: []string{"127.0.0.1/32"}})
	require.NoError(t, err)
	whoami := func(c *gin.Context) {
		fromCtx, ok := auth.PrincipalFrom(c.Request.Context())
		require.True(t, ok)
		fromGin, ok := c.Get(principalKey)
		require.True(t, ok)
		require.Equal(t, fromCtx, fromGin)
		c.JSON(http.StatusOK, gin.H{"player_id": fromCtx.PlayerID, "role": fromCtx.Role})
	}
	r.GET("/test/authed", requireAuth(svc), whoami)
	r.GET("/test/admin", requireAdmin(svc), whoami)
	r.GET("/test/authed-then-admin", requireAuth(svc), requireAdmin(svc), whoami)

	register := func(email string) auth.Session {
		ip := fmt.Sprintf("2001:db8:%x:%x::9", rand.Uint32N(1<<16), rand.Uint32N(1<<16))
		s, err := svc.Register(ctx, auth.Registration{Email: email, Password: "correct horse battery", DisplayName: "MW", ClientIP: ip})
		require.NoError(t, err)
		return s
	}
	player := register(fmt.Sprintf("mw-player-%s@example.test", uuid.NewString()[:8]))
	admin := register(adminEmail)
	_, err = svc.SetRole(ctx, adminEmail, auth.RoleAdmin)
	require.NoError(t, err)

	do := func(path, authz string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	code := func(w *httptest.ResponseRecorder) string {
		var b ErrorBody
		_ = json.Unmarshal(w.Body.Bytes(), &b)
		return b.Error.Code
	}

	t.Run("a player's token passes requireAuth and names the player", func(t *testing.T) {
		w := do("/test/authed", "Bearer "+player.Tokens.AccessToken)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		require.Contains(t, w.Body.String(), player.Player.ID.String())
	})
	t.Run("the scheme is case-insensitive", func(t *testing.T) {
		w := do("/test/authed", "bearer "+player.Tokens.AccessToken)
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	})
	t.Run("the request's log lines carry the player id", func(t *testing.T) {
		logs.mu.Lock()
		logs.buf.Reset()
		logs.mu.Unlock()
		do("/test/authed", "Bearer "+player.Tokens.AccessToken)
		found := false
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"http"`) && strings.Contains(line, `"route":"/test/authed"`) {
				require.Contains(t, line, `"player_id":"`+player.Player.ID.String()+`"`)
				found = true
			}
		}
		require.True(t, found, logs.String())
	})

	for _, path := range []string{"/test/admin", "/test/authed-then-admin"} {
		t.Run(path+": an admin's token passes requireAdmin", func(t *testing.T) {
			w := do(path, "Bearer "+admin.Tokens.AccessToken)
			require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		})
		t.Run(path+": a player's token is forbidden", func(t *testing.T) {
			w := do(path, "Bearer "+player.Tokens.AccessToken)
			require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
			require.Equal(t, "forbidden", code(w))
		})
		t.Run(path+": no token is unauthorized", func(t *testing.T) {
			w := do(path, "")
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			require.Equal(t, "unauthorized", code(w))
			require.Contains(t, w.Header().Get("WWW-Authenticate"), "Bearer")
		})
	}

	for _, tc := range []struct{ name, header string }{
		{"no header is unauthorized", ""},
		{"another scheme is unauthorized", "Token " + player.Tokens.AccessToken},
		{"a bare token without scheme is unauthorized", player.Tokens.AccessToken},
		{"a refresh token is unauthorized", "Bearer " + player.Tokens.RefreshToken},
		{"garbage is unauthorized", "Bearer a.b.c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do("/test/authed", tc.header)
			require.Equal(t, http.StatusUnauthorized, w.Code, w.Body.String())
			require.Equal(t, "unauthorized", code(w))
		})
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
		ok                 bool
	}{
		{"a bearer header yields its token", "Bearer abc", "abc", true},
		{"the scheme is case-insensitive", "BEARER abc", "abc", true},
		{"surrounding spaces are ignored", "  Bearer   abc  ", "abc", true},
		{"an empty header yields nothing", "", "", false},
		{"a scheme alone yields nothing", "Bearer", "", false},
		{"a scheme and spaces yield nothing", "Bearer   ", "", false},
		{"another scheme yields nothing", "Basic abc", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := bearerToken(tc.header)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}
