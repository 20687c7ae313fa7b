package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// fakeChat is an OpenAI-compatible chat-completions server speaking the
// real streaming wire format. reply decides each answer.
type fakeChat struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any
	closed   atomic.Int32 // requests whose context ended before the reply did
	reply    func(w http.ResponseWriter, r *http.Request) bool
}

func newFakeChat(t *testing.T, reply func(w http.ResponseWriter, r *http.Request) bool) *fakeChat {
	f := &fakeChat{reply: reply}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.requests = append(f.requests, body)
		f.mu.Unlock()
		if !f.reply(w, r) {
			f.closed.Add(1)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeChat) last() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func streamChunks(w http.ResponseWriter, r *http.Request, pieces []string, gap time.Duration) bool {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	for _, p := range pieces {
		js, _ := json.Marshal(map[string]any{"object": "chat.completion.chunk", "choices": []map[string]any{{"index": 0, "delta": map[string]any{"content": p}}}})
		select {
		case <-r.Context().Done():
			return false
		case <-time.After(gap):
		}
		fmt.Fprintf(w, "data: %s\n\n", js)
		w.(http.Flusher).Flush()
	}
	fmt.Fprint(w, `data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`+"\n\n")
	fmt.Fprint(w, `data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":321,"completion_tokens":4,"total_tokens":325}}`+"\n\n")
	fmt.Fprint(w, "data: [DONE]\n\n")
	return true
}

func openAIDMEnv(url string, extra ...string) []string {
	return append([]string{"DM_PROVIDER=openai", "OPENAI_BASE_URL=" + url + "/v1", "OPENAI_API_KEY=sk-test", "DM_MODEL=fake-dm",
		"PROVIDER_MAX_RETRIES=1"}, extra...)
}

// rawTurn reads a turn as JSON, with the provider fields the shared helper omits.
func rawTurn(t *testing.T, c *testkit.Client, id string) map[string]any {
	t.Helper()
	resp := c.Do(t, "GET", "/api/turns/"+id, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Turn map[string]any }
	resp.JSON(t, &out)
	return out.Turn
}

func TestTurnWithAnOpenAICompatibleDungeonMaster(t *testing.T) {
	chat := newFakeChat(t, func(w http.ResponseWriter, r *http.Request) bool {
		return streamChunks(w, r, []string{"The innkeeper ", "nods ", "slowly."}, 5*time.Millisecond)
	})
	srv := testkit.Start(t, testkit.Options{Env: openAIDMEnv(chat.URL)})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	s := newSession(t, p, ch.ID)
	events := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")

	_, tr := postMessage(t, p.Client, s.ID, "I ask the innkeeper about the blacksmith's daughter.")
	var deltas strings.Builder
	for _, ev := range events.until(t, 30*time.Second, isDone(tr.ID)) {
		if ev.Type == "dm.delta" {
			deltas.WriteString(ev.Data["text"].(string))
		}
		require.NotEqual(t, "turn.failed", ev.Type, ev.Raw)
	}
	require.Equal(t, "The innkeeper nods slowly.", deltas.String(), "the model's stream reaches the browser piece by piece")
	final := rawTurn(t, p.Client, tr.ID)
	require.Equal(t, "completed", final["status"])
	require.Equal(t, "openai", final["provider"])
	require.Equal(t, "fake-dm", final["model"])
	require.EqualValues(t, 321, final["prompt_tokens"], "the server's usage is stored")
	require.EqualValues(t, 4, final["completion_tokens"])

	req := chat.last()
	require.Equal(t, "fake-dm", req["model"])
	require.Equal(t, true, req["stream"])
	msgs := req["messages"].([]any)
	system := msgs[0].(map[string]any)
	require.Equal(t, "system", system["role"])
	require.Contains(t, system["content"], "Dungeon Master", "the system prompt")
	require.Contains(t, system["content"], "Arwen, a level 3 ranger", "the character sheet")
	require.Equal(t, map[string]any{"role": "user", "content": "I ask the innkeeper about the blacksmith's daughter."}, msgs[len(msgs)-1])

	t.Run("the next turn sends the previous exchange as recent messages", func(t *testing.T) {
		_, tr2 := postMessage(t, p.Client, s.ID, "I thank him.")
		require.Equal(t, "completed", waitFinal(t, p.Client, tr2.ID, 30*time.Second).Status)
		msgs := chat.last()["messages"].([]any)
		require.Len(t, msgs, 4, "system, the earlier player message, the earlier reply, the new message")
		require.Equal(t, map[string]any{"role": "assistant", "content": "The innkeeper nods slowly."}, msgs[2])
	})
}

func TestDungeonMasterProviderFailuresEndTheTurn(t *testing.T) {
	t.Run("a server answering 503 fails the turn as model_unavailable", func(t *testing.T) {
		chat := newFakeChat(t, func(w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		})
		srv := testkit.Start(t, testkit.Options{Env: openAIDMEnv(chat.URL)})
		p := signUp(t, srv.URL)
		s := newSession(t, p, "")
		_, tr := postMessage(t, p.Client, s.ID, "I open the door.")
		final := waitFinal(t, p.Client, tr.ID, 30*time.Second)
		require.Equal(t, "failed", final.Status)
		require.Equal(t, "model_unavailable", final.Error.Code)
		chat.mu.Lock()
		require.Len(t, chat.requests, 2, "one try and one retry, then the turn fails at once")
		chat.mu.Unlock()
	})
	t.Run("a model without a first token fails the turn as model_timeout and the request is closed", func(t *testing.T) {
		chat := newFakeChat(t, func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return false
		})
		srv := testkit.Start(t, testkit.Options{Env: openAIDMEnv(chat.URL, "DM_FIRST_TOKEN_TIMEOUT=1s")})
		p := signUp(t, srv.URL)
		s := newSession(t, p, "")
		_, tr := postMessage(t, p.Client, s.ID, "I open the door.")
		final := waitFinal(t, p.Client, tr.ID, 30*time.Second)
		require.Equal(t, "failed", final.Status)
		require.Equal(t, "model_timeout", final.Error.Code)
		require.Eventually(t, func() bool { return chat.closed.Load() == 1 }, 5*time.Second, 20*time.Millisecond)
	})
	t.Run("cancelling the turn closes the upstream request", func(t *testing.T) {
		chat := newFakeChat(t, func(w http.ResponseWriter, r *http.Request) bool {
			return streamChunks(w, r, strings.Fields(strings.Repeat("word ", 200)), 100*time.Millisecond)
		})
		srv := testkit.Start(t, testkit.Options{Env: openAIDMEnv(chat.URL)})
		p := signUp(t, srv.URL)
		s := newSession(t, p, "")
		events := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
		_, tr := postMessage(t, p.Client, s.ID, "I tell a very long story.")
		events.until(t, 30*time.Second, func(ev sseEvent) bool { return ev.Type == "dm.delta" })
		resp := p.Client.Do(t, "POST", "/api/turns/"+tr.ID+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
		require.Eventually(t, func() bool { return chat.closed.Load() == 1 }, 10*time.Second, 20*time.Millisecond,
			"the model's request ends when the player cancels")
		require.Equal(t, "cancelled", getTurn(t, p.Client, tr.ID).Status)
	})
}

// fakeEmbeddings is an OpenAI-compatible /v1/embeddings server whose
// vectors come from the hash embedder at another dimension, so retrieval
// through it is meaningful.
type fakeEmbeddings struct {
	*httptest.Server
	texts atomic.Int64
}

func newFakeEmbeddings(t *testing.T, dim int) *fakeEmbeddings {
	e := embed.NewHashEmbedder(dim)
	f := &fakeEmbeddings{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if r.URL.Path != "/v1/embeddings" || json.NewDecoder(r.Body).Decode(&req) != nil || req.Model != "fake-embed" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"bad request"}}`)
			return
		}
		f.texts.Add(int64(len(req.Input)))
		vs, _ := e.Embed(r.Context(), req.Input)
		data := make([]map[string]any, len(vs))
		for i, v := range vs {
			data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": req.Model})
	}))
	t.Cleanup(f.Close)
	return f
}

type reembedView struct {
	Models []struct {
		Model  string `json:"model"`
		Status string `json:"status"`
	} `json:"models"`
	Jobs []struct {
		Job struct {
			Model  string `json:"model"`
			Status string `json:"status"`
			Done   int    `json:"done"`
			Total  int    `json:"total"`
		} `json:"job"`
		Progress float64 `json:"progress"`
	} `json:"jobs"`
}

func activeModel(t *testing.T, c *testkit.Client) (string, reembedView) {
	resp := c.Do(t, "GET", "/ops/reembed", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var v reembedView
	resp.JSON(t, &v)
	for _, m := range v.Models {
		if m.Status == "active" {
			return m.Model, v
		}
	}
	return "", v
}

func TestChangingTheEmbeddingModelReembedsAndMemoryKeepsWorking(t *testing.T) {
	testkit.RequireStack(t)
	dbURL := testkit.PrivateDatabase(t)
	t.Setenv("DATABASE_URL", dbURL) // for the processes this test starts
	admin := testkit.UniqueEmail("admin")
	base := []string{"DATABASE_URL=" + dbURL, "RECENT_MESSAGES=2", "DM_WORD_DELAY=0s"}
	hash := testkit.Start(t, testkit.Options{Env: base})

	c := testkit.NewClient(hash.URL)
	resp := c.Do(t, "POST", "/auth/register", map[string]any{"email": admin, "password": "correct horse battery", "display_name": "Admin"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var reg struct {
		AccessToken string `json:"access_token"`
	}
	resp.JSON(t, &reg)
	adminCLI(t, "grant", admin)
	c.Token = reg.AccessToken
	p := player{Client: c}
	s := newSession(t, p, "")
	playLines(t, c, s.ID,
		"The blacksmith's daughter is named Ysolde, and she forges blades.",
		"I walk to the market and buy some bread.",
		"We travel north along the river road toward the mountains.",
		"I rest at the inn and clean my boots.")
	model, _ := activeModel(t, c)
	require.Equal(t, "hash-384-v2", model, "a fresh database starts on the default model")
	hash.Stop()

	emb := newFakeEmbeddings(t, 64)
	const metricsToken = "metrics-token-for-the-reembed-test"
	openai := testkit.Start(t, testkit.Options{Env: append(base, "EMBED_PROVIDER=openai", "EMBED_MODEL=fake-embed", "EMBED_DIM=64",
		"OPENAI_BASE_URL="+emb.URL+"/v1", "REEMBED_BATCH_SIZE=3", "METRICS_TOKEN="+metricsToken)})
	c2 := p.on(openai.URL)
	require.Eventually(t, func() bool { m, _ := activeModel(t, c2); return m == "openai:fake-embed@64" }, 60*time.Second, 200*time.Millisecond,
		"the re-embed job finishes and the new model is served")
	_, v := activeModel(t, c2)
	require.Equal(t, "completed", v.Jobs[0].Job.Status)
	require.Equal(t, "openai:fake-embed@64", v.Jobs[0].Job.Model)
	require.GreaterOrEqual(t, v.Jobs[0].Job.Done, 8, "every message (4 player, 4 DM) was re-embedded")
	require.GreaterOrEqual(t, emb.texts.Load(), int64(8))

	t.Run("a turn retrieves the planted fact with the new model", func(t *testing.T) {
		_, tr := postMessage(t, c2, s.ID, "What was the name of the blacksmith's daughter?")
		final := waitFinal(t, c2, tr.ID, 30*time.Second)
		require.Equal(t, "completed", final.Status, "%+v", final.Error)
		raw := rawTurn(t, c2, tr.ID)
		found := false
		for _, item := range raw["context"].([]any) {
			it := item.(map[string]any)
			require.Greater(t, it["tokens"], 0.0, "every context item has its token count")
			require.Contains(t, []string{"recent", "vector", "keyword", "hybrid"}, it["source"])
			if it["source"] == "hybrid" {
				require.Greater(t, it["vector_score"], 0.0)
				require.Greater(t, it["keyword_score"], 0.0)
			}
			if it["source"] != "recent" {
				found = found || messageContent(t, c2, s.ID, it["message_id"].(string)) == "The blacksmith's daughter is named Ysolde, and she forges blades."
			}
		}
		require.True(t, found, "the fact is in the context: %v", raw["context"])
	})
	t.Run("the memory search API is hybrid too", func(t *testing.T) {
		resp := c2.Do(t, "GET", "/api/sessions/"+s.ID+"/memory?q=Ysolde&k=3", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct {
			Results []struct {
				Message message `json:"message"`
				Score   float64 `json:"score"`
				Source  string  `json:"source"`
			} `json:"results"`
		}
		resp.JSON(t, &out)
		require.NotEmpty(t, out.Results)
		require.Contains(t, out.Results[0].Message.Content, "Ysolde")
		require.Equal(t, "hybrid", out.Results[0].Source)
		require.Greater(t, out.Results[0].Score, 0.0)
	})
	t.Run("the worker's metrics count the job's batches and show no task left running", func(t *testing.T) {
		m := metricsOf(t, openai.URL+"/metrics", metricsToken)
		require.GreaterOrEqual(t, m["conquest_reembed_batches_total"], 3.0, "8 messages or more in batches of 3")
		require.Eventually(t, func() bool {
			return metricsOf(t, openai.URL+"/metrics", metricsToken)["conquest_reembed_tasks_running"] == 0
		}, 10*time.Second, 50*time.Millisecond, "the finished task is no longer counted as running")
	})
	t.Run("players may not see the re-embed status", func(t *testing.T) {
		other := signUp(t, openai.URL)
		require.Equal(t, http.StatusForbidden, other.Client.Do(t, "GET", "/ops/reembed", nil).Status)
	})
}

// rememberedContents is what the session's memory search returns for q,
// best first: the messages' contents.
func rememberedContents(t *testing.T, c *testkit.Client, sessionID, q string, k int) []string {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/memory?q="+url.QueryEscape(q)+"&k="+strconv.Itoa(k), nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Results []struct {
			Message message `json:"message"`
		} `json:"results"`
	}
	resp.JSON(t, &out)
	var contents []string
	for _, r := range out.Results {
		contents = append(contents, r.Message.Content)
	}
	return contents
}

func TestWordNetFindsAFactAskedWithItsSynonymsAndBroaderWords(t *testing.T) {
	testkit.RequireStack(t)
	if os.Getenv("WORDNET_TABLE") == "" {
		t.Fatal("WORDNET_TABLE is unset: run the tests under `go run ./cmd/stack test`, which builds the table")
	}
	dbURL := testkit.PrivateDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	srv := testkit.Start(t, testkit.Options{Env: []string{"DATABASE_URL=" + dbURL, "RECENT_MESSAGES=2", "DM_WORD_DELAY=0s"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	fact := "Lord Aldric's seal shows a golden stag on a green field."
	playLines(t, p.Client, s.ID, fact,
		"I walk to the market and buy some bread.",
		"The fisherman's anchor went down in the storm.",
		"I rest at the inn and clean my boots.",
		"I ask the innkeeper about the weather.")
	// "nobleman" → "lord", "signet" → "seal": WordNet's words, not the
	// word vectors' neighbours ("nobility").
	// The fact and the offline DM's echo of it ("A memory surfaces: …")
	// are the two messages with "lord" and "seal".
	got := rememberedContents(t, p.Client, s.ID, "What is on the nobleman's signet?", 2)
	require.Len(t, got, 2)
	for _, c := range got {
		require.Contains(t, c, fact)
	}
}

// playLines plays one turn per line in the session, each to completion.
func playLines(t *testing.T, c *testkit.Client, sessionID string, lines ...string) {
	t.Helper()
	for _, line := range lines {
		_, tr := postMessage(t, c, sessionID, line)
		require.Equal(t, "completed", waitFinal(t, c, tr.ID, 30*time.Second).Status)
	}
}

func messageContent(t *testing.T, c *testkit.Client, sessionID, id string) string {
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/messages?limit=100", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	for _, m := range page.Messages {
		if m.ID == id {
			return m.Content
		}
	}
	return ""
}

func TestMovingToTheWordVectorModelFindsParaphrasesAndCorrections(t *testing.T) {
	testkit.RequireStack(t)
	dbURL := testkit.PrivateDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	base := []string{"DATABASE_URL=" + dbURL, "RECENT_MESSAGES=2", "DM_WORD_DELAY=0s"}
	hash := testkit.Start(t, testkit.Options{Env: base})
	p := signUp(t, hash.URL)
	adminCLI(t, "grant", p.Email) // to read the served model
	s := newSession(t, p, "")
	playLines(t, p.Client, s.ID,
		"The healer works beside the temple.",
		"The fisherman's anchor went down in the storm.",
		"I walk to the market and buy some bread.",
		"The healer moved her shop down to the docks.",
		"I rest at the inn and clean my boots.")
	hash.Stop()

	wordvec := testkit.Start(t, testkit.Options{Env: append(base, "EMBED_PROVIDER=wordvec", "EMBED_MODEL=glove-100-sif+hash-384-v2", "EMBED_DIM=484")})
	c := p.on(wordvec.URL)
	search := func(t *testing.T, q string) []string { return rememberedContents(t, c, s.ID, q, 4) }
	require.Eventually(t, func() bool { m, _ := activeModel(t, c); return m == "wordvec:glove-100-sif+hash-384-v2" }, 60*time.Second, 200*time.Millisecond,
		"the re-embed job moves every message to the word-vector model, which is then served")

	t.Run("a question sharing no word with the fact finds it", func(t *testing.T) {
		require.Contains(t, search(t, "What did the sailor lose?"), "The fisherman's anchor went down in the storm.")
	})
	t.Run("the corrected fact ranks above the stale one", func(t *testing.T) {
		got := search(t, "Where is the healer's shop?")
		newer, stale := slices.Index(got, "The healer moved her shop down to the docks."), slices.Index(got, "The healer works beside the temple.")
		require.GreaterOrEqual(t, newer, 0, "%q", got)
		require.True(t, stale < 0 || newer < stale, "%q", got)
	})
}
