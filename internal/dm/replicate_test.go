package dm

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

	vdice "github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/replicate"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// fakeReplicate speaks Replicate's predictions API: create (201 with the
// prediction and its urls), get, cancel, and the SSE stream, whose body
// the test supplies.
type fakeReplicate struct {
	*httptest.Server
	createFails atomic.Int32 // answer this many creates with 429 first
	stream      func(w http.ResponseWriter, r *http.Request)
	noStream    bool

	mu        sync.Mutex
	input     map[string]any
	path      string
	cancelled chan struct{}
	streamEnd chan struct{}
}

func newFakeReplicate(t *testing.T, stream func(w http.ResponseWriter, r *http.Request)) *fakeReplicate {
	f := &fakeReplicate{stream: stream, cancelled: make(chan struct{}), streamEnd: make(chan struct{})}
	var cancelOnce, endOnce sync.Once
	mux := http.NewServeMux()
	pred := func(status string) map[string]any {
		urls := map[string]any{"get": f.URL + "/v1/predictions/p1", "cancel": f.URL + "/v1/predictions/p1/cancel",
			"web": "https://replicate.com/p/p1"}
		if !f.noStream {
			urls["stream"] = f.URL + "/stream/p1"
		}
		return map[string]any{"id": "p1", "model": "meta/llama", "version": "v1", "status": status, "input": f.input,
			"output": nil, "error": nil, "logs": "", "created_at": "2026-01-01T00:00:00Z", "urls": urls,
			"metrics": map[string]any{"predict_time": 1.2, "input_token_count": 321, "output_token_count": 12}}
	}
	mux.HandleFunc("POST /v1/models/{owner}/{name}/predictions", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer r8-test", r.Header.Get("Authorization"))
		if f.createFails.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"title":"Too Many Requests","detail":"Request was throttled.","status":429}`)
			return
		}
		var body struct {
			Input  map[string]any `json:"input"`
			Stream bool           `json:"stream"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		require.True(t, body.Stream)
		f.mu.Lock()
		f.input, f.path = body.Input, r.URL.Path
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(pred("starting"))
	})
	mux.HandleFunc("GET /v1/predictions/p1", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(pred("succeeded"))
	})
	mux.HandleFunc("POST /v1/predictions/p1/cancel", func(w http.ResponseWriter, r *http.Request) {
		cancelOnce.Do(func() { close(f.cancelled) })
		_ = json.NewEncoder(w).Encode(pred("canceled"))
	})
	mux.HandleFunc("GET /stream/p1", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "text/event-stream", r.Header.Get("Accept"))
		defer endOnce.Do(func() { close(f.streamEnd) })
		sseHeaders(w, r)
		f.stream(w, r)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func newReplicateModel(url string, timeouts Timeouts) *Replicate {
	return NewReplicate(ReplicateOptions{
		Client:   &replicate.Client{BaseURL: url, Token: "r8-test", Retry: fastRetry},
		Model:    "meta/meta-llama-3-8b-instruct",
		Timeouts: timeouts,
	})
}

func TestReplicateStreamsAReply(t *testing.T) {
	t.Parallel()
	f := newFakeReplicate(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, "event: output\nid: 1690212292:0\ndata: The door\n\n")
		write(w, "event: output\nid: 1690212292:1\ndata:  creaks\ndata: open.\n\n")
		write(w, "event: done\nid: 1690212292:2\ndata: {}\n\n")
	})
	f.createFails.Store(1)
	reply, usage, err := collect(t, newReplicateModel(f.URL, Timeouts{}), context.Background())
	require.NoError(t, err)
	require.Equal(t, "The door creaks\nopen.", reply, "multi-line data joins with a newline")
	require.Equal(t, Usage{PromptTokens: 321, CompletionTokens: 12}, usage, "Replicate's metrics are the usage")
	require.Equal(t, "/v1/models/meta/meta-llama-3-8b-instruct/predictions", f.path)
	require.Equal(t, "Player: I open the door.\n\nDungeon Master:", f.input["prompt"])
	require.Equal(t, "RULES", f.input["system_prompt"])
	require.EqualValues(t, 50, f.input["max_tokens"])
	select {
	case <-f.cancelled:
		t.Fatal("a finished prediction is not cancelled")
	default:
	}
}

func TestReplicateFailuresHaveClearCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stream func(w http.ResponseWriter, r *http.Request)
		code   string
		reply  string
	}{
		{"an error event mid-stream is a model error", func(w http.ResponseWriter, r *http.Request) {
			write(w, "event: output\ndata: The dragon\n\n")
			write(w, "event: error\ndata: {\"detail\": \"CUDA error: out of memory\"}\n\n")
		}, CodeError, "The dragon"},
		{"a done event of a cancelled prediction is a model error", func(w http.ResponseWriter, r *http.Request) {
			write(w, "event: done\ndata: {\"reason\": \"canceled\"}\n\n")
		}, CodeError, ""},
		{"a stream cut before done is a model error", func(w http.ResponseWriter, r *http.Request) {
			write(w, "event: output\ndata: The dragon\n\n")
		}, CodeError, "The dragon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeReplicate(t, tc.stream)
			reply, _, err := collect(t, newReplicateModel(f.URL, Timeouts{}), context.Background())
			requireCode(t, err, tc.code)
			require.Equal(t, tc.reply, reply)
		})
	}
	t.Run("429 on every create is rate limited", func(t *testing.T) {
		f := newFakeReplicate(t, nil)
		f.createFails.Store(100)
		_, _, err := collect(t, newReplicateModel(f.URL, Timeouts{}), context.Background())
		requireCode(t, err, CodeRateLimited)
	})
	t.Run("a model without streaming is a model error", func(t *testing.T) {
		f := newFakeReplicate(t, nil)
		f.noStream = true
		_, _, err := collect(t, newReplicateModel(f.URL, Timeouts{}), context.Background())
		requireCode(t, err, CodeError)
	})
}

func TestReplicateGivingUpCancelsThePrediction(t *testing.T) {
	t.Parallel()
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	t.Run("a slow first token times out, closes the stream and cancels the prediction", func(t *testing.T) {
		f := newFakeReplicate(t, hang)
		_, _, err := collect(t, newReplicateModel(f.URL, Timeouts{FirstToken: 200 * time.Millisecond, Total: time.Minute}), context.Background())
		requireCode(t, err, CodeTimeout)
		waitClosed(t, f.streamEnd, "stream request")
		waitClosed(t, f.cancelled, "cancel call")
	})
	t.Run("a cancelled turn closes the stream and cancels the prediction", func(t *testing.T) {
		started := make(chan struct{})
		f := newFakeReplicate(t, func(w http.ResponseWriter, r *http.Request) {
			write(w, "event: output\ndata: The\n\n")
			close(started)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-started; cancel() }()
		_, _, err := collect(t, newReplicateModel(f.URL, Timeouts{}), ctx)
		require.ErrorIs(t, err, context.Canceled)
		waitClosed(t, f.streamEnd, "stream request")
		waitClosed(t, f.cancelled, "cancel call")
	})
}

func waitClosed(t *testing.T, c chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatalf("the server never saw the %s end", what)
	}
}

// The replicate fallback: the engine's outcome travels in the prediction's
// system prompt, for the plain-text model to narrate.
func TestReplicatePromptCarriesTheEnginesOutcome(t *testing.T) {
	f := newFakeReplicate(t, func(w http.ResponseWriter, r *http.Request) {
		write(w, "event: output\nid: 1:0\ndata: You drink.\n\n")
		write(w, "event: done\nid: 1:1\ndata: {}\n\n")
	})
	m := ResolveIntent(rules.New(rules.Default()), adventurer(), "I drink my healing potion.", vdice.NewRoller(vdice.Seed{5}))
	_, err := newReplicateModel(f.URL, Timeouts{}).Stream(context.Background(),
		Prompt{System: "RULES", Player: "I drink my healing potion.", MaxTokens: 50, Mechanics: &m}, func(string) error { return nil })
	require.NoError(t, err)
	system, _ := f.input["system_prompt"].(string)
	require.Contains(t, system, "The rules engine has already resolved")
	require.Contains(t, system, NarrateMechanics(m))
}
