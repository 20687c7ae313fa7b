package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// The campaign panels in the web client (issue 17): a lore entry and the
// summary written through their forms go into the next turn's prompt and
// show in "What the DM remembered"; a JSON export downloads; importing it
// shows its progress and opens the new session; a character card imports
// and downloads again as a PNG card.
func TestBrowserCampaignPanels(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	b := playing(t, srv.URL, p, s.ID)

	// Lore, through the form: the list shows it; the short key is flagged.
	b.fill("#lore-title", "Bram the smith")
	b.fill("#lore-keys", "Bram, Al")
	b.fill("#lore-content", "Bram owes the thieves' guild forty crowns.")
	b.click(".lore-form button[type=submit]")
	b.waitFor("the entry in the list", `[...document.querySelectorAll('.lore-list .lore-item')].some(li => li.textContent.includes('Bram the smith'))`, 10*time.Second)
	require.Contains(t, b.text("#lore-title-h + p"), "“Al” is very short")

	// The summary, through its form.
	b.waitFor("the summary section", `document.querySelector('#summary-title + p')?.textContent.includes('No summary yet')`, 10*time.Second)
	b.fill("#summary-content", "Ana swore to find the silver key.")
	b.click(".summary-form button[type=submit]")
	b.waitFor("the saved summary", `document.querySelector('#summary-title + p')?.textContent.includes('Edited by you')`, 10*time.Second)
	sum := getSummary(t, p.Client, s.ID)
	require.NotNil(t, sum)
	require.Equal(t, "Ana swore to find the silver key.", sum.Content)
	require.True(t, sum.Edited)

	// A turn mentioning Bram: both are in what the DM remembered.
	b.fill("#composer", "I ask Bram about the missing horseshoes.")
	b.pressEnter()
	b.waitFor("the reply", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, dmReplyDoneSel), 60*time.Second)
	b.click(dmReplyDoneSel + " .remember")
	b.waitFor("the lore in the context", `[...document.querySelectorAll('.badge-lore')].some(e => e.textContent.includes('matched “Bram”'))`, 10*time.Second)
	b.waitFor("the summary in the context", `document.querySelector('.memory-item .summary-text')?.textContent === 'Ana swore to find the silver key.'`, 10*time.Second)

	// A JSON export, downloaded through its link.
	b.click("section[aria-labelledby=export-title] button")
	b.waitFor("the download link", `document.querySelector('.export-list a[href]')`, 60*time.Second)
	href := eval[string](b, `document.querySelector('.export-list a[href]').href`)
	_, body := download(t, href)
	var doc struct {
		Version  int
		Messages []struct{ Content string }
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Equal(t, 2, doc.Version)
	require.Len(t, doc.Messages, 2)

	// Import it from the adventures page: the progress shows, then the new session opens.
	file := filepath.Join(t.TempDir(), "adventure.json")
	require.NoError(t, os.WriteFile(file, body, 0o600))
	b.open("/#/sessions")
	b.waitFor("the import controls", `document.querySelector('#import-export')`, 10*time.Second)
	eval[bool](b, `(() => {
		window.__importSeen = [];
		const st = document.querySelector('.import-card [role=status]');
		new MutationObserver(() => window.__importSeen.push(st.textContent)).observe(st, {childList: true, characterData: true, subtree: true});
		return true; })()`)
	b.do("choose the export", chromedp.SetUploadFiles(chromedp.CSS("#import-export"), []string{file}))
	b.waitFor("the imported session", fmt.Sprintf(`location.hash.startsWith('#/play/') && location.hash !== '#/play/%s'`, s.ID), 60*time.Second)
	seen := eval[[]string](b, `window.__importSeen`)
	require.True(t, func() bool {
		for _, s := range seen {
			if strings.Contains(s, "Remembering the imported messages") && strings.Contains(s, "of 2") {
				return true
			}
		}
		return false
	}(), "the import's progress was shown: %q", seen)
	b.waitFor("the imported story", `document.querySelectorAll('#story-log li[data-role=dm]').length === 1`, 15*time.Second)

	// A character card (Tavern V2, JSON) imports from the same page and opens
	// its sheet; the sheet downloads the character as a V3 PNG card.
	card, err := filepath.Abs("../internal/cards/testdata/v2.json")
	require.NoError(t, err)
	b.open("/#/sessions")
	b.waitFor("the import controls", `document.querySelector('#import-card')`, 10*time.Second)
	b.do("choose the card", chromedp.SetUploadFiles(chromedp.CSS("#import-card"), []string{card}))
	b.waitFor("the imported character's sheet", `location.hash.startsWith('#/characters/') && document.querySelector('h1')?.textContent === 'Ysolde'`, 30*time.Second)
	eval[bool](b, `(() => {
		const orig = URL.createObjectURL;
		URL.createObjectURL = (blob) => { window.__card = {type: blob.type, size: blob.size}; return orig(blob); };
		return true; })()`)
	b.click(".card-download")
	b.waitFor("the card download", `window.__card`, 15*time.Second)
	require.Equal(t, "image/png", eval[string](b, `window.__card.type`))
	require.Greater(t, eval[int](b, `window.__card.size`), 100)
	require.Empty(t, b.exceptions())
}
