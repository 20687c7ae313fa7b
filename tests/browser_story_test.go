package tests

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// Story control in the web client (issue 16): regenerate, flip back to the
// first reply, undo (the potion comes back in the sheet panel), and
// "branch from here" opening the new session, listed as a branch.
func TestBrowserStoryControl(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, srv.URL)
	charID := ruledCharacter(t, p, map[string]any{
		"hp": map[string]int{"current": 3, "max": 30}, "inventory": []any{"healing potion", "rope"},
	})
	s := newSession(t, p, charID)
	_, first := play(t, p.Client, s.ID, "I look around the camp.")
	_, drink := play(t, p.Client, s.ID, "I drink a healing potion.")
	b := playing(t, srv.URL, p, s.ID)

	latest := fmt.Sprintf(`#story-log li[data-turn-id=%q]`, drink.ID)
	b.waitFor("the regenerate button", fmt.Sprintf(`!!document.querySelector(%q) && !document.querySelector(%q).hidden`,
		latest+" .regenerate", latest+" .regenerate"), 15*time.Second)
	b.click(latest + " .regenerate")
	count := `document.querySelector('#story-log .story-controls:not([hidden]) .flip:not([hidden]) .alt-count')?.textContent`
	b.waitFor("two alternatives", count+` === '2 / 2'`, 60*time.Second)

	b.click(`#story-log .story-controls:not([hidden]) .flip:not([hidden]) .alt-prev`)
	b.waitFor("the first reply selected", count+` === '1 / 2'`, 15*time.Second)
	msgs := restMessages(t, p, s.ID)
	require.Len(t, msgs, 4)
	require.Equal(t, *drink.DMMessageID, msgs[3].ID, "the story continues from the first reply")
	b.waitFor("the first reply shown", fmt.Sprintf(`[...document.querySelectorAll('#story-log li[data-role=dm] .msg-text')].pop()?.textContent === %q`, msgs[3].Content), 15*time.Second)

	potionQty := `document.querySelector('#sheet-panel [data-item="healing potion"] .qty')?.textContent`
	b.click(latest + " .undo")
	b.waitFor("the exchange gone", `document.querySelectorAll('#story-log li[data-role=dm]').length === 1`, 15*time.Second)
	b.waitFor("the potion back in the sheet panel", potionQty+` === '×1'`, 15*time.Second)
	require.Len(t, restMessages(t, p, s.ID), 2)
	require.Equal(t, 1, sheetOf(t, p.Client, charID).qty("healing potion"))

	b.click(fmt.Sprintf(`#story-log li[data-turn-id=%q] .story-controls .branch`, first.ID))
	b.waitFor("the branch opened", fmt.Sprintf(`location.hash.startsWith('#/play/') && location.hash !== '#/play/%s'`, s.ID), 15*time.Second)
	b.open("/#/sessions")
	b.waitFor("the branch listed", `[...document.querySelectorAll('.session-item .forked-from')].some(e => e.textContent.includes('The Sunken Keep'))`, 15*time.Second)
	require.Empty(t, b.exceptions())
	resp := p.Client.Do(t, "GET", "/api/sessions", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), `"forked_from":"`+s.ID+`"`)
}
