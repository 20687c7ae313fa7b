package embed

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
	"github.com/codeofconquest/brightdawn/internal/replicate"
)

var fastRetry = httpretry.Policy{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second}

// unit returns a deterministic non-zero vector for a text.
func unit(text string, dim int) []float32 {
	v := make([]float32, dim)
	v[len(text)%dim] = 1
	return v
}

func TestOpenAIEmbedderBatchesAndKeepsOrder(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var batches [][]string
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/embeddings", r.URL.Path)
		require.Equal(t, "Bearer sk-test", r.Header.Get("Authorization"))
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		var req struct {
			Model      string   `json:"model"`
			Input      []string `json:"input"`
			Dimensions int      `json:"dimensions"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&req))
		require.Equal(t, "text-embedding-3-small", req.Model)
		require.Equal(t, 8, req.Dimensions)
		mu.Lock()
		batches = append(batches, req.Input)
		mu.Unlock()
		// Answer in reverse order: clients must sort by index.
		var data []map[string]any
		for i := len(req.Input) - 1; i >= 0; i-- {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": unit(req.Input[i], 8)})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model,
			"usage": map[string]any{"prompt_tokens": 5, "total_tokens": 5}})
	}))
	defer srv.Close()
	e := NewOpenAIEmbedder(OpenAIOptions{BaseURL: srv.URL + "/v1/", APIKey: "sk-test", Model: "text-embedding-3-small", Dim: 8,
		SendDimensions: true, BatchSize: 2, Retry: fastRetry})
	require.Equal(t, "openai:text-embedding-3-small@8", e.Model())
	texts := []string{"a", "bb", "ccc", "", "eeeee"}
	vs, err := e.Embed(context.Background(), texts)
	require.NoError(t, err)
	require.Len(t, vs, 5)
	require.Equal(t, unit("a", 8), vs[0])
	require.Equal(t, unit("eeeee", 8), vs[4])
	require.Equal(t, [][]string{{"a", "bb"}, {"ccc", "(empty)"}, {"eeeee"}}, batches, "batches of two; an empty text gets a placeholder")
}

func TestOpenAIEmbedderRefusesBadVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"a vector of another dimension is refused", `[{"index":0,"embedding":[1,0,0]}]`, "3 dimensions"},
		{"a zero vector is refused", `[{"index":0,"embedding":[0,0,0,0]}]`, "all zeros"},
		{"a missing vector is refused", `[]`, "0 vectors for 1 texts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"data":`+tc.data+`}`)
			}))
			defer srv.Close()
			e := NewOpenAIEmbedder(OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "m", Dim: 4, Retry: fastRetry})
			_, err := e.Embed(context.Background(), []string{"x"})
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("a 400 is not retried", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"This model does not support specifying dimensions."}}`)
		}))
		defer srv.Close()
		_, err := NewOpenAIEmbedder(OpenAIOptions{BaseURL: srv.URL + "/v1", Model: "m", Dim: 4, Retry: fastRetry}).Embed(context.Background(), []string{"x"})
		require.ErrorContains(t, err, "http 400")
		require.EqualValues(t, 1, calls.Load())
	})
}

func TestReplicateEmbedderWaitsAndPolls(t *testing.T) {
	t.Parallel()
	var polls atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pred := func(status string, output any) {
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "e1", "status": status, "output": output, "error": nil,
				"urls": map[string]any{"get": srv.URL + "/v1/predictions/e1", "cancel": srv.URL + "/v1/predictions/e1/cancel"}})
		}
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/models/nateraw/bge-large-en-v1.5/predictions":
			require.Equal(t, "wait=60", r.Header.Get("Prefer"))
			var body struct {
				Input map[string]string `json:"input"`
			}
			require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			require.Equal(t, `["a","bb"]`, body.Input["texts"], "the batch goes as a JSON list in a string")
			w.WriteHeader(http.StatusCreated)
			pred("processing", nil) // Prefer: wait ran out: the client polls
		case r.Method == "GET" && r.URL.Path == "/v1/predictions/e1":
			if polls.Add(1) < 3 {
				pred("processing", nil)
				return
			}
			pred("succeeded", [][]float32{unit("a", 4), unit("bb", 4)})
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
	}))
	defer srv.Close()
	e := NewReplicateEmbedder(ReplicateOptions{Client: &replicate.Client{BaseURL: srv.URL, Token: "r8", Retry: fastRetry},
		Model: "nateraw/bge-large-en-v1.5", Dim: 4, Poll: time.Millisecond})
	require.Equal(t, "replicate:nateraw/bge-large-en-v1.5@4", e.Model())
	vs, err := e.Embed(context.Background(), []string{"a", "bb"})
	require.NoError(t, err)
	require.Equal(t, [][]float32{unit("a", 4), unit("bb", 4)}, vs)
	require.EqualValues(t, 3, polls.Load())
}

func TestReplicateEmbedderReportsAFailedPrediction(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"e1","status":"failed","error":"input texts must be a JSON list","urls":{}}`)
	}))
	defer srv.Close()
	e := NewReplicateEmbedder(ReplicateOptions{Client: &replicate.Client{BaseURL: srv.URL, Token: "r8", Retry: fastRetry}, Model: "o/m", Dim: 4})
	_, err := e.Embed(context.Background(), []string{"a"})
	require.ErrorContains(t, err, "failed: input texts must be a JSON list")
}

func TestParseVectorsReadsEveryKnownOutputShape(t *testing.T) {
	t.Parallel()
	want := [][]float32{{1, 2}, {3, 4}}
	for _, tc := range []struct{ name, raw string }{
		{"a list of vectors", `[[1,2],[3,4]]`},
		{"a list of objects with an embedding", `[{"embedding":[1,2]},{"embedding":[3,4]}]`},
		{"an object with embeddings", `{"embeddings":[[1,2],[3,4]]}`},
		{"an object with vectors", `{"vectors":[[1,2],[3,4]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseVectors([]byte(tc.raw), 2)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	t.Run("a single vector counts for one text", func(t *testing.T) {
		got, err := ParseVectors([]byte(`[1,2,3]`), 1)
		require.NoError(t, err)
		require.Equal(t, [][]float32{{1, 2, 3}}, got)
	})
	t.Run("the wrong count is an error", func(t *testing.T) {
		_, err := ParseVectors([]byte(`[[1,2]]`), 2)
		require.ErrorContains(t, err, "1 vectors for 2 texts")
	})
	t.Run("something else is an error", func(t *testing.T) {
		_, err := ParseVectors([]byte(`"nope"`), 1)
		require.Error(t, err)
	})
}

// FuzzParseVectors feeds arbitrary provider output: no panic, and a
// success has exactly the requested number of vectors.
func FuzzParseVectors(f *testing.F) {
	f.Add(`[[1,2],[3,4]]`, 2)
	f.Add(`[{"embedding":[0.5]}]`, 1)
	f.Add(`{"embeddings":[[1e39]]}`, 1)
	f.Add(`[1,2,3]`, 1)
	f.Add(`null`, 0)
	f.Fuzz(func(t *testing.T, raw string, want int) {
		if want < 0 || want > 1000 {
			return
		}
		vs, err := ParseVectors([]byte(raw), want)
		if err == nil && len(vs) != want {
			t.Fatalf("%d vectors, want %d", len(vs), want)
		}
	})
}
