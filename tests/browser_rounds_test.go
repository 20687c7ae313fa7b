package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// TestBrowserRoundsMode: the owner switches to rounds in the party panel and
// acts from the composer; the panel shows who acted and who is awaited; the
// member's action (over REST) closes the round, and the ONE reply arrives.
// The member's page, opened mid-round, shows the open round from the start.
func TestBrowserRoundsMode(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	pt := newParty(t, srv.URL)
	ob := playing(t, srv.URL, pt.owner, pt.session.ID)
	ob.waitFor("the party panel", `document.querySelectorAll('.party-member').length === 2`, 15*time.Second)

	ob.click("#rounds-mode")
	ob.waitFor("rounds mode", `document.querySelector('.party-round')?.textContent.includes('Rounds mode')`, 15*time.Second)
	resp := pt.owner.Client.Do(t, "GET", "/api/sessions/"+pt.session.ID, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	require.Contains(t, string(resp.Body), `"mode":"rounds"`)

	ob.fill("#composer", "I kick the door open.")
	ob.pressEnter()
	ob.waitFor("the open round", `document.querySelector('.party-round')?.textContent.includes('Round open')`, 15*time.Second)
	line := ob.text(".party-round")
	require.Contains(t, line, "Acted: Tester")
	require.Contains(t, line, "Waiting for: Tester", "the member is awaited")
	require.Empty(t, restTurnsOf(t, pt.owner, pt.session.ID), "no turn while the round is open")

	// The member opens the game mid-round: their page saw none of the
	// round's events and shows the round from the session (open_round).
	mb := playing(t, srv.URL, pt.member, pt.session.ID)
	mb.waitFor("the open round on load", `document.querySelector('.party-round')?.textContent.includes('Round open')`, 15*time.Second)
	mline := mb.text(".party-round")
	require.Contains(t, mline, "Acted: Tester")
	require.Contains(t, mline, "Waiting for: Tester", "the member's own page shows the round awaits them")

	act(t, pt.member, pt.session.ID, "I loose an arrow at the lurking goblin.")
	ob.waitFor("the member's action in the log", `document.querySelector('#story-log').textContent.includes('lurking goblin')`, 15*time.Second)
	ob.waitFor("the round closed", `document.querySelector('.party-round')?.textContent.includes('closed')`, 15*time.Second)
	ob.waitFor("the DM's one reply", `document.querySelectorAll('.msg-dm').length === 1 && !document.querySelector('.msg-dm .msg-text:empty')`, 60*time.Second)
	mb.waitFor("the round closed for the member", `document.querySelector('.party-round')?.textContent.includes('closed')`, 15*time.Second)
	require.Empty(t, ob.exceptions())
	require.Empty(t, mb.exceptions())
}

// restTurnsOf lists the turn ids of a session's messages.
func restTurnsOf(t *testing.T, p player, sessionID string) []string {
	t.Helper()
	var ids []string
	for _, m := range restMessages(t, p, sessionID) {
		if m.TurnID != nil {
			ids = append(ids, *m.TurnID)
		}
	}
	return ids
}
