package dm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
)

// fastRetry keeps tests quick while still exercising backoff.
var fastRetry = httpretry.Policy{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, AttemptTimeout: 5 * time.Second}

// chunk is one OpenAI streaming chunk carrying text.
func chunk(text string) string {
	js, _ := json.Marshal(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk",
		"choices": []map[string]any{{"index": 0, "delta": map[string]any{"content": text}, "finish_reason": nil}}})
	return "data: " + string(js) + "\n\n"
}

const finishChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
const usageChunk = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":7,"total_tokens":127}}` + "\n\n"

// sseHeaders starts an event stream. Like a real server it has read the
// request body first: Go's server notices a client hanging up only then.
func sseHeaders(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func write(w http.ResponseWriter, s string) {
	_, _ = io.WriteString(w, s)
	w.(http.Flusher).Flush()
}

func newOpenAI(url string, timeouts Timeouts) *OpenAI {
	return NewOpenAI(OpenAIOptions{BaseURL: url + "/v1", APIKey: "sk-test", Model: "gpt-test", Retry: fastRetry, Timeouts: timeouts})
}

func collect(t *testing.T, m Model, ctx context.Context) (string, Usage, error) {
	t.Helper()
	var b strings.Builder
	u, err := m.Stream(ctx, Prompt{System: "RULES", Player: "I open the door.", MaxTokens: 50, Seed: 7}, func(d string) error {
		b.WriteString(d)
		return nil
	})
	return b.String(), u, err
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	var de *Error
	require.True(t, errors.As(err, &de), "want a *dm.Error with %s, got %v", code, err)
	require.Equal(t, code, de.Code, "%v", err)
}

func TestOpenAIStreamsAReply(t *testing.T) {
	t.Parallel()
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/v1/chat/completions", r.URL.Path)
		require.Equal(t, "Bearer sk-test", r.Header.Get("Authorization"))
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		sseHeaders(w, r)
		write(w, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n")
		write(w, chunk("The door "))
		write(w, ": keep-alive comment\n\n")
		write(w, chunk("creaks open."))
		write(w, finishChunk+usageChunk+"data: [DONE]\n\n")
	}))
	defer srv.Close()
	reply, usage, err := collect(t, newOpenAI(srv.URL, Timeouts{}), context.Background())
	require.NoError(t, err)
	require.Equal(t, "The door creaks open.", reply)
	require.Equal(t, Usage{PromptTokens: 120, CompletionTokens: 7}, usage, "the server's usage wins over estimates")
	require.Equal(t, "gpt-test", body["model"])
	require.Equal(t, true, body["stream"])
	require.Equal(t, map[string]any{"include_usage": true}, body["stream_options"])
	require.EqualValues(t, 50, body["max_tokens"])
	msgs := body["messages"].([]any)
	require.Equal(t, "system", msgs[0].(map[string]any)["role"])
	require.Equal(t, map[string]any{"role": "user", "content": "I open the door."}, msgs[len(msgs)-1])
}

func TestOpenAIWithoutUsageEstimatesIt(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sseHeaders(w, r)
		write(w, chunk("Hello there, traveller.")+finishChunk+"data: [DONE]\n\n")
	}))
	defer srv.Close()
	_, usage, err := collect(t, newOpenAI(srv.URL, Timeouts{}), context.Background())
	require.NoError(t, err)
	require.Greater(t, usage.PromptTokens, 0)
	require.Greater(t, usage.CompletionTokens, 0)
}

func TestOpenAIRetriesBeforeTheFirstToken(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		header map[string]string
	}{
		{"a 429 with Retry-After is retried", http.StatusTooManyRequests, map[string]string{"Retry-After": "0.01"}},
		{"a 503 is retried", http.StatusServiceUnavailable, nil},
		{"a 502 from a proxy is retried", http.StatusBadGateway, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, `{"error":{"message":"slow down","type":"rate_limit"}}`)
					return
				}
				sseHeaders(w, r)
				write(w, chunk("ok")+finishChunk+"data: [DONE]\n\n")
			}))
			defer srv.Close()
			reply, _, err := collect(t, newOpenAI(srv.URL, Timeouts{}), context.Background())
			require.NoError(t, err)
			require.Equal(t, "ok", reply)
			require.EqualValues(t, 2, calls.Load())
		})
	}
}

func TestOpenAIFailuresHaveClearCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		code    string
		reply   string
	}{
		{"429 on every attempt is rate limited", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTooManyRequests)
		}, CodeRateLimited, ""},
		{"500 on every attempt is unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}, CodeUnavailable, ""},
		{"a refused API key is unavailable", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
		}, CodeUnavailable, ""},
		{"an unknown model is a model error", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"message":"model not found"}}`)
		}, CodeError, ""},
		{"an error object mid-stream is a model error", func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w, r)
			write(w, chunk("The dragon "))
			write(w, `data: {"error":{"message":"CUDA out of memory","type":"server_error"}}`+"\n\n")
		}, CodeError, "The dragon "},
		{"a malformed chunk is a model error", func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w, r)
			write(w, chunk("The dragon "))
			write(w, "data: {\"choices\":[{\"delta\":{\"content\":\"roa\n\n")
		}, CodeError, "The dragon "},
		{"a stream cut before [DONE] is a model error", func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w, r)
			write(w, chunk("The dragon "))
		}, CodeError, "The dragon "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			reply, _, err := collect(t, newOpenAI(srv.URL, Timeouts{}), context.Background())
			requireCode(t, err, tc.code)
			require.Equal(t, tc.reply, reply, "what streamed before the failure was emitted")
		})
	}
}

func TestOpenAIUnreachableServerIsUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, _, err := collect(t, newOpenAI(url, Timeouts{}), context.Background())
	requireCode(t, err, CodeUnavailable)
}

func TestOpenAITimeouts(t *testing.T) {
	t.Parallel()
	t.Run("a slow first token fires the first-token timeout and closes the request", func(t *testing.T) {
		closed := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w, r)
			<-r.Context().Done()
			close(closed)
		}))
		defer srv.Close()
		start := time.Now()
		_, _, err := collect(t, newOpenAI(srv.URL, Timeouts{FirstToken: 200 * time.Millisecond, Total: time.Minute}), context.Background())
		requireCode(t, err, CodeTimeout)
		require.Less(t, time.Since(start), 5*time.Second)
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server never saw the request end")
		}
	})
	t.Run("a reply that never ends fires the total timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sseHeaders(w, r)
			for i := 0; ; i++ {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(20 * time.Millisecond):
					write(w, chunk(fmt.Sprintf("word%d ", i)))
				}
			}
		}))
		defer srv.Close()
		reply, _, err := collect(t, newOpenAI(srv.URL, Timeouts{FirstToken: time.Second, Total: 300 * time.Millisecond}), context.Background())
		requireCode(t, err, CodeTimeout)
		require.NotEmpty(t, reply, "tokens before the timeout were emitted")
	})
}

func TestOpenAICancellationClosesTheUpstreamRequest(t *testing.T) {
	t.Parallel()
	closed := make(chan struct{})
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sseHeaders(w, r)
		write(w, chunk("The "))
		close(started)
		<-r.Context().Done()
		close(closed)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, _, err := collect(t, newOpenAI(srv.URL, Timeouts{}), ctx)
	require.ErrorIs(t, err, context.Canceled, "a cancelled turn is not a model failure")
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server never saw the request end")
	}
}
