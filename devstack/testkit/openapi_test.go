package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func answer(status int, contentType, body string) *http.Response {
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {contentType}},
		Body:       io.NopCloser(strings.NewReader(body)),
	}
}

func TestResponsesAreCheckedAgainstTheDocument(t *testing.T) {
	get := func(path string) *http.Request { return httptest.NewRequest("GET", "http://127.0.0.1"+path, nil) }
	t.Run("an answer as documented passes", func(t *testing.T) {
		p, err := responseProblems(get("/healthz"), answer(200, "application/json", `{"status":"ok"}`), []byte(`{"status":"ok"}`))
		require.NoError(t, err)
		require.Empty(t, p)
	})
	t.Run("a body that breaks the schema fails", func(t *testing.T) {
		p, err := responseProblems(get("/healthz"), answer(200, "application/json", `{"status":"fine"}`), []byte(`{"status":"fine"}`))
		require.NoError(t, err)
		require.NotEmpty(t, p)
	})
	t.Run("an error without the error shape fails", func(t *testing.T) {
		body := `{"message":"nope"}`
		p, err := responseProblems(get("/api/characters"), answer(401, "application/json", body), []byte(body))
		require.NoError(t, err)
		require.NotEmpty(t, p)
	})
	t.Run("an error code that is not in the catalogue fails", func(t *testing.T) {
		body := `{"error":{"code":"oops","message":"x"}}`
		p, err := responseProblems(get("/api/characters"), answer(500, "application/json", body), []byte(body))
		require.NoError(t, err)
		require.NotEmpty(t, p)
	})
	t.Run("the router's 404 for a path the document lacks is fine", func(t *testing.T) {
		body := `{"error":{"code":"not_found","message":"no such route"}}`
		p, err := responseProblems(get("/api/nowhere"), answer(404, "application/json", body), []byte(body))
		require.NoError(t, err)
		require.Empty(t, p)
	})
	t.Run("a 200 from a path the document lacks fails", func(t *testing.T) {
		p, err := responseProblems(get("/api/nowhere"), answer(200, "application/json", `{}`), []byte(`{}`))
		require.NoError(t, err)
		require.NotEmpty(t, p)
	})
}

func TestAsynqmonIsLeftOutOnPurpose(t *testing.T) {
	req := httptest.NewRequest("GET", "http://127.0.0.1/ops/queues/api/queues", nil)
	p, err := responseProblems(req, answer(200, "application/json", `{}`), []byte(`{}`))
	require.NoError(t, err)
	require.Empty(t, p)
}
