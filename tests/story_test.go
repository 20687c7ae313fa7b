package tests

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// Story control (docs/STORY.md): undo, regenerate/select and fork, with
// the sheet and the memory following the story.

type alternative struct {
	ID       string `json:"id"`
	TurnID   string `json:"turn_id"`
	Content  string `json:"content"`
	Selected bool   `json:"selected"`
}

func alternativesOf(t *testing.T, c *testkit.Client, turnID string) []alternative {
	t.Helper()
	resp := c.Do(t, "GET", "/api/turns/"+turnID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Turn struct{ Alternatives []alternative }
	}
	resp.JSON(t, &out)
	return out.Turn.Alternatives
}

// play posts a message and waits for its turn to complete.
func play(t *testing.T, c *testkit.Client, sessionID, content string) (message, turn) {
	t.Helper()
	m, tr := postMessage(t, c, sessionID, content)
	done := waitFinal(t, c, tr.ID, 60*time.Second)
	require.Equal(t, "completed", done.Status, "turn %s", tr.ID)
	return m, done
}

func history(t *testing.T, c *testkit.Client, sessionID string) []message {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/messages?limit=100", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	return page.Messages
}

func memoryIDs(t *testing.T, c *testkit.Client, sessionID, q string) map[string]string {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/memory?k=50&q="+strings.ReplaceAll(q, " ", "+"), nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Results []struct{ Message message }
	}
	resp.JSON(t, &out)
	ids := map[string]string{}
	for _, r := range out.Results {
		ids[r.Message.ID] = r.Message.Content
	}
	return ids
}

func regenerate(t *testing.T, c *testkit.Client, turnID string) turn {
	t.Helper()
	resp := c.Do(t, "POST", "/api/turns/"+turnID+"/regenerate", nil)
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var out struct{ Turn turn }
	resp.JSON(t, &out)
	return out.Turn
}

// A potion drunk in turn 3 and undone: the potion is back, HP as before,
// the turn, its messages, rolls, changes and memory gone; a turn in
// flight blocks undo with 409 (it is not cancelled).
func TestUndoPutsThePotionBack(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=20ms"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"hp": map[string]int{"current": 4, "max": 30}, "gold": 3,
		"inventory": []any{"healing potion", "longsword"},
	})
	s := newSession(t, p, charID)
	play(t, p.Client, s.ID, "I step into the tavern and look around.")
	play(t, p.Client, s.ID, "I greet the innkeeper.")
	before := sheetOf(t, p.Client, charID)
	require.Equal(t, 1, before.qty("healing potion"))
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")

	pm, drink := play(t, p.Client, s.ID, "I drink my healing potion.")
	drunk := getRuledTurn(t, p.Client, drink.ID)
	require.NotEmpty(t, drunk.Changes, "the engine applied the potion")
	require.Zero(t, sheetOf(t, p.Client, charID).qty("healing potion"))
	require.Len(t, history(t, p.Client, s.ID), 6)

	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/undo", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var undone struct{ Removed []string }
	resp.JSON(t, &undone)
	require.ElementsMatch(t, []string{pm.ID, *drink.DMMessageID}, undone.Removed)

	requireSameSheet(t, before, sheetOf(t, p.Client, charID), "potion back, HP as before")
	msgs := history(t, p.Client, s.ID)
	require.Len(t, msgs, 4)
	for _, m := range msgs {
		require.NotContains(t, undone.Removed, m.ID)
	}
	require.Equal(t, http.StatusNotFound, p.Client.Do(t, "GET", "/api/turns/"+drink.ID, nil).Status, "the turn and its rolls are gone")
	for id := range memoryIDs(t, p.Client, s.ID, "drink healing potion") {
		require.NotContains(t, undone.Removed, id, "memory forgets the undone turn")
	}
	resp = p.Client.Do(t, "GET", "/api/characters/"+charID+"/history?limit=100", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.NotContains(t, string(resp.Body), drink.ID, "the turn's changes left the history")

	deleted := map[string]bool{}
	ev.until(t, 10*time.Second, func(e sseEvent) bool {
		if e.Type == "message.deleted" {
			deleted[fmt.Sprint(e.Data["message_id"])] = true
		}
		return len(deleted) == 2
	})
	require.True(t, deleted[pm.ID] && deleted[*drink.DMMessageID])

	// The potion can be drunk again, as if the first time never happened.
	_, again := play(t, p.Client, s.ID, "I drink my healing potion.")
	require.NotEmpty(t, getRuledTurn(t, p.Client, again.ID).Changes)

	t.Run("a turn in flight blocks undo with 409 and is not cancelled", func(t *testing.T) {
		_, tr := postMessage(t, p.Client, s.ID, "I tell the innkeeper a very long story about my travels.")
		resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/undo", nil)
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
		require.Equal(t, "conflict", resp.ErrorCode())
		require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 60*time.Second).Status)
	})
}

// Editing the latest message: the exchange goes (reply, changes, memory)
// and the new text is answered as a new turn; bad content undoes nothing;
// a turn in flight is 409; a stranger gets 404.
func TestEditTheLatestMessage(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=50ms"}})
	p := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)
	s := newSession(t, p, "")
	play(t, p.Client, s.ID, "I step into the tavern.")
	old, oldTurn := play(t, p.Client, s.ID, "I order a mug of ale from the grumpy dwarf.")

	path := "/api/sessions/" + s.ID + "/edit"
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "POST", path, map[string]any{"content": "mine now"}).Status)
	for _, body := range []map[string]any{{"content": ""}, {"content": strings.Repeat("x", 8001)}, {}} {
		resp := p.Client.Do(t, "POST", path, body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%v: %s", body, resp.Body)
		require.Contains(t, string(resp.Body), "content")
	}
	require.Len(t, history(t, p.Client, s.ID), 4, "refused edits undo nothing")

	resp := p.Client.Do(t, "POST", path, map[string]any{"content": "I order a cup of tea from the cheerful halfling."})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var ed struct {
		Removed []string
		Message message
		Turn    turn
	}
	resp.JSON(t, &ed)
	require.ElementsMatch(t, []string{old.ID, *oldTurn.DMMessageID}, ed.Removed)
	require.Equal(t, "I order a cup of tea from the cheerful halfling.", ed.Message.Content)
	require.Equal(t, http.StatusConflict, p.Client.Do(t, "POST", path, map[string]any{"content": "again"}).Status, "a turn in flight")
	done := waitFinal(t, p.Client, ed.Turn.ID, 60*time.Second)
	require.Equal(t, "completed", done.Status)

	msgs := history(t, p.Client, s.ID)
	require.Len(t, msgs, 4)
	require.Equal(t, ed.Message.ID, msgs[2].ID)
	for _, m := range msgs {
		require.NotContains(t, m.Content, "grumpy dwarf", "the edited message is gone")
	}
	require.Empty(t, findContent(memoryIDs(t, p.Client, s.ID, "grumpy dwarf ale"), "grumpy"), "and so is its memory")
}

// A fact planted in turn 4; a fork at turn 2 never recalls it, the
// original still does; the fork's sheet is the one of turn 2.
func TestForkKeepsMemoryOnItsBranch(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0s"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"healing potion"},
	})
	s := newSession(t, p, charID)
	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/lore", map[string]any{
		"title": "The keep", "keys": []string{"keep"}, "content": "The keep is sunken.", "always": true})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	play(t, p.Client, s.ID, "I walk to the old keep.")
	_, t2 := play(t, p.Client, s.ID, "I knock on the gate of the keep.")
	play(t, p.Client, s.ID, "I drink my healing potion.")
	play(t, p.Client, s.ID, "The guard whispers that the password is zanzibarquill.")
	require.NotEmpty(t, findContent(memoryIDs(t, p.Client, s.ID, "zanzibarquill password"), "zanzibarquill"))

	resp = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/fork", map[string]any{"at_message_id": *t2.DMMessageID, "title": "What if"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var forked struct {
		Session struct {
			session
			ForkedFrom string `json:"forked_from"`
		}
	}
	resp.JSON(t, &forked)
	f := forked.Session
	require.Equal(t, s.ID, f.ForkedFrom)
	require.Equal(t, "What if", f.Title)
	require.NotNil(t, f.CharacterID)
	require.NotEqual(t, charID, *f.CharacterID, "the fork plays its own copy of the character")

	orig, fk := history(t, p.Client, s.ID), history(t, p.Client, f.ID)
	require.Len(t, fk, 4)
	for i := range fk {
		require.Equal(t, orig[i].Content, fk[i].Content)
		require.Equal(t, orig[i].Role, fk[i].Role)
		require.NotEqual(t, orig[i].ID, fk[i].ID)
	}
	require.Empty(t, findContent(memoryIDs(t, p.Client, f.ID, "zanzibarquill password"), "zanzibarquill"), "the fork never recalls turn 4")
	require.NotEmpty(t, findContent(memoryIDs(t, p.Client, s.ID, "zanzibarquill password"), "zanzibarquill"), "the original still does")
	// The fork's vectors arrive after it (the session-embedding task copies
	// them from the original): vector search in the fork finds its messages.
	forkIDs := map[string]bool{}
	for _, m := range fk {
		forkIDs[m.ID] = true
	}
	knock := fk[2] // "I knock on the gate of the keep.": its own text is its nearest vector
	deadline := time.Now().Add(60 * time.Second)
	for {
		scores := vectorScores(t, p, f.ID, strings.ReplaceAll(knock.Content, " ", "+"), 8)
		for id := range scores {
			require.True(t, forkIDs[id], "only the fork's own messages")
		}
		if scores[knock.ID] > 0.9 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the fork's vectors never arrived")
		time.Sleep(200 * time.Millisecond)
	}
	require.Equal(t, 1, sheetOf(t, p.Client, *f.CharacterID).qty("healing potion"), "the fork's sheet is turn 2's")
	require.Equal(t, 4, sheetOf(t, p.Client, *f.CharacterID).HP.Current)
	require.Zero(t, sheetOf(t, p.Client, charID).qty("healing potion"), "the original's is untouched")
	resp = p.Client.Do(t, "GET", "/api/sessions/"+f.ID+"/lore", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), "The keep is sunken.")

	resp = p.Client.Do(t, "GET", "/api/sessions", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), `"forked_from":"`+s.ID+`"`)

	// The fork plays on, and its own undo reverts only its own copy.
	play(t, p.Client, f.ID, "I drink my healing potion.")
	require.Zero(t, sheetOf(t, p.Client, *f.CharacterID).qty("healing potion"))
	require.Equal(t, http.StatusOK, p.Client.Do(t, "POST", "/api/sessions/"+f.ID+"/undo", nil).Status)
	require.Equal(t, 1, sheetOf(t, p.Client, *f.CharacterID).qty("healing potion"))
	require.Equal(t, http.StatusOK, p.Client.Do(t, "POST", "/api/sessions/"+f.ID+"/undo", nil).Status)
	require.Len(t, history(t, p.Client, f.ID), 2)
	require.Len(t, history(t, p.Client, s.ID), 8, "the original keeps its history")
}

// requireSameSheet compares sheets with their inventories as sets (an item
// given back is listed last).
func requireSameSheet(t *testing.T, want, got ruledSheet, msg ...any) {
	t.Helper()
	require.Equal(t, want.HP, got.HP, msg...)
	require.Equal(t, want.Gold, got.Gold, msg...)
	require.ElementsMatch(t, want.Inventory, got.Inventory, msg...)
}

func findContent(results map[string]string, word string) []string {
	var out []string
	for id, c := range results {
		if strings.Contains(strings.ToLower(c), word) {
			out = append(out, id)
		}
	}
	return out
}

// Regenerate twice, select the first reply: history, stream replay,
// memory and sheet all agree on it.
func TestRegenerateAndSelectAlternatives(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0s"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"healing potion"},
	})
	s := newSession(t, p, charID)
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, older := play(t, p.Client, s.ID, "I look at the door.")
	first := ev.next(t, 10*time.Second)
	_, a := play(t, p.Client, s.ID, "I drink my healing potion.")
	ta := getRuledTurn(t, p.Client, a.ID)
	require.NotEmpty(t, ta.Rolls)

	b := regenerate(t, p.Client, a.ID)
	require.NotEqual(t, a.ID, b.ID)
	require.Equal(t, a.PlayerMessageID, b.PlayerMessageID, "the player's message stays")
	require.Equal(t, "completed", waitFinal(t, p.Client, b.ID, 60*time.Second).Status)
	c := regenerate(t, p.Client, b.ID)
	require.Equal(t, "completed", waitFinal(t, p.Client, c.ID, 60*time.Second).Status)
	tb, tc := getRuledTurn(t, p.Client, b.ID), getRuledTurn(t, p.Client, c.ID)
	require.NotEqual(t, ta.DiceCommitment, tb.DiceCommitment, "a new committed seed")
	require.NotEqual(t, tb.DiceCommitment, tc.DiceCommitment)
	verifyRolls(t, tb)
	verifyRolls(t, tc)

	alts := alternativesOf(t, p.Client, a.ID)
	require.Len(t, alts, 3)
	require.Equal(t, []bool{false, false, true}, []bool{alts[0].Selected, alts[1].Selected, alts[2].Selected}, "the newest is selected")
	require.Equal(t, *ta.DMMessageID, alts[0].ID)
	require.Equal(t, alts, alternativesOf(t, p.Client, c.ID), "every turn of the exchange lists the same alternatives")
	require.Equal(t, 4+tc.Rolls[0].Total, sheetOf(t, p.Client, charID).HP.Current, "the sheet is the selected reply's")

	t.Run("only the latest exchange can be regenerated or selected", func(t *testing.T) {
		resp := p.Client.Do(t, "POST", "/api/turns/"+older.ID+"/regenerate", nil)
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
		resp = p.Client.Do(t, "POST", "/api/messages/"+*older.DMMessageID+"/select", nil)
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
	})

	resp := p.Client.Do(t, "POST", "/api/messages/"+alts[0].ID+"/select", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	resp = p.Client.Do(t, "POST", "/api/messages/"+alts[0].ID+"/select", nil)
	require.Equal(t, http.StatusOK, resp.Status, "selecting the selected one is harmless")
	alts = alternativesOf(t, p.Client, b.ID)
	require.True(t, alts[0].Selected)
	require.False(t, alts[1].Selected || alts[2].Selected)

	// History.
	msgs := history(t, p.Client, s.ID)
	require.Len(t, msgs, 4)
	require.Equal(t, alts[0].ID, msgs[3].ID)
	require.Equal(t, alts[0].Content, msgs[3].Content)
	// Sheet: the first reply's heal, the potion gone once.
	sheet := sheetOf(t, p.Client, charID)
	require.Equal(t, 4+ta.Rolls[0].Total, sheet.HP.Current)
	require.Zero(t, sheet.qty("healing potion"))
	resp = p.Client.Do(t, "GET", "/api/characters/"+charID+"/history?limit=100", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), a.ID)
	require.NotContains(t, string(resp.Body), b.ID, "the shelved alternatives' changes are not in the history")
	require.NotContains(t, string(resp.Body), c.ID)
	// Memory.
	for id := range memoryIDs(t, p.Client, s.ID, "drink healing potion") {
		require.NotEqual(t, alts[1].ID, id)
		require.NotEqual(t, alts[2].ID, id)
	}
	// Stream, live and replayed: the last selection is the first reply.
	lastSelected := func(evs []sseEvent) string {
		sel := ""
		for _, e := range evs {
			if e.Type == "message.selected" {
				sel = fmt.Sprint(e.Data["message_id"])
			}
		}
		return sel
	}
	live := ev.until(t, 10*time.Second, func(e sseEvent) bool { return e.Type == "message.selected" })
	require.Equal(t, alts[0].ID, lastSelected(live))
	replay := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events", "Last-Event-ID", first.ID)
	got := replay.until(t, 10*time.Second, func(e sseEvent) bool { return e.Type == "message.selected" })
	require.Equal(t, alts[0].ID, lastSelected(got))

	// The story continues from it.
	_, next := play(t, p.Client, s.ID, "I walk on.")
	require.Len(t, history(t, p.Client, s.ID), 6)
	require.Len(t, alternativesOf(t, p.Client, next.ID), 1)
}

// Undo racing a regenerate, a fork racing a new message: whatever wins,
// nothing is half-applied.
func TestStoryControlRaces(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0s"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"healing potion"},
	})
	s := newSession(t, p, charID)
	play(t, p.Client, s.ID, "I look around.")
	before := sheetOf(t, p.Client, charID)
	_, drink := play(t, p.Client, s.ID, "I drink my healing potion.")

	t.Run("undo racing a regenerate", func(t *testing.T) {
		var wg sync.WaitGroup
		var undo, regen *testkit.Response
		wg.Go(func() { undo = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/undo", nil) })
		wg.Go(func() { regen = p.Client.Do(t, "POST", "/api/turns/"+drink.ID+"/regenerate", nil) })
		wg.Wait()
		require.Contains(t, []int{http.StatusOK, http.StatusConflict}, undo.Status, string(undo.Body))
		require.Contains(t, []int{http.StatusAccepted, http.StatusNotFound, http.StatusConflict}, regen.Status, string(regen.Body))
		if regen.Status == http.StatusAccepted {
			var out struct{ Turn turn }
			regen.JSON(t, &out)
			waitFinal(t, p.Client, out.Turn.ID, 60*time.Second)
		}
		msgs := history(t, p.Client, s.ID)
		if undo.Status == http.StatusOK {
			require.Len(t, msgs, 2, "the exchange is gone, with every reply")
			requireSameSheet(t, before, sheetOf(t, p.Client, charID))
			require.Equal(t, http.StatusNotFound, p.Client.Do(t, "GET", "/api/turns/"+drink.ID, nil).Status)
		} else {
			require.Equal(t, http.StatusAccepted, regen.Status, "one of them won")
			require.Len(t, msgs, 4)
			alts := alternativesOf(t, p.Client, drink.ID)
			require.Len(t, alts, 2)
			require.True(t, alts[1].Selected)
			require.Equal(t, alts[1].ID, msgs[3].ID)
			require.Zero(t, sheetOf(t, p.Client, charID).qty("healing potion"), "the potion is drunk once")
		}
	})

	t.Run("a fork racing a new message", func(t *testing.T) {
		msgs := history(t, p.Client, s.ID)
		at := msgs[len(msgs)-1]
		var wg sync.WaitGroup
		var fork, post *testkit.Response
		wg.Go(func() {
			fork = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/fork", map[string]any{"at_message_id": at.ID})
		})
		wg.Go(func() {
			post = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "I open the chest."})
		})
		wg.Wait()
		require.Equal(t, http.StatusAccepted, post.Status, string(post.Body))
		var posted struct{ Turn turn }
		post.JSON(t, &posted)
		waitFinal(t, p.Client, posted.Turn.ID, 60*time.Second)
		require.Len(t, history(t, p.Client, s.ID), len(msgs)+2)
		require.Contains(t, []int{http.StatusCreated, http.StatusConflict}, fork.Status, string(fork.Body))
		if fork.Status == http.StatusCreated {
			var out struct{ Session session }
			fork.JSON(t, &out)
			fk := history(t, p.Client, out.Session.ID)
			require.Len(t, fk, len(msgs), "the fork holds exactly the history up to its message")
			for _, m := range fk {
				require.NotEqual(t, "I open the chest.", m.Content)
			}
		}
	})
}

// Every story route: a stranger gets 404, bad input 400 naming the field.
func TestStoryRoutesCheckAccessAndInput(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0s"}})
	p, stranger := signUp(t, srv.URL), signUp(t, srv.URL)
	s := newSession(t, p, "")
	empty := newSession(t, p, "")
	other := newSession(t, p, "")
	_, tr := play(t, p.Client, s.ID, "Hello there.")
	_, ot := play(t, p.Client, other.ID, "Hello elsewhere.")

	t.Run("a stranger gets 404 on every route", func(t *testing.T) {
		for _, r := range []struct{ path string }{
			{"/api/sessions/" + s.ID + "/undo"},
			{"/api/turns/" + tr.ID + "/regenerate"},
			{"/api/messages/" + *tr.DMMessageID + "/select"},
		} {
			resp := stranger.Client.Do(t, "POST", r.path, nil)
			require.Equal(t, http.StatusNotFound, resp.Status, r.path)
			require.Equal(t, "not_found", resp.ErrorCode())
		}
		resp := stranger.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/fork", map[string]any{"at_message_id": tr.PlayerMessageID})
		require.Equal(t, http.StatusNotFound, resp.Status)
		require.Len(t, history(t, p.Client, s.ID), 2, "nothing changed")
	})

	t.Run("bad input is 400 naming the field", func(t *testing.T) {
		for _, c := range []struct {
			name, path, field string
			body              any
		}{
			{"undo of a session id that is no uuid", "/api/sessions/nope/undo", "id", nil},
			{"regenerate of a turn id that is no uuid", "/api/turns/nope/regenerate", "id", nil},
			{"select of a message id that is no uuid", "/api/messages/nope/select", "id", nil},
			{"fork without at_message_id", "/api/sessions/" + s.ID + "/fork", "at_message_id", map[string]any{}},
			{"fork at a message id that is no uuid", "/api/sessions/" + s.ID + "/fork", "at_message_id", map[string]any{"at_message_id": "x"}},
			{"fork at a message of another session", "/api/sessions/" + s.ID + "/fork", "at_message_id", map[string]any{"at_message_id": ot.PlayerMessageID}},
			{"fork with a title too long", "/api/sessions/" + s.ID + "/fork", "title", map[string]any{"at_message_id": tr.PlayerMessageID, "title": strings.Repeat("t", 121)}},
			{"fork with an unknown field", "/api/sessions/" + s.ID + "/fork", "at", map[string]any{"at": tr.PlayerMessageID}},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp := p.Client.Do(t, "POST", c.path, c.body)
				require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
				require.Equal(t, "invalid_request", resp.ErrorCode())
				require.Contains(t, string(resp.Body), c.field)
			})
		}
	})

	t.Run("undo of a session without turns is 409", func(t *testing.T) {
		resp := p.Client.Do(t, "POST", "/api/sessions/"+empty.ID+"/undo", nil)
		require.Equal(t, http.StatusConflict, resp.Status)
	})
	t.Run("selecting a player's message is 404: it is no reply", func(t *testing.T) {
		resp := p.Client.Do(t, "POST", "/api/messages/"+tr.PlayerMessageID+"/select", nil)
		require.Equal(t, http.StatusNotFound, resp.Status)
	})
}
