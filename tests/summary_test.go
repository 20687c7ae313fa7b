package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

type summaryJSON struct {
	Content          string  `json:"content"`
	ThroughMessageID *string `json:"through_message_id"`
	UpdatedAt        string  `json:"updated_at"`
	Edited           bool    `json:"edited"`
}

func getSummary(t *testing.T, c *testkit.Client, sessionID string) *summaryJSON {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/summary", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Summary *summaryJSON }
	resp.JSON(t, &out)
	return out.Summary
}

// waitSummary waits until the session's summary satisfies ok.
func waitSummary(t *testing.T, c *testkit.Client, sessionID string, ok func(*summaryJSON) bool) *summaryJSON {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		s := getSummary(t, c, sessionID)
		if s != nil && ok(s) {
			return s
		}
		require.True(t, time.Now().Before(deadline), "the summary task did not write the expected summary: %+v", s)
		time.Sleep(300 * time.Millisecond)
	}
}

// longExport is an export of n messages of chatter, alternating player
// and DM, with three facts planted early on; marked, each message begins
// with a unique marker ("«k»") a test can look for in a prompt.
func longExport(n int, marked bool) []byte {
	facts := map[int]string{
		21:  "Ysolde hid the silver key under the old mill wheel.",
		80:  "I promise the Duke of Harrow 300 gold crowns for the map.",
		141: "Bram the smith was poisoned by Captain Vell at the Iron Gate.",
	}
	var msgs []map[string]any
	at := time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)
	for i := range n {
		role, content := "player", fmt.Sprintf("«%d» I wait by the fire and listen to the rain.", i)
		if i%2 == 1 {
			role, content = "dm", fmt.Sprintf("«%d» The fire crackles. The night grows colder and the rain goes on.", i)
		}
		if f, ok := facts[i]; ok {
			content = fmt.Sprintf("«%d» %s", i, f)
		}
		if !marked {
			_, content, _ = strings.Cut(content, " ")
		}
		m := map[string]any{"id": fmt.Sprintf("m%d", i), "role": role, "content": content, "visibility": "public",
			"created_at": at.Add(time.Duration(i) * time.Minute)}
		if role == "player" {
			m["author"] = "Ana"
		}
		msgs = append(msgs, m)
	}
	doc, _ := json.Marshal(map[string]any{
		"format": "brightdawn.session", "version": 1, "exported_at": at,
		"session":  map[string]any{"id": "s1", "title": "A long night at the inn", "created_at": at},
		"messages": msgs, "rolls": []any{}, "sheet_changes": []any{}, "lore": []any{}, "summary": nil,
	})
	return doc
}

func importSession(t *testing.T, p player, doc []byte) string {
	t.Helper()
	asset := uploadReady(t, p, "export", "application/json", "long.json", doc)
	resp := p.Client.Do(t, "POST", "/api/sessions/import", map[string]any{"asset_id": asset})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out struct{ Session session }
	resp.JSON(t, &out)
	return out.Session.ID
}

// allMessageIDs pages through a session's messages, oldest first.
func allMessageIDs(t *testing.T, c *testkit.Client, sessionID string) []string {
	t.Helper()
	var ids []string
	before := ""
	for {
		path := "/api/sessions/" + sessionID + "/messages?limit=100"
		if before != "" {
			path += "&before=" + before
		}
		resp := c.Do(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var page struct {
			Messages   []struct{ ID string }
			NextBefore *string `json:"next_before"`
		}
		resp.JSON(t, &page)
		var got []string
		for _, m := range page.Messages {
			got = append(got, m.ID)
		}
		ids = append(got, ids...)
		if page.NextBefore == nil || *page.NextBefore == "" || len(page.Messages) == 0 {
			return ids
		}
		before = *page.NextBefore
	}
}

// A 300-message session with a network DM: the summary task asks the
// model (over the OpenAI wire format) for the summary, which then opens
// every prompt, while the prompt carries only a window of the messages.
func TestRollingSummaryOfALongSessionWithANetworkModel(t *testing.T) {
	const marker = "Summary: Ana promised the Duke of Harrow 300 crowns; Captain Vell poisoned Bram."
	chat := newFakeChat(t, func(w http.ResponseWriter, r *http.Request) bool {
		return streamChunks(w, r, []string{"The innkeeper ", "nods."}, 0)
	})
	chat.reply = func(w http.ResponseWriter, r *http.Request) bool {
		chat.mu.Lock()
		req := chat.requests[len(chat.requests)-1]
		chat.mu.Unlock()
		if strings.Contains(fmt.Sprint(req["messages"]), "running summary") {
			return streamChunks(w, r, strings.SplitAfter(marker, " "), 0)
		}
		return streamChunks(w, r, []string{"The innkeeper ", "nods."}, 0)
	}
	srv := testkit.Start(t, testkit.Options{Env: openAIDMEnv(chat.URL)})
	p := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)

	id := importSession(t, p, longExport(300, true))
	ids := allMessageIDs(t, p.Client, id)
	require.Len(t, ids, 300)
	// It covers everything older than the recent window (RECENT_MESSAGES=12).
	sum := waitSummary(t, p.Client, id, func(s *summaryJSON) bool { return s.ThroughMessageID != nil && *s.ThroughMessageID == ids[300-12-1] })
	require.Equal(t, marker, sum.Content, "the model's summary is stored as it wrote it")
	require.False(t, sum.Edited)
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", "/api/sessions/"+id+"/summary", nil).Status)

	// The model was asked with the transcript: the planted facts went in.
	var asked []string
	chat.mu.Lock()
	for _, r := range chat.requests {
		if s := fmt.Sprint(r["messages"]); strings.Contains(s, "running summary") {
			asked = append(asked, s)
		}
	}
	chat.mu.Unlock()
	require.NotEmpty(t, asked)
	require.Contains(t, strings.Join(asked, "\n"), "Tester: «80» I promise the Duke of Harrow 300 gold crowns for the map.")

	_, tr := postMessage(t, p.Client, id, "I ask the innkeeper what became of Bram.")
	require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 60*time.Second).Status)
	msgs := chat.last()["messages"].([]any)
	system := msgs[0].(map[string]any)["content"].(string)
	require.Contains(t, system, "The story so far")
	require.Contains(t, system, marker, "the summary is in the prompt")
	whole := fmt.Sprint(msgs)
	inPrompt := 0
	for i := range 300 {
		if strings.Contains(whole, fmt.Sprintf("«%d»", i)) {
			inPrompt++
		}
	}
	require.Less(t, inPrompt, 40, "the prompt carries a window of the history (recent + memory), not all 300 messages")

	var found bool
	total := 0
	for _, c := range turnLore(t, p.Client, tr.ID).Context {
		total += c.Tokens
		if c.Source == "summary" {
			found = true
			require.Equal(t, marker, c.Content)
			require.Equal(t, *sum.ThroughMessageID, c.ThroughMessageID)
			require.Empty(t, c.MessageID, "the summary names no message of its own")
		}
	}
	require.True(t, found, "the turn's context lists the summary")
	require.LessOrEqual(t, total, 3000, "the context stays within PROMPT_TOKEN_BUDGET")
}

// With the offline DM the summary is extractive: the planted facts are
// picked out of 300 messages of chatter. The owner's edit stays at the
// head of the summary as play goes on.
func TestRollingSummaryOfALongSessionOffline(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	p := signUp(t, srv.URL)
	id := importSession(t, p, longExport(300, false))
	ids := allMessageIDs(t, p.Client, id)
	sum := waitSummary(t, p.Client, id, func(s *summaryJSON) bool { return s.ThroughMessageID != nil && *s.ThroughMessageID == ids[300-12-1] })
	for _, fact := range []string{"Ysolde hid the silver key under the old mill wheel.", "Duke of Harrow 300 gold crowns",
		"Bram the smith was poisoned by Captain Vell at the Iron Gate."} {
		require.Contains(t, sum.Content, fact, "the extractive summary keeps the planted facts:\n%s", sum.Content)
	}
	require.Contains(t, sum.Content, "Tester: I promise", "player sentences are attributed (to the importer, whose messages they became)")
	require.Less(t, strings.Count(sum.Content, "The fire crackles"), 2, "chatter said 150 times is said at most once")

	_, tr := postMessage(t, p.Client, id, "I ask about the silver key.")
	require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 60*time.Second).Status)
	var found bool
	for _, c := range turnLore(t, p.Client, tr.ID).Context {
		found = found || c.Source == "summary" && c.Content == sum.Content
	}
	require.True(t, found, "the turn's context lists the summary")

	t.Run("the owner's edit stays at the head as the summary rolls on", func(t *testing.T) {
		const note = "Ana is secretly the Duke's daughter."
		resp := p.Client.Do(t, "PUT", "/api/sessions/"+id+"/summary", map[string]any{"content": note})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var put struct{ Summary summaryJSON }
		resp.JSON(t, &put)
		require.Equal(t, note, put.Summary.Content)
		require.True(t, put.Summary.Edited)
		require.Equal(t, sum.ThroughMessageID, put.Summary.ThroughMessageID, "an edit does not change what it covers")
		for i := range 6 {
			_, tr := postMessage(t, p.Client, id, fmt.Sprintf("I tell Mirela the ferrywoman about the Duke's letter number %d.", i))
			require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 60*time.Second).Status)
		}
		rolled := waitSummary(t, p.Client, id, func(s *summaryJSON) bool { return *s.ThroughMessageID != *sum.ThroughMessageID })
		require.True(t, strings.HasPrefix(rolled.Content, note+"\n"), "the owner's text heads the summary:\n%s", rolled.Content)
		require.True(t, rolled.Edited)
		require.Greater(t, len(rolled.Content), len(note), "and the task added to it")
	})
}

func TestSummaryRoutes(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	owner := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)
	s := newSession(t, owner, "")

	t.Run("a new session has no summary", func(t *testing.T) {
		require.Nil(t, getSummary(t, owner.Client, s.ID))
	})
	t.Run("the owner writes and removes it", func(t *testing.T) {
		resp := owner.Client.Do(t, "PUT", "/api/sessions/"+s.ID+"/summary", map[string]any{"content": "  The party met at the Red Lantern.\n"})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		got := getSummary(t, owner.Client, s.ID)
		require.NotNil(t, got)
		require.Equal(t, "The party met at the Red Lantern.", got.Content)
		require.Nil(t, got.ThroughMessageID, "it covers no message yet")
		require.True(t, got.Edited)

		resp = owner.Client.Do(t, "PUT", "/api/sessions/"+s.ID+"/summary", map[string]any{"content": ""})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		require.JSONEq(t, `{"summary":null}`, string(resp.Body))
		require.Nil(t, getSummary(t, owner.Client, s.ID))
	})
	t.Run("a stranger gets 404 on both routes", func(t *testing.T) {
		for _, method := range []string{"GET", "PUT"} {
			resp := stranger.Client.Do(t, method, "/api/sessions/"+s.ID+"/summary", map[string]any{"content": "mine now"})
			require.Equal(t, http.StatusNotFound, resp.Status, "%s: %s", method, resp.Body)
		}
		require.Nil(t, getSummary(t, owner.Client, s.ID), "the stranger's PUT changed nothing")
	})
	t.Run("bad input is refused naming the field", func(t *testing.T) {
		path := "/api/sessions/" + s.ID + "/summary"
		requireInvalidField(t, owner.Client.Do(t, "PUT", path, map[string]any{}), "content")
		requireInvalidField(t, owner.Client.Do(t, "PUT", path, map[string]any{"content": 42}), "content")
		requireInvalidField(t, owner.Client.Do(t, "PUT", path, map[string]any{"content": strings.Repeat("word ", 700)}), "content")
		requireInvalidField(t, owner.Client.Do(t, "PUT", path, map[string]any{"content": strings.Repeat("a", 8001)}), "content")
		requireInvalidField(t, owner.Client.Do(t, "PUT", path, map[string]any{"content": "bell\x07"}), "content")
		resp := owner.Client.Do(t, "GET", "/api/sessions/not-a-uuid/summary", nil)
		require.Equal(t, http.StatusBadRequest, resp.Status)
	})
}
