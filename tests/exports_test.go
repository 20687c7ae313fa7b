package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

type exportJSON struct {
	ID          string
	Status      string
	DownloadURL *string `json:"download_url"`
	Error       *string
}

func waitExport(t *testing.T, p player, id string) exportJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp := p.Client.Do(t, "GET", "/api/exports/"+id, nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct{ Export exportJSON }
		resp.JSON(t, &out)
		if out.Export.Status != "pending" {
			return out.Export
		}
		require.True(t, time.Now().Before(deadline), "export %s still pending", id)
		time.Sleep(200 * time.Millisecond)
	}
}

func requestExport(t *testing.T, p player, sessionID, format string) exportJSON {
	t.Helper()
	resp := p.Client.Do(t, "POST", "/api/sessions/"+sessionID+"/exports", map[string]any{"format": format})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var out struct{ Export exportJSON }
	resp.JSON(t, &out)
	require.Equal(t, "pending", out.Export.Status)
	return waitExport(t, p, out.Export.ID)
}

type pagedMessages struct {
	Messages []struct{ Role, Content string }
}

func TestExportDownloadImportRoundTrip(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	p := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)
	s := newSession(t, p, "")
	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/lore", map[string]any{"title": "Bram", "keys": []string{"Bram"}, "content": "The smith."})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	for i := range 3 {
		_, tr := postMessage(t, p.Client, s.ID, fmt.Sprintf("Turn %d: I look for Bram.", i))
		require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 30*time.Second).Status)
	}
	original := p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages?limit=100", nil)
	require.Equal(t, http.StatusOK, original.Status)
	var before pagedMessages
	original.JSON(t, &before)
	require.Len(t, before.Messages, 6)

	t.Run("a stranger can neither export nor read the export", func(t *testing.T) {
		resp := stranger.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/exports", map[string]any{"format": "json"})
		require.Equal(t, http.StatusNotFound, resp.Status)
	})
	t.Run("bad input is refused naming the field", func(t *testing.T) {
		requireInvalidField(t, p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/exports", map[string]any{"format": "pdf"}), "format")
		requireInvalidField(t, p.Client.Do(t, "POST", "/api/sessions/import", map[string]any{"asset_id": "x"}), "asset_id")
	})

	md := requestExport(t, p, s.ID, "markdown")
	require.Equal(t, "ready", md.Status, "%v", md.Error)
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", "/api/exports/"+md.ID, nil).Status)
	_, body := download(t, *md.DownloadURL)
	require.Contains(t, string(body), "Turn 2: I look for Bram.")

	js := requestExport(t, p, s.ID, "json")
	require.Equal(t, "ready", js.Status, "%v", js.Error)
	dl, doc := download(t, *js.DownloadURL)
	require.Equal(t, http.StatusOK, dl.StatusCode)
	require.True(t, strings.HasPrefix(strings.TrimSpace(string(doc)), "{"))

	asset := uploadReady(t, p, "export", "application/json", "session.json", doc)
	resp = p.Client.Do(t, "POST", "/api/sessions/import", map[string]any{"asset_id": asset})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var imported struct{ Session session }
	resp.JSON(t, &imported)
	require.NotEqual(t, s.ID, imported.Session.ID)
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", "/api/sessions/"+imported.Session.ID, nil).Status)

	got := p.Client.Do(t, "GET", "/api/sessions/"+imported.Session.ID+"/messages?limit=100", nil)
	require.Equal(t, http.StatusOK, got.Status)
	var after pagedMessages
	got.JSON(t, &after)
	require.Equal(t, before.Messages, after.Messages, "same count, order, roles and contents")
	require.Len(t, sessionLore(t, p, imported.Session.ID).Lore, 1, "the lore comes along")

	// The imported messages are embedded again by a task: memory search by
	// meaning or by keyword finds them.
	require.Eventually(t, func() bool {
		resp := p.Client.Do(t, "GET", "/api/sessions/"+imported.Session.ID+"/memory?q=Turn+1+Bram&k=3", nil)
		return resp.Status == http.StatusOK && strings.Contains(string(resp.Body), "Turn 1")
	}, 30*time.Second, 300*time.Millisecond)
}
