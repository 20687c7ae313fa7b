package tests

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/loadtest/fakemodel"
)

// ruledTurn is a turn as GET /api/turns/{id} returns it with the rules
// engine's fields.
type ruledTurn struct {
	ID             string      `json:"id"`
	Status         string      `json:"status"`
	DiceCommitment string      `json:"dice_commitment"`
	DiceSeed       string      `json:"dice_seed"`
	DMMessageID    *string     `json:"dm_message_id"`
	Rolls          []dice.Roll `json:"rolls"`
	Changes        []struct {
		ID, Path, Reason string
		From, To         int
	} `json:"changes"`
}

func getRuledTurn(t *testing.T, c *testkit.Client, id string) ruledTurn {
	t.Helper()
	resp := c.Do(t, "GET", "/api/turns/"+id, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Turn ruledTurn }
	resp.JSON(t, &out)
	return out.Turn
}

type ruledSheet struct {
	HP struct {
		Current, Max int
	} `json:"hp"`
	Gold      int `json:"gold"`
	Inventory []struct {
		Name string `json:"name"`
		Qty  int    `json:"qty"`
	} `json:"inventory"`
}

func (s ruledSheet) qty(name string) int {
	for _, it := range s.Inventory {
		if it.Name == name {
			return it.Qty
		}
	}
	return 0
}

func sheetOf(t *testing.T, c *testkit.Client, characterID string) ruledSheet {
	t.Helper()
	resp := c.Do(t, "GET", "/api/characters/"+characterID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Character struct{ Sheet ruledSheet }
	}
	resp.JSON(t, &out)
	return out.Character.Sheet
}

func ruledCharacter(t *testing.T, p player, sheet map[string]any) string {
	t.Helper()
	resp := p.Client.Do(t, "POST", "/api/characters", map[string]any{"name": "Brenna", "class": "fighter", "sheet": sheet})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out struct{ Character character }
	resp.JSON(t, &out)
	return out.Character.ID
}

func verifyRolls(t *testing.T, tr ruledTurn) {
	t.Helper()
	seed, err := dice.ParseSeed(tr.DiceSeed)
	require.NoError(t, err, "the final turn reveals its seed")
	require.NoError(t, dice.CheckCommitment(seed, tr.DiceCommitment))
	require.NoError(t, dice.Verify(seed, tr.Rolls))
}

// sessionSeed fetches a seed of a session's player rolls.
func sessionSeed(t *testing.T, c *testkit.Client, path string) (out struct {
	DiceSeed string      `json:"dice_seed"`
	Rolls    []dice.Roll `json:"rolls"`
}) {
	t.Helper()
	resp := c.Do(t, "GET", path, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var body struct{ Seed json.RawMessage }
	resp.JSON(t, &body)
	require.NoError(t, json.Unmarshal(body.Seed, &out))
	return out
}

// A short adventure with the offline DM: a potion is drunk (the stream,
// REST and a restarted conquest all show it), a second drink is refused by
// the engine and the narration says so, and an attack's dice recompute
// from the revealed seed (here and with `conquest dice verify --turn`).
func TestAdventureWithTheRulesEngine(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=1ms"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"abilities": map[string]int{"str": 16, "dex": 12},
		"hp":        map[string]int{"current": 4, "max": 30},
		"gold":      3,
		"inventory": []any{"healing potion", "longsword"},
	})
	s := newSession(t, p, charID)
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")

	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "I drink my healing potion."})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var accepted struct{ Turn ruledTurn }
	resp.JSON(t, &accepted)
	require.Len(t, accepted.Turn.DiceCommitment, 64, "the commitment is in the POST answer")
	require.Empty(t, accepted.Turn.DiceSeed, "the seed is secret while the turn runs")

	got := ev.until(t, 30*time.Second, isDone(accepted.Turn.ID))
	var order []string
	var changed, done sseEvent
	for _, e := range got {
		if e.Type != "dm.delta" || len(order) == 0 || order[len(order)-1] != "dm.delta" {
			order = append(order, e.Type)
		}
		switch e.Type {
		case "turn.status":
			if e.Data["status"] == "queued" {
				require.Equal(t, accepted.Turn.DiceCommitment, e.Data["dice_commitment"], "the first turn.status carries the commitment")
			}
		case "sheet.changed":
			changed = e
		case "dm.done":
			done = e
		}
	}
	require.Equal(t, []string{"turn.status", "turn.status", "turn.status", "turn.status", "roll", "dm.delta", "turn.status", "sheet.changed", "dm.done"}, order)
	require.Equal(t, charID, changed.Data["character_id"])
	sheet := changed.Data["sheet"].(map[string]any)
	require.Empty(t, sheet["inventory"].([]any)[1:], "only the longsword is left")
	require.NotEmpty(t, done.Data["dice_seed"], "the final event reveals the seed")

	drink := getRuledTurn(t, p.Client, accepted.Turn.ID)
	require.Equal(t, "completed", drink.Status)
	require.Equal(t, done.Data["dice_seed"], drink.DiceSeed)
	verifyRolls(t, drink)
	healed := drink.Rolls[0].Total
	after := sheetOf(t, p.Client, charID)
	require.Equal(t, 4+healed, after.HP.Current)
	require.Zero(t, after.qty("healing potion"))
	require.Equal(t, 1, after.qty("longsword"))

	// The second drink: refused, said so, nothing changed.
	_, tr := postMessage(t, p.Client, s.ID, "I drink my healing potion.")
	second := waitFinal(t, p.Client, tr.ID, 30*time.Second)
	require.Equal(t, "completed", second.Status)
	reply := lastMessage(t, p.Client, s.ID)
	require.Contains(t, strings.ToLower(reply), "potion")
	require.Empty(t, getRuledTurn(t, p.Client, tr.ID).Changes)
	require.Equal(t, after, sheetOf(t, p.Client, charID))

	// The attack: a roll event whose dice recompute from the revealed seed.
	_, tr = postMessage(t, p.Client, s.ID, "I attack the goblin with my longsword.")
	evs := ev.until(t, 30*time.Second, isDone(tr.ID))
	var streamed []dice.Roll
	for _, e := range evs {
		if e.Type == "roll" {
			b, err := json.Marshal(e.Data["roll"])
			require.NoError(t, err)
			var r dice.Roll
			require.NoError(t, json.Unmarshal(b, &r))
			streamed = append(streamed, r)
			require.Equal(t, "dm", e.Data["roll"].(map[string]any)["actor"])
		}
	}
	require.NotEmpty(t, streamed, "the attack roll is on the stream")
	attack := getRuledTurn(t, p.Client, tr.ID)
	require.Equal(t, streamed, attack.Rolls, "the stream's rolls are the stored ones")
	require.Contains(t, attack.Rolls[0].Notation, "1d20")
	verifyRolls(t, attack)
	out, err := testkit.Exec(t, nil, "dice", "verify", "--turn", tr.ID, "--url", srv.URL, "--token", p.Client.Token)
	require.NoError(t, err, out)

	// History, newest first, paged.
	resp = p.Client.Do(t, "GET", "/api/characters/"+charID+"/history?limit=1", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var raw struct {
		Changes    []map[string]any `json:"changes"`
		NextBefore *string          `json:"next_before"`
	}
	resp.JSON(t, &raw)
	require.Len(t, raw.Changes, 1)
	require.NotNil(t, raw.NextBefore)
	for _, k := range []string{"id", "turn_id", "session_id", "at", "path", "from", "to", "reason"} {
		require.Contains(t, raw.Changes[0], k)
	}

	// After a restart of conquest the sheet is as the engine left it.
	final := sheetOf(t, p.Client, charID)
	srv.Stop()
	again := testkit.Start(t, testkit.Options{})
	c2 := testkit.NewClient(again.URL)
	c2.Token = p.Client.Token
	require.Equal(t, final, sheetOf(t, c2, charID))
	require.Zero(t, final.qty("healing potion"))
}

func lastMessage(t *testing.T, c *testkit.Client, sessionID string) string {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/messages?limit=1", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	require.Len(t, page.Messages, 1)
	return page.Messages[0].Content
}

// An OpenAI-compatible model calls the engine's tools: spending gold the
// character does not have is refused (state unchanged, the refusal in the
// continuation), drinking the potion it holds is applied.
func TestOpenAIModelCallsTheRulesTools(t *testing.T) {
	model := httptest.NewServer(fakemodel.New(fakemodel.Options{Tokens: 3}))
	t.Cleanup(model.Close)
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_PROVIDER=openai", "DM_MODEL=fake", "OPENAI_BASE_URL=" + model.URL + "/v1", "OPENAI_API_KEY=test"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{"hp": map[string]int{"current": 2, "max": 20}, "gold": 10, "inventory": []any{"healing potion"}})
	s := newSession(t, p, charID)
	_, tr := postMessage(t, p.Client, s.ID, `I buy the horse. [tool:spend_gold {"amount": 500, "reason": "a horse"}] [tool:use_item {"item": "healing potion"}]`)
	final := waitFinal(t, p.Client, tr.ID, 30*time.Second)
	require.Equal(t, "completed", final.Status)
	reply := lastMessage(t, p.Client, s.ID)
	require.Contains(t, reply, "insufficient_gold", "the refusal reached the model's continuation")
	turn := getRuledTurn(t, p.Client, tr.ID)
	verifyRolls(t, turn)
	sheet := sheetOf(t, p.Client, charID)
	require.Equal(t, 10, sheet.Gold, "no gold was spent")
	require.Zero(t, sheet.qty("healing potion"), "the valid call was applied")
	require.Equal(t, 2+turn.Rolls[0].Total, sheet.HP.Current)
}

// Player rolls, the /roll command, and the new routes' ownership and
// bad-input cases.
func TestPlayerRollsAndRulesRoutesCheckAccessAndInput(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=300ms"}})
	p := signUp(t, srv.URL)
	stranger := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{"gold": 5})
	s := newSession(t, p, charID)

	resp := p.Client.Do(t, "GET", "/api/sessions/"+s.ID, nil)
	var opened struct {
		Session struct {
			DiceCommitment string `json:"dice_commitment"`
		}
	}
	resp.JSON(t, &opened)
	require.Len(t, opened.Session.DiceCommitment, 64, "the open seed's commitment is public before any roll")
	resp = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/rolls", map[string]any{"notation": "2d20kh1+3", "reason": "stealth"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var rolled struct{ Roll map[string]any }
	resp.JSON(t, &rolled)
	require.Equal(t, "2d20kh1+3", rolled.Roll["notation"])
	require.Equal(t, p.ID, rolled.Roll["actor"].(map[string]any)["player_id"])
	require.Len(t, rolled.Roll["dice"], 2)

	resp = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "/roll 1d20+3 perception"})
	require.Equal(t, http.StatusCreated, resp.Status, "a /roll message is a roll, not a turn: %s", resp.Body)
	resp.JSON(t, &rolled)
	require.Equal(t, "perception", rolled.Roll["reason"])
	require.EqualValues(t, 1, rolled.Roll["index"], "the second roll of the session's open seed")
	require.Contains(t, lastMessage(t, p.Client, s.ID), "1d20+3", "the roll is in the story, for the DM's next turn")

	for _, tc := range []struct{ body map[string]any }{
		{map[string]any{"notation": "1d7"}}, {map[string]any{"notation": "101d6"}}, {map[string]any{"notation": ""}},
		{map[string]any{"notation": "1d20", "reason": strings.Repeat("x", 101)}},
	} {
		resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/rolls", tc.body)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%v: %s", tc.body, resp.Body)
		require.True(t, strings.Contains(string(resp.Body), "notation") || strings.Contains(string(resp.Body), "reason"), string(resp.Body))
	}
	resp = p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "/roll 3d5"})
	require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))

	// The seed of those rolls: served with its rolls, kept secret until a
	// turn of the session is accepted.
	commitment, _ := rolled.Roll["seed_commitment"].(string)
	require.Equal(t, opened.Session.DiceCommitment, commitment, "the roll names the open seed it was drawn from")
	seedPath := "/api/sessions/" + s.ID + "/seeds/" + commitment
	sealed := sessionSeed(t, p.Client, seedPath)
	require.Empty(t, sealed.DiceSeed, "the open seed is not revealed before a turn")
	require.Len(t, sealed.Rolls, 2)
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", seedPath, nil).Status)
	require.Equal(t, http.StatusNotFound, p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/seeds/"+strings.Repeat("0", 64), nil).Status)
	for _, bad := range []string{"nope", strings.ToUpper(commitment), commitment + "00"} {
		resp := p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/seeds/"+bad, nil)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", bad, resp.Body)
		require.Contains(t, string(resp.Body), "commitment")
	}

	// A stranger sees none of it.
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/rolls", map[string]any{"notation": "1d20"}).Status)
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "GET", "/api/characters/"+charID+"/history", nil).Status)
	require.Equal(t, http.StatusNotFound, stranger.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "/roll 1d20"}).Status)

	for _, q := range []string{"limit=0", "limit=101", "before=nope", "before=" + s.ID} {
		resp := p.Client.Do(t, "GET", "/api/characters/"+charID+"/history?"+q, nil)
		require.Equal(t, http.StatusBadRequest, resp.Status, "%s: %s", q, resp.Body)
	}
	require.Equal(t, http.StatusBadRequest, p.Client.Do(t, "GET", "/api/characters/nope/history", nil).Status)

	// A PATCH of engine-owned fields while a turn is in flight: 409 naming
	// the field, nothing stored; other fields stay editable.
	_, tr := postMessage(t, p.Client, s.ID, "I look around the camp.")
	resp = p.Client.Do(t, "PATCH", "/api/characters/"+charID, map[string]any{"sheet": map[string]any{"gold": 999}})
	require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
	require.Contains(t, string(resp.Body), "sheet.gold")
	require.Equal(t, 5, sheetOf(t, p.Client, charID).Gold)
	resp = p.Client.Do(t, "PATCH", "/api/characters/"+charID, map[string]any{"sheet": map[string]any{"gold": 5, "abilities": map[string]int{"str": 30, "dex": 0}}})
	require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
	require.Contains(t, string(resp.Body), "abilities")
	// The turn revealed the players' seed: every die of both rolls
	// recomputes from it, and it matches the commitment published before.
	revealed := sessionSeed(t, p.Client, seedPath)
	seed, err := dice.ParseSeed(revealed.DiceSeed)
	require.NoError(t, err, "an accepted turn reveals the seed of the rolls before it")
	require.NoError(t, dice.CheckCommitment(seed, commitment))
	require.NoError(t, dice.Verify(seed, revealed.Rolls))
	require.Equal(t, sealed.Rolls, revealed.Rolls)
	resp = p.Client.Do(t, "GET", "/api/sessions/"+s.ID, nil)
	resp.JSON(t, &opened)
	require.NotEqual(t, commitment, opened.Session.DiceCommitment, "a new seed opens for the next rolls")

	waitFinal(t, p.Client, tr.ID, 60*time.Second)
	resp = p.Client.Do(t, "PATCH", "/api/characters/"+charID, map[string]any{"sheet": map[string]any{"gold": 999}})
	require.Equal(t, http.StatusOK, resp.Status, "allowed once no turn is in flight: %s", resp.Body)
}
