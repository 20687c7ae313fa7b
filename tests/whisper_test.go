package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// postAs posts a message with a visibility and returns it and its turn.
func postAs(t *testing.T, c *testkit.Client, sessionID, content, visibility string) (message, turn) {
	t.Helper()
	resp := c.Do(t, "POST", "/api/sessions/"+sessionID+"/messages", map[string]any{"content": content, "visibility": visibility})
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var out struct {
		Message message
		Turn    turn
	}
	resp.JSON(t, &out)
	return out.Message, out.Turn
}

type visibleMessage struct {
	ID, Role, Content, Visibility string
	TurnID                        *string `json:"turn_id"`
}

func visibleMessages(t *testing.T, c *testkit.Client, sessionID string) map[string]visibleMessage {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/messages?limit=100", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Messages []visibleMessage }
	resp.JSON(t, &out)
	byID := map[string]visibleMessage{}
	for _, m := range out.Messages {
		byID[m.ID] = m
	}
	return byID
}

func memoryIDSet(t *testing.T, c *testkit.Client, sessionID, q string) map[string]bool {
	t.Helper()
	resp := c.Do(t, "GET", "/api/sessions/"+sessionID+"/memory?k=50&q="+q, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Results []struct{ Message visibleMessage }
	}
	resp.JSON(t, &out)
	ids := map[string]bool{}
	for _, r := range out.Results {
		ids[r.Message.ID] = true
	}
	return ids
}

func TestWhispersAreSeenByTheirPlayerAlone(t *testing.T) {
	a := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=0ms"}})
	b := testkit.Start(t, testkit.Options{Command: "api"})
	pt := newParty(t, a.URL)
	sp := "/api/sessions/" + pt.session.ID
	const secret = "zanzibar"

	// The owner listens on replica B, the whisperer on replica A.
	ownerLive := openStream(t, pt.owner.on(b.URL), sp+"/events")
	memberLive := openStream(t, pt.member.Client, sp+"/events")

	pm, pt1 := postAs(t, pt.member.Client, pt.session.ID, "I secretly pocket the "+secret+" key.", "private")
	mine := memberLive.until(t, 60*time.Second, isDone(pt1.ID))
	whisperReply := mine[len(mine)-1].Data["message"].(map[string]any)
	require.Equal(t, "private", whisperReply["visibility"], "the DM's answer to a whisper is private too")
	whisperReplyID := fmt.Sprint(whisperReply["id"])

	// A public turn of the owner's that asks about the secret afterwards.
	_, pub := postAs(t, pt.owner.Client, pt.session.ID, "I ask the innkeeper about the "+secret+" key.", "public")
	ownerSaw := ownerLive.until(t, 60*time.Second, isDone(pub.ID))
	memberSaw := memberLive.until(t, 60*time.Second, isDone(pub.ID))

	t.Run("live streams: the whisper's events reach its player alone, on every replica", func(t *testing.T) {
		var whisperEvents int
		for _, ev := range mine {
			if fmt.Sprint(ev.Data["turn_id"]) == pt1.ID {
				whisperEvents++
			}
		}
		require.Greater(t, whisperEvents, 2, "the whisperer saw the whole turn")
		for _, ev := range ownerSaw {
			require.NotEqual(t, pt1.ID, fmt.Sprint(ev.Data["turn_id"]), "the owner got a %s of the whisper", ev.Type)
		}
		require.True(t, isDone(pub.ID)(memberSaw[len(memberSaw)-1]), "public turns reach everybody")
	})
	t.Run("replay: resuming from the start leaves the whisper out", func(t *testing.T) {
		for _, base := range []string{a.URL, b.URL} {
			replay := openStream(t, pt.owner.on(base), sp+"/events?last_event_id=0-1")
			evs := replay.until(t, 30*time.Second, isDone(pub.ID))
			replay.close()
			for _, ev := range evs {
				require.NotEqual(t, pt1.ID, fmt.Sprint(ev.Data["turn_id"]), "replay on %s sent a %s of the whisper", base, ev.Type)
			}
			mineAgain := openStream(t, pt.member.on(base), sp+"/events?last_event_id=0-1")
			got := mineAgain.until(t, 30*time.Second, isDone(pt1.ID))
			mineAgain.close()
			require.True(t, isDone(pt1.ID)(got[len(got)-1]), "the whisperer's replay has the whisper")
		}
	})
	t.Run("REST pages: the whisper and its answer are the whisperer's", func(t *testing.T) {
		ownerView := visibleMessages(t, pt.owner.Client, pt.session.ID)
		require.NotContains(t, ownerView, pm.ID)
		require.NotContains(t, ownerView, whisperReplyID)
		memberView := visibleMessages(t, pt.member.Client, pt.session.ID)
		require.Equal(t, "private", memberView[pm.ID].Visibility)
		require.Equal(t, "private", memberView[whisperReplyID].Visibility)
		for _, m := range ownerView {
			require.Equal(t, "public", m.Visibility)
		}
	})
	t.Run("turns: another player cannot open the whisper's turn", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, pt.owner.Client.Do(t, "GET", "/api/turns/"+pt1.ID, nil).Status)
		require.Equal(t, http.StatusNotFound, pt.owner.Client.Do(t, "GET", "/api/turns/"+pt1.ID+"/events", nil).Status)
		require.Equal(t, http.StatusOK, pt.member.Client.Do(t, "GET", "/api/turns/"+pt1.ID, nil).Status)
	})
	t.Run("memory search: whispers are found by their player only", func(t *testing.T) {
		require.NotContains(t, memoryIDSet(t, pt.owner.Client, pt.session.ID, secret), pm.ID)
		require.NotContains(t, memoryIDSet(t, pt.owner.on(b.URL), pt.session.ID, secret), whisperReplyID)
		require.Contains(t, memoryIDSet(t, pt.member.Client, pt.session.ID, secret), pm.ID)
	})
	t.Run("turn context: a public turn never retrieves a whisper", func(t *testing.T) {
		// The owner's turn asks about the whispered word: without the filter,
		// keyword search would find the whisper first.
		for _, c := range getTurn(t, pt.owner.Client, pub.ID).Context {
			require.NotEqual(t, pm.ID, c.MessageID)
			require.NotEqual(t, whisperReplyID, c.MessageID)
		}
	})
	t.Run("a whisper's turn sees its player's earlier whispers", func(t *testing.T) {
		_, again := postAs(t, pt.member.Client, pt.session.ID, "Where did I hide the "+secret+" key?", "private")
		require.Equal(t, "completed", waitFinal(t, pt.member.Client, again.ID, 60*time.Second).Status)
		found := false
		for _, c := range getTurn(t, pt.member.Client, again.ID).Context {
			found = found || c.MessageID == pm.ID
		}
		require.True(t, found, "the earlier whisper is in the whisper's context")
	})
	t.Run("exports: each player's export holds what they may see", func(t *testing.T) {
		ownerExport := requestExport(t, pt.owner, pt.session.ID, "json")
		require.Equal(t, "ready", ownerExport.Status, "%v", ownerExport.Error)
		_, doc := download(t, *ownerExport.DownloadURL)
		require.NotContains(t, strings.ToLower(string(doc)), "pocket the "+secret)
		memberExport := requestExport(t, pt.member, pt.session.ID, "markdown")
		require.Equal(t, "ready", memberExport.Status, "%v", memberExport.Error)
		_, doc = download(t, *memberExport.DownloadURL)
		require.Contains(t, strings.ToLower(string(doc)), "pocket the "+secret)
	})
	t.Run("bad visibility is refused naming the field", func(t *testing.T) {
		resp := pt.member.Client.Do(t, "POST", sp+"/messages", map[string]any{"content": "hi", "visibility": "secret"})
		requireInvalidField(t, resp, "visibility")
	})
}

func TestTypingReachesTheOthersOnly(t *testing.T) {
	a := testkit.Start(t, testkit.Options{})
	b := testkit.Start(t, testkit.Options{Command: "api"})
	pt := newParty(t, a.URL)
	sp := "/api/sessions/" + pt.session.ID
	ownerLive := openStream(t, pt.owner.on(b.URL), sp+"/events")
	memberLive := openStream(t, pt.member.Client, sp+"/events")
	// The owner's own stream opening is announced as presence first.
	time.Sleep(500 * time.Millisecond)

	require.Equal(t, http.StatusNoContent, pt.member.Client.Do(t, "POST", sp+"/typing", nil).Status)
	t.Run("the other member sees it, without an id", func(t *testing.T) {
		evs := ownerLive.until(t, 10*time.Second, func(ev sseEvent) bool { return ev.Type == "typing" })
		ty := evs[len(evs)-1]
		require.Equal(t, pt.member.ID, ty.Data["player_id"])
		require.Empty(t, ty.ID, "typing is not part of the stream's history")
	})
	t.Run("typing again at once is rate limited", func(t *testing.T) {
		resp := pt.member.Client.Do(t, "POST", sp+"/typing", nil)
		require.Equal(t, http.StatusTooManyRequests, resp.Status)
	})
	t.Run("a stranger cannot type into the session", func(t *testing.T) {
		require.Equal(t, http.StatusNotFound, pt.stranger.Client.Do(t, "POST", sp+"/typing", nil).Status)
	})
	t.Run("the typist does not get their own typing back, nor does the history keep it", func(t *testing.T) {
		_, tr := postMessage(t, pt.member.Client, pt.session.ID, "I wave.")
		for _, ev := range memberLive.until(t, 60*time.Second, isDone(tr.ID)) {
			require.NotEqual(t, "typing", ev.Type)
		}
		replay := openStream(t, pt.owner.Client, sp+"/events?last_event_id=0-1")
		for _, ev := range replay.until(t, 30*time.Second, isDone(tr.ID)) {
			require.NotEqual(t, "typing", ev.Type)
		}
	})
}
