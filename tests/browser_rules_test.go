package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// The rules engine in the web client (issue 14): the sheet panel follows
// `sheet.changed`, roll cards follow `roll`, and "Verify the dice"
// recomputes the turn's dice in the browser from the revealed seed.

type shownDie struct {
	Sides int    `json:"sides"`
	Value int    `json:"value"`
	Check string `json:"check"`
}

type shownRoll struct {
	Notation string     `json:"notation"`
	Total    int        `json:"total"`
	Outcome  string     `json:"outcome"`
	Dice     []shownDie `json:"dice"`
}

// rollCardsJS reads the roll cards under sel as shownRoll values.
func rollCardsJS(sel string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].map(c => ({
		notation: c.querySelector('.roll-notation').textContent,
		total: Number(c.querySelector('.roll-total').textContent),
		outcome: c.dataset.outcome,
		dice: [...c.querySelectorAll('.die')].map(d => ({sides: Number(d.dataset.sides), value: parseInt(d.textContent, 10), check: d.dataset.check || ''})),
	}))`, sel)
}

func TestBrowserSheetAndDiceFollowTheRules(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, srv.URL)
	resp := p.Client.Do(t, "POST", "/api/characters", map[string]any{
		"name": "Mira", "class": "fighter", "level": 1,
		"sheet": map[string]any{
			"abilities": map[string]int{"str": 14, "dex": 12, "con": 14},
			"hp":        map[string]int{"current": 3, "max": 30},
			"inventory": []any{map[string]any{"name": "healing potion", "qty": 2}, "rope"},
			"gold":      12,
		},
	})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var created struct{ Character character }
	resp.JSON(t, &created)
	s := newSession(t, p, created.Character.ID)
	b := playing(t, srv.URL, p, s.ID)

	// The sheet panel as the character starts.
	potionQty := `document.querySelector('#sheet-panel [data-item="healing potion"] .qty')?.textContent`
	b.waitFor("the sheet panel", potionQty+` === '×2'`, 10*time.Second)
	require.Equal(t, "3 / 30", b.text("#sheet-panel .hp-text"))
	require.Equal(t, "low", eval[string](b, `document.querySelector('#sheet-panel .hp-bar').dataset.level`))

	// Drink a potion: quantity and HP change live, with the reason.
	b.fill("#composer", "I drink a healing potion.")
	b.pressEnter()
	b.waitFor("the potion to be used", potionQty+` === '×1'`, 60*time.Second)
	b.waitFor("HP to rise", `document.querySelector('#sheet-panel .hp-text').textContent !== '3 / 30'`, 10*time.Second)
	require.Contains(t, b.text("#sheet-panel .sheet-changes"), "Healing potion ×2 → ×1")
	require.True(t, eval[bool](b, `document.querySelector('#sheet-panel [data-item="healing potion"]').classList.contains('flash')`), "the changed item is highlighted")
	b.waitFor("the reply to end", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, dmReplyDoneSel), 60*time.Second)

	// The stored sheet agrees with the panel.
	resp = p.Client.Do(t, "GET", "/api/characters/"+created.Character.ID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var now struct{ Character character }
	resp.JSON(t, &now)
	hp := now.Character.Sheet["hp"].(map[string]any)
	require.Equal(t, fmt.Sprintf("%d / 30", int(hp["current"].(float64))), b.text("#sheet-panel .hp-text"))
	require.Greater(t, hp["current"].(float64), 3.0)

	// The heal's roll is on the turn, as stored.
	msgs := restMessages(t, p, s.ID)
	require.Len(t, msgs, 2)
	turnID := *msgs[1].TurnID
	resp = p.Client.Do(t, "GET", "/api/turns/"+turnID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var stored struct {
		Turn struct {
			DiceSeed       string `json:"dice_seed"`
			DiceCommitment string `json:"dice_commitment"`
			Rolls          []struct {
				Notation string `json:"notation"`
				Total    int    `json:"total"`
				Dice     []struct {
					Sides int `json:"sides"`
					Value int `json:"value"`
				} `json:"dice"`
			} `json:"rolls"`
		} `json:"turn"`
	}
	resp.JSON(t, &stored)
	require.NotEmpty(t, stored.Turn.DiceSeed, "the seed is revealed once the turn ended")
	require.NotEmpty(t, stored.Turn.Rolls)
	cardsSel := fmt.Sprintf(`#story-log li[data-turn-id=%q] .roll-card`, turnID)
	b.waitFor("the roll cards", fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, cardsSel, len(stored.Turn.Rolls)), 10*time.Second)
	cards := eval[[]shownRoll](b, rollCardsJS(cardsSel))
	for i, r := range stored.Turn.Rolls {
		require.Equal(t, r.Notation, cards[i].Notation)
		require.Equal(t, r.Total, cards[i].Total)
		require.Len(t, cards[i].Dice, len(r.Dice))
		for j, d := range r.Dice {
			require.Equal(t, d.Value, cards[i].Dice[j].Value, "roll %d die %d", i, j)
		}
	}

	// Verify: every die recomputed in the browser matches.
	b.click(fmt.Sprintf(`#story-log li[data-turn-id=%q] button.verify`, turnID))
	resultSel := fmt.Sprintf(`#story-log li[data-turn-id=%q] .verify-result`, turnID)
	b.waitFor("the verification", fmt.Sprintf(`['ok', 'bad', 'error'].includes(document.querySelector(%q)?.dataset.state)`, resultSel), 15*time.Second)
	require.Equal(t, "ok", eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.state`, resultSel)), b.text(resultSel))
	require.Contains(t, b.text(resultSel), "✓")
	require.Contains(t, b.text(resultSel), "commitment")
	for _, c := range eval[[]shownRoll](b, rollCardsJS(cardsSel)) {
		for _, d := range c.Dice {
			require.Equal(t, "ok", d.Check)
		}
	}
	b.screenshot("browser-rules-verified")

	// A roll of one's own from the composer.
	b.fill("#composer", "/roll 2d6+1 to pick the lock")
	b.pressEnter()
	own := `#story-log li[data-kind=roll] .roll-card`
	b.waitFor("the roll card", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, own), 15*time.Second)
	mine := eval[[]shownRoll](b, rollCardsJS(own))[0]
	require.Equal(t, "2d6+1", mine.Notation)
	require.Len(t, mine.Dice, 2)
	require.Equal(t, mine.Dice[0].Value+mine.Dice[1].Value+1, mine.Total)
	require.Contains(t, b.text(own), "to pick the lock")
	require.Empty(t, eval[string](b, `document.querySelector('#composer').value`))

	// Its dice verify once the next turn reveals the session's seed.
	ownVerify := `#story-log li[data-kind=roll] button.verify`
	ownResult := `#story-log li[data-kind=roll] .verify-result`
	b.click(ownVerify)
	b.waitFor("the sealed seed", fmt.Sprintf(`document.querySelector(%q)?.dataset.state === 'waiting'`, ownResult), 15*time.Second)
	require.Contains(t, b.text(ownResult), "revealed when the next turn")
	_, next := postMessage(t, p.Client, s.ID, "I try the lock again.")
	waitFinal(t, p.Client, next.ID, 60*time.Second)
	b.click(ownVerify)
	b.waitFor("the own roll's verification", fmt.Sprintf(`['ok', 'bad', 'error'].includes(document.querySelector(%q)?.dataset.state)`, ownResult), 15*time.Second)
	require.Equal(t, "ok", eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.state`, ownResult)), b.text(ownResult))
	for _, d := range eval[[]shownRoll](b, rollCardsJS(own))[0].Dice {
		require.Equal(t, "ok", d.Check)
	}

	// A bad notation: the composer says what is wrong, and keeps the text.
	b.fill("#composer", "/roll 1d7")
	b.pressEnter()
	b.waitFor("the notation error", `document.querySelector('.composer .form-error:not([hidden])')?.textContent.includes('d7')`, 10*time.Second)
	require.Equal(t, "/roll 1d7", eval[string](b, `document.querySelector('#composer').value`))

	// After a reload the own roll is gone from the log only if the server
	// does not list it; the turn's dice come back on request.
	b.open("/#/sessions")
	b.open("/#/play/" + s.ID)
	b.waitFor("the game view", fmt.Sprintf(`document.querySelectorAll(%q).length === 2`, dmReplyDoneSel), 15*time.Second)
	b.click(fmt.Sprintf(`#story-log li[data-turn-id=%q] button.load-dice`, turnID))
	b.waitFor("the turn's dice", fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, cardsSel, len(stored.Turn.Rolls)), 10*time.Second)

	// The character's history lists the changes with their reasons.
	b.open("/#/characters/" + created.Character.ID)
	b.waitFor("the history", `document.querySelectorAll('#history-list li').length > 0`, 15*time.Second)
	require.Contains(t, b.text("#history-list"), "Healing potion ×2 → ×1")
	require.Empty(t, b.exceptions())
}

// onSheetPage signs a new player with a new character in, in the
// browser, on that character's sheet page.
func onSheetPage(t *testing.T, opts testkit.Options) (player, character, *browser) {
	t.Helper()
	srv := testkit.Start(t, opts)
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	b := newBrowser(t, srv.URL, 1280, 860)
	b.signInInBrowser(p.Email)
	b.open("/#/characters/" + ch.ID)
	b.waitFor("the character sheet", `document.querySelector('.sheet-form')`, 15*time.Second)
	return p, ch, b
}

func TestBrowserSheetFormShowsFieldErrors(t *testing.T) {
	p, ch, b := onSheetPage(t, testkit.Options{})

	// Short ability names in one line, inventory with quantities, gold.
	b.fill("input[name=abilities_line]", "str 15, dex 13, wis 8")
	require.Equal(t, "15", eval[string](b, `document.querySelector('#ab-strength').value`))
	b.fill("textarea[name=inventory]", "Healing potion x2\nrope\n3x torch")
	b.fill("input[name=gold]", "25")
	b.click(".sheet-form button[type=submit]")
	b.waitFor("the saved notice", `document.querySelector('#notices')?.textContent.includes('saved')`, 10*time.Second)
	resp := p.Client.Do(t, "GET", "/api/characters/"+ch.ID, nil)
	var got struct{ Character character }
	resp.JSON(t, &got)
	inv, _ := json.Marshal(got.Character.Sheet["inventory"])
	require.JSONEq(t, `[{"name":"healing potion","qty":2},{"name":"rope","qty":1},{"name":"torch","qty":3}]`, string(inv))
	require.Equal(t, 25.0, got.Character.Sheet["gold"])
	require.Equal(t, 15.0, got.Character.Sheet["abilities"].(map[string]any)["strength"])

	// A bad value: the error sits next to the field it names.
	b.fill("textarea[name=inventory]", "rope x0")
	b.click(".sheet-form button[type=submit]")
	b.waitFor("the field error", `document.querySelector('textarea[name=inventory]')?.getAttribute('aria-invalid') === 'true'`, 10*time.Second)
	require.Contains(t, b.text(".sheet-form .field-error"), "Line 1")
	require.Empty(t, b.exceptions())
}
