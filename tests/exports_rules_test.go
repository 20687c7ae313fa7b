package tests

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// An export (format version 2) carries the session's rolls in the shape of
// the API's roll and the sheet changes in the shape of the rules engine's
// change, each attached to its message; an import says it does not restore
// them, and why.
func TestExportCarriesRollsAndSheetChanges(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"abilities": map[string]int{"str": 16, "dex": 12},
		"hp":        map[string]int{"current": 4, "max": 30},
		"inventory": []any{"healing potion", "longsword"},
	})
	s := newSession(t, p, charID)
	_, drink := postMessage(t, p.Client, s.ID, "I drink my healing potion.")
	require.Equal(t, "completed", waitFinal(t, p.Client, drink.ID, 30*time.Second).Status)
	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/rolls", map[string]any{"notation": "2d20kh1+3", "reason": "stealth"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	turn := getRuledTurn(t, p.Client, drink.ID)
	require.NotEmpty(t, turn.Rolls)
	require.NotEmpty(t, turn.Changes)

	ex := requestExport(t, p, s.ID, "json")
	require.Equal(t, "ready", ex.Status, "%v", ex.Error)
	_, body := download(t, *ex.DownloadURL)
	var doc struct {
		Version  int
		Messages []struct{ ID, Role, Content string }
		Rolls    []struct {
			MessageID string `json:"message_id"`
			Actor     string
			Notation  string
			Reason    string
			Dice      []struct{ Sides, Value int }
			Modifier  int
			Total     int
			Index     int
		}
		SheetChanges []struct {
			MessageID string `json:"message_id"`
			Character string
			Path      string
			From, To  int
			Reason    string
		} `json:"sheet_changes"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Equal(t, 2, doc.Version)
	messageRole := map[string]string{}
	for _, m := range doc.Messages {
		messageRole[m.ID] = m.Role
	}
	require.Len(t, doc.Rolls, len(turn.Rolls)+1, "the turn's rolls and the player's own")
	first := doc.Rolls[0]
	require.Equal(t, "dm", first.Actor)
	require.Equal(t, turn.Rolls[0].Notation, first.Notation)
	require.Equal(t, turn.Rolls[0].Total, first.Total)
	require.Equal(t, len(turn.Rolls[0].Dice), len(first.Dice))
	require.Equal(t, turn.Rolls[0].Dice[0].Sides, first.Dice[0].Sides)
	require.Equal(t, "dm", messageRole[first.MessageID], "a turn's roll belongs to the DM's reply")
	own := doc.Rolls[len(doc.Rolls)-1]
	require.Equal(t, "player", own.Actor)
	require.Equal(t, "2d20kh1+3", own.Notation)
	require.Equal(t, "stealth", own.Reason)
	require.Len(t, own.Dice, 2)
	require.Equal(t, "system", messageRole[own.MessageID], "a player's roll belongs to the message that announced it")

	require.Len(t, doc.SheetChanges, len(turn.Changes))
	for i, c := range doc.SheetChanges {
		require.Equal(t, turn.Changes[i].Path, c.Path)
		require.Equal(t, turn.Changes[i].From, c.From)
		require.Equal(t, turn.Changes[i].To, c.To)
		require.Equal(t, "dm", messageRole[c.MessageID])
		require.NotEmpty(t, c.Character)
	}

	md := requestExport(t, p, s.ID, "markdown")
	require.Equal(t, "ready", md.Status, "%v", md.Error)
	_, text := download(t, *md.DownloadURL)
	require.Contains(t, string(text), "`2d20kh1+3`", "the transcript lists the rolls")

	asset := uploadReady(t, p, "export", "application/json", "session.json", body)
	resp = p.Client.Do(t, "POST", "/api/sessions/import", map[string]any{"asset_id": asset})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var imported struct {
		Session session
		Skipped []struct {
			What   string
			Count  int
			Reason string
		}
	}
	resp.JSON(t, &imported)
	skipped := map[string]int{}
	for _, s := range imported.Skipped {
		skipped[s.What] = s.Count
		require.NotEmpty(t, s.Reason)
	}
	require.Equal(t, map[string]int{"rolls": len(doc.Rolls), "sheet_changes": len(doc.SheetChanges)}, skipped,
		"the import says what it did not restore")
	require.Len(t, allMessageIDs(t, p.Client, imported.Session.ID), len(doc.Messages))
}

// After an import the client polls how far the embedding of the imported
// messages has got, until every one is remembered.
func TestImportProgressCanBePolled(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	p := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)
	id := importSession(t, p, longExport(150, false))
	type progress struct {
		Status          string
		Embedded, Total int
		Model           string
	}
	read := func() progress {
		resp := p.Client.Do(t, "GET", "/api/sessions/"+id+"/import", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct{ Import progress }
		resp.JSON(t, &out)
		return out.Import
	}
	first := read()
	require.Equal(t, 150, first.Total)
	require.NotEmpty(t, first.Model)
	require.Contains(t, []string{"embedding", "ready"}, first.Status)
	seen := []int{first.Embedded}
	deadline := time.Now().Add(60 * time.Second)
	for {
		pr := read()
		require.GreaterOrEqual(t, pr.Embedded, seen[len(seen)-1], "progress never goes back")
		seen = append(seen, pr.Embedded)
		if pr.Status == "ready" {
			require.Equal(t, 150, pr.Embedded)
			break
		}
		require.Less(t, pr.Embedded, pr.Total, "embedding until every message has its vector")
		require.True(t, time.Now().Before(deadline), "the import's embedding did not finish: %+v", pr)
		time.Sleep(100 * time.Millisecond)
	}
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", "/api/sessions/"+id+"/import", nil).Status)
	require.Equal(t, http.StatusBadRequest, p.Client.Do(t, "GET", "/api/sessions/not-a-uuid/import", nil).Status)
}
