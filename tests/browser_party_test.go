package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// Party play in the web client (issue 15), two players in two browsers:
// an invite link joins the second, typing shows to the other, and a
// whisper and its answer are shown to their author alone.
func TestBrowserPartyJoinTypingAndWhisper(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	owner, guest := signUp(t, srv.URL), signUp(t, srv.URL)
	s := newSession(t, owner, newCharacter(t, owner).ID)
	newCharacter(t, guest)

	ob := playing(t, srv.URL, owner, s.ID)
	ob.waitFor("the party panel", `document.querySelectorAll('.party-member').length === 1`, 15*time.Second)
	ob.click(".party-panel button")
	ob.waitFor("the invite link", `document.querySelector('.invite-link')?.value.includes('#/join/')`, 15*time.Second)
	link := eval[string](ob, `document.querySelector('.invite-link').value`)
	_, hash, ok := strings.Cut(link, "#")
	require.True(t, ok, link)

	gb := newBrowser(t, srv.URL, 1280, 860)
	gb.signInInBrowser(guest.Email)
	gb.open("/#" + hash)
	gb.waitFor("the join screen", `document.querySelector('.join-form select')?.options.length === 1`, 15*time.Second)
	gb.click(".join-form button[type=submit]")
	gb.waitFor("the game view, live", `location.hash.startsWith('#/play/') && document.querySelector('.connection')?.dataset.state === 'open'`, 15*time.Second)

	t.Run("the party panels show both players", func(t *testing.T) {
		ob.waitFor("two members for the owner", `document.querySelectorAll('.party-member').length === 2`, 15*time.Second)
		gb.waitFor("two members for the guest", `document.querySelectorAll('.party-member').length === 2`, 15*time.Second)
		ob.waitFor("the guest online", `document.querySelectorAll('.party-member[data-online="true"]').length === 2`, 15*time.Second)
	})
	t.Run("typing shows to the other player", func(t *testing.T) {
		gb.fill("#composer", "I reach")
		ob.waitFor("the guest typing", `document.querySelector('.party-typing')?.textContent.includes('typing')`, 15*time.Second)
		require.NotContains(t, gb.text(".party-typing"), "typing", "not to the typist")
	})
	t.Run("a whisper is shown to its author alone", func(t *testing.T) {
		gb.click("#whisper")
		gb.fill("#composer", " for the zanzibar coin in secret")
		gb.pressEnter()
		gb.waitFor("the whisper's answer", `[...document.querySelectorAll('.msg-whisper')].some(m => m.dataset.role === 'dm')`, 30*time.Second)
		require.Contains(t, gb.text("#story-log"), "zanzibar")
		// A public turn of the owner's reaches both; the whisper never the owner.
		ob.fill("#composer", "I keep watch at the door.")
		ob.pressEnter()
		gb.waitFor("the owner's public turn at the guest", `document.querySelector('#story-log').textContent.includes('keep watch')`, 30*time.Second)
		ob.waitFor("the owner's reply", `document.querySelectorAll('.msg-dm').length >= 1 && !document.querySelector('.msg-dm .msg-text:empty')`, 30*time.Second)
		require.NotContains(t, ob.text("#story-log"), "zanzibar")
		require.Zero(t, eval[int](ob, `document.querySelectorAll('.msg-whisper').length`))
		for _, m := range restMessages(t, owner, s.ID) {
			require.NotContains(t, m.Content, "zanzibar")
		}
		resp := owner.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/members", nil)
		require.Equal(t, http.StatusOK, resp.Status)
	})
	require.Empty(t, ob.exceptions())
	require.Empty(t, gb.exceptions())
}
