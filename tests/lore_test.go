package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// loreContext is a turn's context as a client reads it, lore fields included.
type loreContext struct {
	Context []struct {
		MessageID string `json:"message_id"`
		Source    string `json:"source"`
		LoreID    string `json:"lore_id"`
		Title     string `json:"title"`
		Matched   string `json:"matched"`
		Always    bool   `json:"always"`
		// The rolling summary's item (tests/summary_test.go).
		Content          string `json:"content"`
		ThroughMessageID string `json:"through_message_id"`
		Tokens           int    `json:"tokens"`
	} `json:"context"`
}

func turnLore(t *testing.T, c *testkit.Client, turnID string) loreContext {
	t.Helper()
	resp := c.Do(t, "GET", "/api/turns/"+turnID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Turn loreContext }
	resp.JSON(t, &out)
	return out.Turn
}

func TestLoreEntersTheTurnWhoseMessagesMentionItsKey(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")

	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/lore", map[string]any{
		"title": "Bram the smith", "keys": []string{"Bram", "the smith"},
		"content": "Bram is the village smith; he owes the thieves' guild forty crowns.",
	})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var created struct {
		Lore struct {
			ID      string   `json:"id"`
			Keys    []string `json:"keys"`
			Enabled bool     `json:"enabled"`
		}
		Warnings []map[string]string
	}
	resp.JSON(t, &created)
	require.True(t, created.Lore.Enabled, "entries are enabled unless said otherwise")
	require.Empty(t, created.Warnings)

	// A turn that does not mention Bram has no lore in its context.
	_, quiet := postMessage(t, p.Client, s.ID, "I walk down to the river and watch the boats.")
	require.Equal(t, "completed", waitFinal(t, p.Client, quiet.ID, 30*time.Second).Status)
	for _, c := range turnLore(t, p.Client, quiet.ID).Context {
		require.NotEqual(t, "lore", c.Source, "no key of the entry occurs in the turn's messages")
	}

	// A turn that does has the entry, with the key that matched.
	_, loud := postMessage(t, p.Client, s.ID, "I ask bram about the missing horseshoes.")
	require.Equal(t, "completed", waitFinal(t, p.Client, loud.ID, 30*time.Second).Status)
	var found bool
	for _, c := range turnLore(t, p.Client, loud.ID).Context {
		if c.Source == "lore" {
			found = true
			require.Equal(t, created.Lore.ID, c.LoreID)
			require.Equal(t, "Bram", c.Matched, "matched names the key as written")
			require.Equal(t, "Bram the smith", c.Title)
			require.Empty(t, c.MessageID, "a lore item names no message")
		}
	}
	require.True(t, found, "the Bram entry is in the context of a turn mentioning Bram")

	// Disabled, it stays out.
	resp = p.Client.Do(t, "PATCH", "/api/lore/"+created.Lore.ID, map[string]any{"enabled": false})
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	_, off := postMessage(t, p.Client, s.ID, "Bram, the horseshoes?")
	require.Equal(t, "completed", waitFinal(t, p.Client, off.ID, 30*time.Second).Status)
	for _, c := range turnLore(t, p.Client, off.ID).Context {
		require.NotEqual(t, "lore", c.Source, "a disabled entry never enters the prompt")
	}
}

func TestLoreRoutes(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	owner := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)
	s := newSession(t, owner, "")

	resp := owner.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/lore", map[string]any{
		"title": "Al", "keys": []string{"Al", "the"}, "content": "Al keeps the inn.",
	})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var created struct {
		Lore     struct{ ID string }
		Warnings []struct{ Key, Code string }
	}
	resp.JSON(t, &created)
	codes := map[string]string{}
	for _, w := range created.Warnings {
		codes[w.Key] = w.Code
	}
	require.Equal(t, map[string]string{"Al": "short_key", "the": "common_word"}, codes, "keys likely to misfire come back as warnings")
	id := created.Lore.ID

	t.Run("the owner lists, reads, edits and deletes entries", func(t *testing.T) {
		resp := owner.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/lore", nil)
		require.Equal(t, http.StatusOK, resp.Status)
		var list struct{ Lore []struct{ ID string } }
		resp.JSON(t, &list)
		require.Len(t, list.Lore, 1)
		require.Equal(t, id, list.Lore[0].ID)

		resp = owner.Client.Do(t, "PATCH", "/api/lore/"+id, map[string]any{"keys": []string{"Aldric"}, "title": "Aldric"})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var got struct {
			Lore struct {
				Title string
				Keys  []string
			}
			Warnings []any
		}
		resp.JSON(t, &got)
		require.Equal(t, []string{"Aldric"}, got.Lore.Keys)
		require.Empty(t, got.Warnings)

		resp = owner.Client.Do(t, "GET", "/api/lore/"+id, nil)
		require.Equal(t, http.StatusOK, resp.Status)
		resp.JSON(t, &got)
		require.Equal(t, "Aldric", got.Lore.Title)
	})

	t.Run("a stranger gets 404 on every route", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/api/sessions/" + s.ID + "/lore"},
			{"POST", "/api/sessions/" + s.ID + "/lore"},
			{"GET", "/api/lore/" + id},
			{"PATCH", "/api/lore/" + id},
			{"DELETE", "/api/lore/" + id},
		} {
			resp := stranger.Client.Do(t, r.method, r.path, map[string]any{"title": "x", "keys": []string{"xyz"}, "content": "y"})
			require.Equal(t, http.StatusNotFound, resp.Status, "%s %s: %s", r.method, r.path, resp.Body)
		}
	})

	t.Run("bad input is refused naming the field", func(t *testing.T) {
		for name, tc := range map[string]struct {
			body  map[string]any
			field string
		}{
			"a one-letter key":       {map[string]any{"keys": []string{"x"}, "content": "c"}, "keys[0]"},
			"no keys and not always": {map[string]any{"keys": []string{}, "content": "c"}, "keys"},
			"an over-long content":   {map[string]any{"keys": []string{"Bram"}, "content": strings.Repeat("a", 4001)}, "content"},
			"keys of the wrong type": {map[string]any{"keys": "Bram", "content": "c"}, "keys"},
		} {
			resp := owner.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/lore", tc.body)
			require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", name, resp.Body)
			require.Contains(t, string(resp.Body), tc.field, name)
		}
		resp := owner.Client.Do(t, "GET", "/api/lore/not-a-uuid", nil)
		require.Equal(t, http.StatusBadRequest, resp.Status)
	})

	t.Run("deleting twice is 404 the second time", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, owner.Client.Do(t, "DELETE", "/api/lore/"+id, nil).Status)
		require.Equal(t, http.StatusNotFound, owner.Client.Do(t, "DELETE", "/api/lore/"+id, nil).Status)
	})
}
