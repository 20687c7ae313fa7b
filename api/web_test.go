package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebClientIsServed(t *testing.T) {
	r, err := NewRouter(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}

	index := get("/")
	require.Equal(t, http.StatusOK, index.Code)
	assert.Equal(t, "text/html; charset=utf-8", index.Header().Get("Content-Type"))
	assert.Equal(t, "no-cache", index.Header().Get("Cache-Control"))
	assert.Contains(t, index.Header().Get("Content-Security-Policy"), "script-src 'self'")
	assert.Equal(t, "nosniff", index.Header().Get("X-Content-Type-Options"))
	assert.NotContains(t, index.Body.String(), staticPlaceholder)
	m := regexp.MustCompile(`src="(/static/[0-9a-f]{12})/js/app\.js"`).FindStringSubmatch(index.Body.String())
	require.NotNil(t, m, "index.html names the versioned app module")
	prefix := m[1]

	t.Run("static files are versioned and cached for a year", func(t *testing.T) {
		for path, ctype := range map[string]string{
			"/js/app.js":        "text/javascript; charset=utf-8",
			"/js/views/game.js": "text/javascript; charset=utf-8",
			"/css/style.css":    "text/css; charset=utf-8",
			"/favicon.svg":      "image/svg+xml",
		} {
			w := get(prefix + path)
			require.Equal(t, http.StatusOK, w.Code, path)
			assert.Equal(t, ctype, w.Header().Get("Content-Type"), path)
			assert.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"), path)
		}
	})
	t.Run("a matching ETag gets 304", func(t *testing.T) {
		w := get("/", "If-None-Match", index.Header().Get("ETag"))
		assert.Equal(t, http.StatusNotModified, w.Code)
	})
	t.Run("another version or a missing file is not found", func(t *testing.T) {
		for _, path := range []string{"/static/000000000000/js/app.js", prefix + "/js/nope.js", "/static/"} {
			w := get(path)
			assert.Equal(t, http.StatusNotFound, w.Code, path)
			assert.True(t, strings.HasPrefix(w.Header().Get("Content-Type"), "application/json"), path)
		}
	})
	t.Run("nothing outside static/ is served", func(t *testing.T) {
		// Gin redirects unclean paths; only the embedded static/ map is ever read.
		for _, path := range []string{prefix + "/../index.html", prefix + "/%2e%2e/embed.go", prefix + "/..%2fembed.go"} {
			w := get(path)
			assert.NotEqual(t, http.StatusOK, w.Code, path)
			assert.NotContains(t, w.Body.String(), "go:embed", path)
		}
	})
}
