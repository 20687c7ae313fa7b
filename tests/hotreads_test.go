package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// A write acknowledged to the player is what the very next read and turn
// see, with the hot cache (the default) and without it: a PATCH of the
// session's mode decides the next message at once, an undone exchange is
// not in the next turn's context, and a sheet changed by PATCH is the one
// the next turn's rules engine plays on, and a PATCH, a removal or a join
// acknowledged by one API replica decides the next message on another
// (docs/PERFORMANCE.md "Hot reads from Redis").
func TestAnAcknowledgedWriteIsSeenByTheNextTurn(t *testing.T) {
	for _, env := range []string{"HOT_CACHE=true", "HOT_CACHE=false"} {
		t.Run(env, func(t *testing.T) {
			srv := testkit.Start(t, testkit.Options{Env: []string{env, "DM_WORD_DELAY=0ms"}})

			t.Run("a mode PATCH decides the very next message", func(t *testing.T) {
				p := signUp(t, srv.URL)
				s := newSession(t, p, "")
				sp := "/api/sessions/" + s.ID
				play(t, p.Client, s.ID, "I look around.") // the settings are read (and cached) in free mode
				for i := 0; i < 2; i++ {
					setMode(t, p, s.ID, map[string]any{"mode": "rounds"})
					act(t, p, s.ID, "I wait for the others.") // rounds at once: an action of a round (act asserts it)
					setMode(t, p, s.ID, map[string]any{"mode": "free"})
					resp := p.Client.Do(t, "POST", sp+"/messages", map[string]any{"content": "I go on alone."})
					require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
					var out roundPost
					resp.JSON(t, &out)
					require.NotNil(t, out.Turn, "free at once: a turn: %s", resp.Body)
					require.Nil(t, out.Round)
					require.Equal(t, "completed", waitFinal(t, p.Client, out.Turn.ID, 60*time.Second).Status)
				}
			})

			t.Run("a mode PATCH on one API replica decides the next message on another", func(t *testing.T) {
				other := testkit.Start(t, testkit.Options{Command: "api", Env: []string{env}})
				p := signUp(t, srv.URL)
				s := newSession(t, p, "")
				sp := "/api/sessions/" + s.ID
				post := func(c *testkit.Client) roundPost {
					t.Helper()
					resp := c.Do(t, "POST", sp+"/messages", map[string]any{"content": "I press on."})
					require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
					var out roundPost
					resp.JSON(t, &out)
					return out
				}
				first := post(p.on(other.URL)) // the other replica reads (and caches) the settings
				require.Nil(t, first.Round)
				require.Equal(t, "completed", waitFinal(t, p.Client, first.Turn.ID, 60*time.Second).Status)
				for i := 0; i < 2; i++ {
					setMode(t, p, s.ID, map[string]any{"mode": "rounds"}) // on srv
					require.NotNil(t, post(p.on(other.URL)).Round, "rounds mode at once on the other replica")
					setMode(t, p, s.ID, map[string]any{"mode": "free"})
					out := post(p.on(other.URL))
					require.Nil(t, out.Round, "free mode at once on the other replica")
					require.Equal(t, "completed", waitFinal(t, p.Client, out.Turn.ID, 60*time.Second).Status)
				}

				// A removal and a join acknowledged on one replica decide the
				// member's next message on the other, whose members are cached.
				pt := newParty(t, srv.URL)
				there := pt.member.on(other.URL)
				_, tr := postMessage(t, there, pt.session.ID, "I check the map.")
				require.Equal(t, "completed", waitFinal(t, there, tr.ID, 60*time.Second).Status)
				resp := pt.owner.Client.Do(t, "DELETE", "/api/sessions/"+pt.session.ID+"/members/"+pt.member.ID, nil)
				require.Equal(t, http.StatusNoContent, resp.Status, string(resp.Body))
				resp = there.Do(t, "POST", "/api/sessions/"+pt.session.ID+"/messages", map[string]any{"content": "Wait for me!"})
				require.Equal(t, http.StatusNotFound, resp.Status, "removed at once: %s", resp.Body)
				join(t, pt.member, invite(t, pt.owner, pt.session.ID, nil))
				_, tr = postMessage(t, there, pt.session.ID, "I am back.")
				require.Equal(t, "completed", waitFinal(t, there, tr.ID, 60*time.Second).Status)
			})

			t.Run("an undone exchange is not in the next turn's context", func(t *testing.T) {
				p := signUp(t, srv.URL)
				s := newSession(t, p, "")
				play(t, p.Client, s.ID, "I step into the tavern.")
				pm, undone := play(t, p.Client, s.ID, "I steal the innkeeper's purple lantern.")
				resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/undo", nil)
				require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
				_, next := play(t, p.Client, s.ID, "Where is the purple lantern?")
				require.NotEmpty(t, next.Context)
				for _, c := range next.Context {
					require.NotEqual(t, pm.ID, c.MessageID, "the undone player message")
					require.NotEqual(t, *undone.DMMessageID, c.MessageID, "the undone reply")
				}
			})

			t.Run("a sheet PATCH is the sheet the next turn plays on", func(t *testing.T) {
				p := signUp(t, srv.URL)
				charID := ruledCharacter(t, p, map[string]any{
					"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"longsword"},
				})
				s := newSession(t, p, charID)
				_, dry := play(t, p.Client, s.ID, "I drink my healing potion.")
				require.Empty(t, getRuledTurn(t, p.Client, dry.ID).Changes, "no potion on the sheet: nothing to drink")

				resp := p.Client.Do(t, "PATCH", "/api/characters/"+charID, map[string]any{"sheet": map[string]any{
					"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"longsword", "healing potion"},
				}})
				require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
				_, drink := play(t, p.Client, s.ID, "I drink my healing potion.")
				require.NotEmpty(t, getRuledTurn(t, p.Client, drink.ID).Changes, "the potion the PATCH gave is drunk")
				require.Zero(t, sheetOf(t, p.Client, charID).qty("healing potion"))
			})
		})
	}
}
