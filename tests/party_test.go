package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// invite makes an invite of the owner's session and returns its code.
func invite(t *testing.T, owner player, sessionID string, body map[string]any) string {
	t.Helper()
	resp := owner.Client.Do(t, "POST", "/api/sessions/"+sessionID+"/invites", body)
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out struct {
		Invite struct {
			Code string `json:"code"`
		} `json:"invite"`
	}
	resp.JSON(t, &out)
	require.NotEmpty(t, out.Invite.Code)
	return out.Invite.Code
}

// join makes p a member of the invite's session with a new character of theirs.
func join(t *testing.T, p player, code string) character {
	t.Helper()
	ch := newCharacter(t, p)
	resp := p.Client.Do(t, "POST", "/api/invites/"+code+"/join", map[string]any{"character_id": ch.ID})
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	return ch
}

type member struct {
	PlayerID    string  `json:"player_id"`
	DisplayName string  `json:"display_name"`
	CharacterID *string `json:"character_id"`
	Role        string  `json:"role"`
	Online      bool    `json:"online"`
}

func members(t *testing.T, p player, sessionID string) []member {
	t.Helper()
	resp := p.Client.Do(t, "GET", "/api/sessions/"+sessionID+"/members", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Members []member }
	resp.JSON(t, &out)
	return out.Members
}

// party is an owner's session with a member and a stranger.
type party struct {
	owner, member, stranger player
	session                 session
	ownerChar, memberChar   character
}

func newParty(t *testing.T, base string) party {
	t.Helper()
	var pt party
	pt.owner, pt.member, pt.stranger = signUp(t, base), signUp(t, base), signUp(t, base)
	pt.ownerChar = newCharacter(t, pt.owner)
	pt.session = newSession(t, pt.owner, pt.ownerChar.ID)
	pt.memberChar = join(t, pt.member, invite(t, pt.owner, pt.session.ID, nil))
	return pt
}

func TestPartyInvitesAndMembers(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	owner, bob, carol := signUp(t, srv.URL), signUp(t, srv.URL), signUp(t, srv.URL)
	ownerChar := newCharacter(t, owner)
	s := newSession(t, owner, ownerChar.ID)
	sp := "/api/sessions/" + s.ID

	t.Run("invites refuse bad input with the field named", func(t *testing.T) {
		for _, body := range []map[string]any{{"max_uses": 0}, {"max_uses": 101}, {"expires_in": 10}, {"expires_in": 40 * 24 * 3600}, {"color": "red"}} {
			resp := owner.Client.Do(t, "POST", sp+"/invites", body)
			require.Equal(t, http.StatusBadRequest, resp.Status, "%v: %s", body, resp.Body)
			require.Equal(t, "invalid_request", resp.ErrorCode())
		}
	})
	t.Run("a stranger cannot invite to a session they do not know", func(t *testing.T) {
		resp := carol.Client.Do(t, "POST", sp+"/invites", map[string]any{})
		require.Equal(t, http.StatusNotFound, resp.Status)
	})

	once := invite(t, owner, s.ID, map[string]any{"max_uses": 1, "expires_in": 3600})
	bobChar := newCharacter(t, bob)

	t.Run("joining needs one of your own characters", func(t *testing.T) {
		resp := bob.Client.Do(t, "POST", "/api/invites/"+once+"/join", map[string]any{"character_id": ownerChar.ID})
		require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
		resp = bob.Client.Do(t, "POST", "/api/invites/"+once+"/join", map[string]any{})
		require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
	})
	t.Run("a member joins with a code and plays their own character", func(t *testing.T) {
		resp := bob.Client.Do(t, "POST", "/api/invites/"+once+"/join", map[string]any{"character_id": bobChar.ID})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct {
			Session session
			Member  member
		}
		resp.JSON(t, &out)
		require.Equal(t, s.ID, out.Session.ID)
		require.Equal(t, "player", out.Member.Role)
		require.Equal(t, bobChar.ID, *out.Member.CharacterID)

		again := bob.Client.Do(t, "POST", "/api/invites/"+once+"/join", map[string]any{"character_id": bobChar.ID})
		require.Equal(t, http.StatusNotFound, again.Status, "the one-use code is used up")
	})
	t.Run("dead codes are not found", func(t *testing.T) {
		carolChar := newCharacter(t, carol)
		revoked := invite(t, owner, s.ID, nil)
		require.Equal(t, http.StatusNoContent, owner.Client.Do(t, "DELETE", sp+"/invites/"+revoked, nil).Status)
		for _, code := range []string{once, revoked, "AAAAAAAAAAAAAAAAAAAAAA", "not-a-code"} {
			resp := carol.Client.Do(t, "POST", "/api/invites/"+code+"/join", map[string]any{"character_id": carolChar.ID})
			require.Equal(t, http.StatusNotFound, resp.Status, "code %q: %s", code, resp.Body)
		}
		require.Equal(t, http.StatusNotFound, owner.Client.Do(t, "DELETE", sp+"/invites/"+revoked, nil).Status, "revoked twice")
	})
	t.Run("members see the party; strangers do not", func(t *testing.T) {
		ms := members(t, bob, s.ID)
		require.Len(t, ms, 2)
		require.Equal(t, owner.ID, ms[0].PlayerID)
		require.Equal(t, "owner", ms[0].Role)
		require.Equal(t, ownerChar.ID, *ms[0].CharacterID)
		require.Equal(t, bob.ID, ms[1].PlayerID)
		require.Equal(t, "Tester", ms[1].DisplayName)
		require.Equal(t, http.StatusNotFound, carol.Client.Do(t, "GET", sp+"/members", nil).Status)
	})
	t.Run("only the owner invites and removes", func(t *testing.T) {
		require.Equal(t, http.StatusForbidden, bob.Client.Do(t, "POST", sp+"/invites", map[string]any{}).Status)
		require.Equal(t, http.StatusForbidden, bob.Client.Do(t, "DELETE", sp+"/members/"+owner.ID, nil).Status)
		require.Equal(t, http.StatusConflict, owner.Client.Do(t, "DELETE", sp+"/members/"+owner.ID, nil).Status, "the owner cannot leave")
		require.Equal(t, http.StatusNotFound, carol.Client.Do(t, "DELETE", sp+"/members/"+bob.ID, nil).Status)
		require.Equal(t, http.StatusBadRequest, owner.Client.Do(t, "DELETE", sp+"/members/nope", nil).Status)
	})
	t.Run("a member leaves", func(t *testing.T) {
		dave := signUp(t, srv.URL)
		join(t, dave, invite(t, owner, s.ID, nil))
		require.Equal(t, http.StatusNoContent, dave.Client.Do(t, "DELETE", sp+"/members/"+dave.ID, nil).Status)
		require.Equal(t, http.StatusNotFound, dave.Client.Do(t, "GET", sp, nil).Status)
	})
	t.Run("open invites are capped", func(t *testing.T) {
		other := newSession(t, owner, "")
		for i := 0; i < 10; i++ {
			invite(t, owner, other.ID, nil)
		}
		resp := owner.Client.Do(t, "POST", "/api/sessions/"+other.ID+"/invites", nil)
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
	})
}

func TestRemovedMemberLosesTheSessionOnEveryReplica(t *testing.T) {
	a := testkit.Start(t, testkit.Options{})
	b := testkit.Start(t, testkit.Options{Command: "api"})
	pt := newParty(t, a.URL)
	sp := "/api/sessions/" + pt.session.ID

	memberStream := openStream(t, pt.member.on(b.URL), sp+"/events")
	memberTicket := ticketStream(t, pt.member.Client, b.URL, pt.session.ID)
	ownerStream := openStream(t, pt.owner.on(b.URL), sp+"/events")
	require.False(t, memberStream.ended(time.Second), "the member's stream is open")

	require.Equal(t, http.StatusNoContent, pt.owner.Client.Do(t, "DELETE", sp+"/members/"+pt.member.ID, nil).Status)

	t.Run("their streams on another replica end at once", func(t *testing.T) {
		require.True(t, memberStream.ended(10*time.Second), "the bearer stream ended")
		require.True(t, memberTicket.ended(10*time.Second), "the ticket stream ended")
	})
	t.Run("the party hears that they left", func(t *testing.T) {
		evs := ownerStream.until(t, 10*time.Second, func(ev sseEvent) bool { return ev.Type == "member.left" })
		left := evs[len(evs)-1]
		require.Equal(t, pt.member.ID, left.Data["player_id"])
		require.Equal(t, pt.memberChar.ID, left.Data["character_id"])
	})
	t.Run("every later request of theirs to the session is not found", func(t *testing.T) {
		for _, c := range []*testkit.Client{pt.member.Client, pt.member.on(b.URL)} {
			for _, rq := range [][2]string{{"GET", sp}, {"GET", sp + "/messages"}, {"GET", sp + "/members"}, {"GET", sp + "/memory?q=x"}, {"GET", sp + "/events"}} {
				require.Equal(t, http.StatusNotFound, c.Do(t, rq[0], rq[1], nil).Status, rq[1])
			}
			resp := c.Do(t, "POST", sp+"/messages", map[string]any{"content": "I am still here"})
			require.Equal(t, http.StatusNotFound, resp.Status, string(resp.Body))
			resp = c.Do(t, "POST", "/api/stream-tickets", map[string]any{"session_id": pt.session.ID})
			require.Equal(t, http.StatusNotFound, resp.Status, string(resp.Body))
		}
	})
	t.Run("the owner's stream stays open", func(t *testing.T) {
		require.False(t, ownerStream.ended(2*time.Second))
	})
}

// TestEverySessionRouteByRole runs the session routes as the owner's
// member, as a removed member and as a stranger: members read and post,
// only the owner changes the session, the others learn nothing.
func TestEverySessionRouteByRole(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	pt := newParty(t, srv.URL)
	removed := signUp(t, srv.URL)
	join(t, removed, invite(t, pt.owner, pt.session.ID, nil))
	sp := "/api/sessions/" + pt.session.ID
	require.Equal(t, http.StatusNoContent, pt.owner.Client.Do(t, "DELETE", sp+"/members/"+removed.ID, nil).Status)

	resp := pt.owner.Client.Do(t, "POST", sp+"/lore", map[string]any{"title": "Bram", "keys": []string{"Bram"}, "content": "The smith."})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var lore struct{ Lore struct{ ID string } }
	resp.JSON(t, &lore)
	_, ownerTurn := postMessage(t, pt.owner.Client, pt.session.ID, "I look for Bram.")
	require.Equal(t, "completed", waitFinal(t, pt.owner.Client, ownerTurn.ID, 60*time.Second).Status)

	routes := []struct {
		method, path string
		body         map[string]any
		member       int // what a member gets; the owner's own checks are elsewhere
	}{
		{"GET", sp, nil, http.StatusOK},
		{"GET", sp + "/messages", nil, http.StatusOK},
		{"POST", sp + "/messages", map[string]any{"content": "I follow."}, http.StatusAccepted},
		{"GET", sp + "/memory?q=Bram", nil, http.StatusOK},
		{"POST", sp + "/rolls", map[string]any{"notation": "1d20"}, http.StatusCreated},
		{"GET", sp + "/members", nil, http.StatusOK},
		{"GET", sp + "/lore", nil, http.StatusOK},
		{"GET", "/api/lore/" + lore.Lore.ID, nil, http.StatusOK},
		{"POST", sp + "/exports", map[string]any{"format": "json"}, http.StatusAccepted},
		{"GET", "/api/turns/" + ownerTurn.ID, nil, http.StatusOK},
		{"POST", sp + "/lore", map[string]any{"title": "X", "keys": []string{"Xavier"}, "content": "x"}, http.StatusForbidden},
		{"PATCH", "/api/lore/" + lore.Lore.ID, map[string]any{"content": "changed"}, http.StatusForbidden},
		{"DELETE", "/api/lore/" + lore.Lore.ID, nil, http.StatusForbidden},
		{"POST", sp + "/invites", map[string]any{}, http.StatusForbidden},
		{"DELETE", sp + "/members/" + pt.owner.ID, nil, http.StatusForbidden},
		{"POST", "/api/turns/" + ownerTurn.ID + "/cancel", nil, http.StatusForbidden},
		{"PATCH", sp, map[string]any{"title": "Mine now"}, http.StatusForbidden},
		{"POST", sp + "/rounds/close", nil, http.StatusForbidden},
		{"DELETE", sp, nil, http.StatusForbidden},
	}
	for _, rt := range routes {
		name := rt.method + " " + strings.Replace(rt.path, pt.session.ID, "{id}", 1)
		t.Run(name+": a member", func(t *testing.T) {
			resp := pt.member.Client.Do(t, rt.method, rt.path, rt.body)
			require.Equal(t, rt.member, resp.Status, string(resp.Body))
		})
		for who, p := range map[string]player{"a removed member": removed, "a stranger": pt.stranger} {
			t.Run(name+": "+who, func(t *testing.T) {
				resp := p.Client.Do(t, rt.method, rt.path, rt.body)
				require.Equal(t, http.StatusNotFound, resp.Status, string(resp.Body))
			})
		}
	}
	t.Run("stream tickets: members only", func(t *testing.T) {
		body := map[string]any{"session_id": pt.session.ID}
		require.Equal(t, http.StatusCreated, pt.member.Client.Do(t, "POST", "/api/stream-tickets", body).Status)
		require.Equal(t, http.StatusNotFound, removed.Client.Do(t, "POST", "/api/stream-tickets", body).Status)
		require.Equal(t, http.StatusNotFound, pt.stranger.Client.Do(t, "POST", "/api/stream-tickets", body).Status)
	})
	t.Run("the owner renames the session; bad input names the field", func(t *testing.T) {
		resp := pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"title": "The Drowned Keep", "mode": "free"})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct{ Session session }
		resp.JSON(t, &out)
		require.Equal(t, "The Drowned Keep", out.Session.Title)
		requireInvalidField(t, pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"title": ""}), "title")
		requireInvalidField(t, pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"mode": "chaos"}), "mode")
		requireInvalidField(t, pt.owner.Client.Do(t, "PATCH", sp, map[string]any{"round_timeout": 5}), "round_timeout")
	})
	t.Run("the owner deletes the session, and its members lose it", func(t *testing.T) {
		require.Equal(t, http.StatusNoContent, pt.owner.Client.Do(t, "DELETE", sp, nil).Status)
		require.Equal(t, http.StatusNotFound, pt.member.Client.Do(t, "GET", sp, nil).Status)
	})
}

func TestFreeModeAnswersASessionsTurnsOneAtATimeInOrder(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=15ms"}})
	pt := newParty(t, srv.URL)
	healer := signUp(t, srv.URL)
	potionID := ruledCharacter(t, healer, map[string]any{"hp": map[string]int{"current": 4, "max": 30}, "inventory": []any{"healing potion"}})
	resp := healer.Client.Do(t, "POST", "/api/invites/"+invite(t, pt.owner, pt.session.ID, nil)+"/join", map[string]any{"character_id": potionID})
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	// Two players act at once; the DM answers them in order of arrival.
	_, first := postMessage(t, pt.owner.Client, pt.session.ID, "I kick the door open.")
	_, second := postMessage(t, healer.Client, pt.session.ID, "I drink my healing potion.")
	a := waitFinal(t, pt.owner.Client, first.ID, 90*time.Second)
	b := waitFinal(t, healer.Client, second.ID, 90*time.Second)
	require.Equal(t, "completed", a.Status)
	require.Equal(t, "completed", b.Status)

	t.Run("the second turn is generated after the first ended", func(t *testing.T) {
		require.NotNil(t, a.Timings["finished_at"])
		require.NotNil(t, b.Timings["generate_started_at"])
		require.False(t, b.Timings["generate_started_at"].Before(*a.Timings["finished_at"]),
			"generation of the second turn began %s, the first ended %s", b.Timings["generate_started_at"], a.Timings["finished_at"])
	})
	t.Run("the second turn's prompt holds the first turn's reply", func(t *testing.T) {
		found := false
		for _, c := range b.Context {
			found = found || c.MessageID == *a.DMMessageID
		}
		require.True(t, found, "the DM's first reply is in the second turn's context")
	})
	t.Run("the rules engine changes the acting member's character", func(t *testing.T) {
		requireDrankOwnPotion(t, healer, potionID, pt.owner, pt.ownerChar.ID)
	})
}

func TestPresenceFollowsStreamsAcrossReplicas(t *testing.T) {
	a := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"PRESENCE_GRACE=1s"}})
	b := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"PRESENCE_GRACE=1s"}})
	pt := newParty(t, a.URL)
	sp := "/api/sessions/" + pt.session.ID
	ownerLive := openStream(t, pt.owner.on(a.URL), sp+"/events")
	online := func(p player) bool {
		for _, m := range members(t, pt.owner, pt.session.ID) {
			if m.PlayerID == p.ID {
				return m.Online
			}
		}
		return false
	}
	presence := func(want bool) func(sseEvent) bool {
		return func(ev sseEvent) bool {
			return ev.Type == "presence" && ev.Data["player_id"] == pt.member.ID && ev.Data["online"] == want
		}
	}

	memberLive := openStream(t, pt.member.on(b.URL), sp+"/events")
	t.Run("a stream on another replica brings the member online", func(t *testing.T) {
		ownerLive.until(t, 10*time.Second, presence(true))
		require.True(t, online(pt.member))
		require.False(t, online(pt.stranger))
	})
	t.Run("a reload within the grace period is not a leave", func(t *testing.T) {
		memberLive.close()
		again := openStream(t, pt.member.on(a.URL), sp+"/events")
		time.Sleep(2 * time.Second)
		require.True(t, online(pt.member))
		again.close()
	})
	t.Run("closing the last stream takes the member offline after the grace period", func(t *testing.T) {
		ownerLive.until(t, 15*time.Second, presence(false))
		require.False(t, online(pt.member))
	})
}
