package tests

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

type round struct {
	ID       string   `json:"id"`
	Status   string   `json:"status"`
	ClosesAt string   `json:"closes_at"`
	TurnID   *string  `json:"turn_id"`
	Acted    []string `json:"acted"`
	Reason   string   `json:"reason"`
}

type roundPost struct {
	Message message
	Round   *round
	Turn    *turn
}

// act posts a public message in rounds mode.
func act(t *testing.T, p player, sessionID, content string) roundPost {
	t.Helper()
	resp := p.Client.Do(t, "POST", "/api/sessions/"+sessionID+"/messages", map[string]any{"content": content})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var out roundPost
	resp.JSON(t, &out)
	require.NotNil(t, out.Round, "rounds mode answers the round: %s", resp.Body)
	return out
}

// roundContext reads a round turn's recorded actions: who acted, what they did.
func roundContext(t *testing.T, p player, turnID string) map[string]string {
	t.Helper()
	resp := p.Client.Do(t, "GET", "/api/turns/"+turnID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Turn struct {
			Context []struct {
				MessageID string `json:"message_id"`
				Source    string `json:"source"`
				Title     string `json:"title"`
				Content   string `json:"content"`
			}
		}
	}
	resp.JSON(t, &out)
	acts := map[string]string{}
	for _, c := range out.Turn.Context {
		if c.Source == "round" {
			acts[c.Title] = c.Content
		}
	}
	return acts
}

func setMode(t *testing.T, p player, sessionID string, body map[string]any) {
	t.Helper()
	resp := p.Client.Do(t, "PATCH", "/api/sessions/"+sessionID, body)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Session struct {
			Mode         string `json:"mode"`
			RoundTimeout int    `json:"round_timeout"`
		}
	}
	resp.JSON(t, &out)
	if m, ok := body["mode"]; ok {
		require.Equal(t, m, out.Session.Mode)
	}
}

func TestRoundsModeOneTurnAnswersTheWholeParty(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms", "SWEEP_INTERVAL=1s"}})
	pt := newParty(t, srv.URL)
	sp := "/api/sessions/" + pt.session.ID

	t.Run("bad input and access", func(t *testing.T) {
		requireInvalidField(t, pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"mode": "turns"}), "mode")
		requireInvalidField(t, pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"round_timeout": 9}), "round_timeout")
		requireInvalidField(t, pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"round_timeout": 3601}), "round_timeout")
		require.Equal(t, http.StatusForbidden, pt.member.Client.Do(t, "PATCH", sp, map[string]any{"mode": "rounds"}).Status)
		require.Equal(t, http.StatusNotFound, pt.stranger.Client.Do(t, "PATCH", sp, map[string]any{"mode": "rounds"}).Status)
		require.Equal(t, http.StatusNotFound, pt.stranger.Client.Do(t, "POST", sp+"/rounds/close", nil).Status)
		require.Equal(t, http.StatusForbidden, pt.member.Client.Do(t, "POST", sp+"/rounds/close", nil).Status)
		requireAPIError(t, pt.owner.Client.Do(t, "POST", sp+"/rounds/close", nil), http.StatusConflict, "conflict")
	})

	setMode(t, pt.owner, pt.session.ID, map[string]any{"mode": "rounds", "round_timeout": 600})
	resp := pt.member.Client.Do(t, "PATCH", "/api/characters/"+pt.memberChar.ID, map[string]any{"name": "Bram"})
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	ownerLive := openStream(t, pt.owner.Client, sp+"/events")
	memberLive := openStream(t, pt.member.Client, sp+"/events")

	var turnID string
	t.Run("both act; the second action closes the round with ONE turn", func(t *testing.T) {
		first := act(t, pt.owner, pt.session.ID, "I kick the door open.")
		require.Equal(t, "open", first.Round.Status)
		require.Nil(t, first.Turn, "no turn while the round is open")
		require.Equal(t, []string{pt.owner.ID}, first.Round.Acted)

		resp := pt.owner.Client.Do(t, "POST", sp+"/messages", map[string]any{"content": "And again."})
		requireAPIError(t, resp, http.StatusConflict, "conflict")

		second := act(t, pt.member, pt.session.ID, "I loose an arrow at the lurking goblin.")
		require.Equal(t, first.Round.ID, second.Round.ID)
		require.Equal(t, "closed", second.Round.Status)
		require.Equal(t, "all_acted", second.Round.Reason)
		require.NotNil(t, second.Turn)
		require.NotNil(t, second.Round.TurnID)
		require.Equal(t, second.Turn.ID, *second.Round.TurnID)
		turnID = second.Turn.ID
		require.Equal(t, "completed", waitFinal(t, pt.owner.Client, turnID, 90*time.Second).Status)

		require.Equal(t, map[string]string{
			"Arwen": "I kick the door open.",
			"Bram":  "I loose an arrow at the lurking goblin.",
		}, roundContext(t, pt.member, turnID), "the turn's prompt presents both actions, each by its character")

		// The first action has no turn of its own: the round turn embedded it.
		scores := vectorScores(t, pt.owner, pt.session.ID, "kick+the+door+open", 50)
		found := scores[first.Message.ID] > 0
		require.True(t, found, "memory finds the first action by its vector: %v", scores)
	})
	t.Run("both players see the round's events", func(t *testing.T) {
		for name, s := range map[string]*stream{"owner": ownerLive, "member": memberLive} {
			seen := map[string]int{}
			for _, ev := range s.until(t, 60*time.Second, isDone(turnID)) {
				seen[ev.Type]++
				if ev.Type == "round.closed" {
					require.Equal(t, turnID, fmt.Sprint(ev.Data["turn_id"]), name)
				}
			}
			require.Equal(t, 1, seen["round.opened"], name)
			require.Equal(t, 2, seen["round.action"], name)
			require.Equal(t, 1, seen["round.closed"], name)
		}
	})
	t.Run("a regenerated round turn answers the same round", func(t *testing.T) {
		resp := pt.owner.Client.Do(t, "POST", "/api/turns/"+turnID+"/regenerate", nil)
		require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
		var out struct{ Turn turn }
		resp.JSON(t, &out)
		require.Equal(t, "completed", waitFinal(t, pt.owner.Client, out.Turn.ID, 90*time.Second).Status)
		require.Len(t, roundContext(t, pt.owner, out.Turn.ID), 2, "both actions again")
	})
	t.Run("whispers stay turns of their own", func(t *testing.T) {
		_, tr := postAs(t, pt.member.Client, pt.session.ID, "I pocket the key.", "private")
		require.NotEmpty(t, tr.ID)
		require.Equal(t, "completed", waitFinal(t, pt.member.Client, tr.ID, 90*time.Second).Status)
	})
	t.Run("the owner closes a round early", func(t *testing.T) {
		first := act(t, pt.member, pt.session.ID, "I search the chest.")
		require.Equal(t, "open", first.Round.Status)
		resp := pt.owner.Client.Do(t, "POST", sp+"/rounds/close", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct {
			Round round
			Turn  *turn
		}
		resp.JSON(t, &out)
		require.Equal(t, "closed", out.Round.Status)
		require.Equal(t, "owner", out.Round.Reason)
		require.NotNil(t, out.Turn)
		require.Equal(t, "completed", waitFinal(t, pt.owner.Client, out.Turn.ID, 90*time.Second).Status)
		require.Equal(t, map[string]string{"Bram": "I search the chest."}, roundContext(t, pt.owner, out.Turn.ID))
		requireAPIError(t, pt.owner.Client.Do(t, "POST", sp+"/rounds/close", nil), http.StatusConflict, "conflict")
	})
	t.Run("the sweeper closes a round whose time passed", func(t *testing.T) {
		setMode(t, pt.owner, pt.session.ID, map[string]any{"round_timeout": 10})
		first := act(t, pt.owner, pt.session.ID, "I wait by the fire.")
		require.Equal(t, "open", first.Round.Status)
		evs := memberLive.until(t, 60*time.Second, func(ev sseEvent) bool {
			return ev.Type == "round.closed" && ev.Data["round_id"] == first.Round.ID
		})
		closed := evs[len(evs)-1]
		require.Equal(t, "timeout", closed.Data["reason"])
		tid := fmt.Sprint(closed.Data["turn_id"])
		require.Equal(t, "completed", waitFinal(t, pt.member.Client, tid, 90*time.Second).Status)
		require.Equal(t, map[string]string{"Arwen": "I wait by the fire."}, roundContext(t, pt.member, tid))
	})
	t.Run("the rules engine resolves the last action on its own author's character", func(t *testing.T) {
		setMode(t, pt.owner, pt.session.ID, map[string]any{"round_timeout": 600})
		healer := signUp(t, srv.URL)
		potionID := ruledCharacter(t, healer, map[string]any{"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"healing potion"}})
		resp := healer.Client.Do(t, "POST", "/api/invites/"+invite(t, pt.owner, pt.session.ID, nil)+"/join", map[string]any{"character_id": potionID})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		act(t, pt.owner, pt.session.ID, "I keep watch.")
		act(t, pt.member, pt.session.ID, "I hum a tune.")
		last := act(t, healer, pt.session.ID, "I drink my healing potion.")
		require.NotNil(t, last.Turn, "the third member's action completes the round")
		require.Equal(t, "completed", waitFinal(t, healer.Client, last.Turn.ID, 90*time.Second).Status)
		requireDrankOwnPotion(t, healer, potionID, pt.owner, pt.ownerChar.ID)
	})
	t.Run("back to free mode: every message is a turn again", func(t *testing.T) {
		setMode(t, pt.owner, pt.session.ID, map[string]any{"mode": "free"})
		_, tr := postMessage(t, pt.member.Client, pt.session.ID, "I stretch.")
		require.NotEmpty(t, tr.ID)
	})
}

// requireDrankOwnPotion checks that the healer's potion was drunk from their
// own character and that the owner's character has no change.
func requireDrankOwnPotion(t *testing.T, healer player, potionID string, owner player, ownerCharID string) {
	t.Helper()
	resp := healer.Client.Do(t, "GET", "/api/characters/"+potionID, nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var out struct{ Character struct{ Sheet ruledSheet } }
	resp.JSON(t, &out)
	require.Zero(t, out.Character.Sheet.qty("healing potion"), "the healer drank their own potion")
	resp = owner.Client.Do(t, "GET", "/api/characters/"+ownerCharID+"/history", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var hist struct{ Changes []any }
	resp.JSON(t, &hist)
	require.Empty(t, hist.Changes, "the owner's character is untouched")
}

// vectorScores searches a session's memory (q URL-encoded) and returns
// each result's vector score by message id.
func vectorScores(t *testing.T, p player, sessionID, q string, k int) map[string]float64 {
	t.Helper()
	resp := p.Client.Do(t, "GET", fmt.Sprintf("/api/sessions/%s/memory?k=%d&q=%s", sessionID, k, q), nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Results []struct {
			Message     message
			VectorScore float64 `json:"vector_score"`
		}
	}
	resp.JSON(t, &out)
	scores := map[string]float64{}
	for _, r := range out.Results {
		scores[r.Message.ID] = r.VectorScore
	}
	return scores
}

// openRoundOf reads GET /api/sessions/{id}'s open_round as p (nil: none).
func openRoundOf(t *testing.T, p player, sessionID string) *struct {
	RoundID  string   `json:"round_id"`
	ClosesAt string   `json:"closes_at"`
	Acted    []string `json:"acted"`
	Awaiting []string `json:"awaiting"`
} {
	t.Helper()
	resp := p.Client.Do(t, "GET", "/api/sessions/"+sessionID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Session struct {
			OpenRound *struct {
				RoundID  string   `json:"round_id"`
				ClosesAt string   `json:"closes_at"`
				Acted    []string `json:"acted"`
				Awaiting []string `json:"awaiting"`
			} `json:"open_round"`
		}
	}
	resp.JSON(t, &out)
	require.Contains(t, string(resp.Body), `"open_round":`, "open_round is always there, null when no round is open")
	return out.Session.OpenRound
}

// A page loaded mid-round learns who still has to act from the session
// itself, not only from round.* events it may have missed.
func TestSessionShowsTheOpenRound(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	pt := newParty(t, srv.URL)
	sp := "/api/sessions/" + pt.session.ID

	require.Nil(t, openRoundOf(t, pt.member, pt.session.ID), "free mode: no round")
	setMode(t, pt.owner, pt.session.ID, map[string]any{"mode": "rounds", "round_timeout": 600})
	require.Nil(t, openRoundOf(t, pt.member, pt.session.ID), "rounds mode before the first action: no round yet")

	first := act(t, pt.owner, pt.session.ID, "I light the lantern.")
	r := openRoundOf(t, pt.member, pt.session.ID)
	require.NotNil(t, r, "the other member sees the round the owner opened")
	require.Equal(t, first.Round.ID, r.RoundID)
	require.Equal(t, first.Round.ClosesAt, r.ClosesAt)
	require.Equal(t, []string{pt.owner.ID}, r.Acted)
	require.Equal(t, []string{pt.member.ID}, r.Awaiting, "the round awaits the member who has not acted")
	require.Equal(t, r, openRoundOf(t, pt.owner, pt.session.ID), "every member reads the same round")

	require.Equal(t, http.StatusNotFound, pt.stranger.Client.Do(t, "GET", sp, nil).Status, "a stranger learns nothing")

	second := act(t, pt.member, pt.session.ID, "I follow with my bow drawn.")
	require.Equal(t, "closed", second.Round.Status)
	require.Nil(t, openRoundOf(t, pt.member, pt.session.ID), "the round closed: none open")
	require.NotNil(t, second.Turn)
	waitFinal(t, pt.owner.Client, second.Turn.ID, 90*time.Second)
}
