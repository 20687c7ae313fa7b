package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

func TestFullTurnStreamsTheReplyAndStoresIt(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	s := newSession(t, p, ch.ID)
	events := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")

	msg, tr := postMessage(t, p.Client, s.ID, "I sneak past the sleeping guard and search the chest.")
	require.Equal(t, "queued", tr.Status)
	require.Equal(t, msg.ID, tr.PlayerMessageID)
	require.Equal(t, "player", msg.Role)

	got := events.until(t, 30*time.Second, isDone(tr.ID))
	var statuses []string
	var deltas strings.Builder
	var done sseEvent
	lastID := ""
	for _, ev := range got {
		require.NotEmpty(t, ev.ID, "every event carries an id")
		require.Greater(t, ev.ID, "", "ids are set")
		if lastID != "" {
			require.NotEqual(t, lastID, ev.ID, "ids are unique")
		}
		lastID = ev.ID
		require.Equal(t, tr.ID, ev.Data["turn_id"])
		switch ev.Type {
		case "turn.status":
			statuses = append(statuses, ev.Data["status"].(string))
		case "dm.delta":
			deltas.WriteString(ev.Data["text"].(string))
		case "dm.done":
			done = ev
		}
	}
	require.Equal(t, []string{"queued", "embedding", "retrieving", "generating", "completed"}, statuses)
	reply := done.Data["message"].(map[string]any)
	require.Equal(t, deltas.String(), reply["content"], "dm.done's content equals the concatenated deltas")
	require.Equal(t, "dm", reply["role"])

	final := getTurn(t, p.Client, tr.ID)
	require.Equal(t, "completed", final.Status)
	require.NotNil(t, final.DMMessageID)
	require.Equal(t, reply["id"], *final.DMMessageID)
	for _, stage := range []string{"embed_started_at", "embed_ended_at", "retrieve_started_at", "retrieve_ended_at", "generate_started_at", "generate_ended_at", "finished_at"} {
		require.NotNil(t, final.Timings[stage], "stage timing %s", stage)
	}
	require.False(t, final.Timings["generate_ended_at"].Before(*final.Timings["embed_started_at"]))

	resp := p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages", nil)
	require.Equal(t, http.StatusOK, resp.Status)
	var page struct {
		Messages   []message
		NextBefore *string `json:"next_before"`
	}
	resp.JSON(t, &page)
	require.Len(t, page.Messages, 2)
	require.Equal(t, msg.ID, page.Messages[0].ID)
	require.Equal(t, deltas.String(), page.Messages[1].Content, "the stored DM message equals the streamed reply")
	require.Nil(t, page.NextBefore)

	t.Run("a late turn stream replays the whole turn and then ends", func(t *testing.T) {
		ts := openStream(t, p.Client, "/api/turns/"+tr.ID+"/events")
		replay := ts.until(t, 10*time.Second, isDone(tr.ID))
		require.Equal(t, got, replay)
		require.True(t, ts.ended(5*time.Second), "the turn stream ends after its final event")
	})

	t.Run("a turn stream resumed after its final event answers 204", func(t *testing.T) {
		resp := p.Client.Do(t, "GET", "/api/turns/"+tr.ID+"/events", nil, "Last-Event-ID", got[len(got)-1].ID)
		require.Equal(t, http.StatusNoContent, resp.Status)
	})

	t.Run("the next turn remembers earlier messages", func(t *testing.T) {
		_, tr2 := postMessage(t, p.Client, s.ID, "What was in the chest I searched?")
		final := waitFinal(t, p.Client, tr2.ID, 30*time.Second)
		require.Equal(t, "completed", final.Status)
		sources := map[string]int{}
		for _, c := range final.Context {
			sources[c.Source]++
		}
		require.Equal(t, 2, sources["recent"], "the previous player message and DM reply are recent context")
	})
}

func TestResumeWithLastEventID(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	full := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, tr := postMessage(t, p.Client, s.ID, "I open the door.")
	all := full.until(t, 30*time.Second, isDone(tr.ID))
	require.Greater(t, len(all), 8)

	t.Run("reconnecting after k events gets exactly the rest", func(t *testing.T) {
		for _, k := range []int{1, 4, len(all) - 1} {
			rs := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events", "Last-Event-ID", all[k-1].ID)
			rest := rs.until(t, 10*time.Second, isDone(tr.ID))
			require.Equal(t, all[k:], rest, "k=%d", k)
		}
	})
	t.Run("the query parameter works like the header", func(t *testing.T) {
		rs := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events?last_event_id="+all[2].ID)
		require.Equal(t, all[3:], rs.until(t, 10*time.Second, isDone(tr.ID)))
	})
	t.Run("reconnecting during a generation misses nothing", func(t *testing.T) {
		slow := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=40ms"}})
		c := p.on(slow.URL)
		first := openStream(t, c, "/api/sessions/"+s.ID+"/events")
		_, tr2 := postMessage(t, c, s.ID, "I attack the troll with my sword!")
		head := first.until(t, 30*time.Second, func(ev sseEvent) bool { return ev.Type == "dm.delta" })
		head = append(head, first.next(t, 10*time.Second), first.next(t, 10*time.Second))
		first.close()
		// Let more events happen while disconnected.
		time.Sleep(300 * time.Millisecond)
		second := openStream(t, c, "/api/sessions/"+s.ID+"/events", "Last-Event-ID", head[len(head)-1].ID)
		tail := second.until(t, 60*time.Second, isDone(tr2.ID))
		ts := openStream(t, c, "/api/turns/"+tr2.ID+"/events")
		whole := ts.until(t, 10*time.Second, isDone(tr2.ID))
		require.Equal(t, whole, append(head, tail...), "no gap and no duplicate")
	})
	t.Run("an id older than the retained history answers reset", func(t *testing.T) {
		small := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=1ms", "EVENTS_STREAM_MAXLEN=100"}})
		c := p.on(small.URL)
		s2 := newSession(t, p, "")
		var firstID string
		// MAXLEN ~ trims whole stream nodes (100 entries each), so the
		// history must pass 200 events: 12 short turns do, whatever the
		// narrator's reply length.
		for i := 0; i < 12; i++ {
			_, tr := postMessage(t, c, s2.ID, fmt.Sprintf("I walk north, step %d, and look around carefully at everything.", i))
			final := waitFinal(t, c, tr.ID, 60*time.Second)
			require.Equal(t, "completed", final.Status)
			if i == 0 {
				ts := openStream(t, c, "/api/turns/"+tr.ID+"/events")
				ev := ts.next(t, 10*time.Second)
				firstID = ev.ID
				ts.close()
			}
		}
		_ = firstID
		rs := openStream(t, c, "/api/sessions/"+s2.ID+"/events", "Last-Event-ID", "1-0")
		ev := rs.next(t, 10*time.Second)
		require.Equal(t, "reset", ev.Type)
		require.NotEmpty(t, ev.Data["reason"])
	})
}

func TestTwoAPIReplicasDeliverTheSameEvents(t *testing.T) {
	api1 := testkit.Start(t, testkit.Options{Command: "api"})
	api2 := testkit.Start(t, testkit.Options{Command: "api"})
	testkit.Start(t, testkit.Options{Command: "worker", Env: []string{"DM_WORD_DELAY=2ms"}})
	p := signUp(t, api1.URL)
	s := newSession(t, p, "")
	sub1 := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	sub2 := openStream(t, p.on(api2.URL), "/api/sessions/"+s.ID+"/events")
	// A stalled client on replica 2: it never reads, so it must be dropped
	// without delaying the others.
	stalled := openStream(t, p.on(api2.URL), "/api/sessions/"+s.ID+"/events")
	stalled.resp.Body.Close()

	_, tr := postMessage(t, p.Client, s.ID, "I cast a spell of light.")
	got1 := sub1.until(t, 30*time.Second, isDone(tr.ID))
	got2 := sub2.until(t, 30*time.Second, isDone(tr.ID))
	require.Equal(t, got1, got2)
	require.Equal(t, "dm.done", got1[len(got1)-1].Type)
}

func TestIdempotencyKeyReplayCreatesNothing(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=1ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	m1, t1 := postMessage(t, p.Client, s.ID, "I light a torch.", "Idempotency-Key", "key-123")
	m2, t2 := postMessage(t, p.Client, s.ID, "I light a torch.", "Idempotency-Key", "key-123")
	require.Equal(t, m1.ID, m2.ID)
	require.Equal(t, t1.ID, t2.ID)
	waitFinal(t, p.Client, t1.ID, 30*time.Second)

	resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "Something else"}, "Idempotency-Key", "key-123")
	require.Equal(t, http.StatusConflict, resp.Status, "a reused key with other content is a conflict")

	resp = p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages", nil)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	players := 0
	for _, m := range page.Messages {
		if m.Role == "player" {
			players++
		}
	}
	require.Equal(t, 1, players)
	require.Len(t, page.Messages, 2)
}

func TestCancelStopsGeneration(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=250ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, tr := postMessage(t, p.Client, s.ID, "I search the library for a long time.")
	ev.until(t, 30*time.Second, func(e sseEvent) bool { return e.Type == "dm.delta" })

	resp := p.Client.Do(t, "POST", "/api/turns/"+tr.ID+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	rest := ev.until(t, 10*time.Second, isDone(tr.ID))
	require.Equal(t, "turn.cancelled", rest[len(rest)-1].Type)

	final := getTurn(t, p.Client, tr.ID)
	require.Equal(t, "cancelled", final.Status)
	require.Nil(t, final.DMMessageID)
	// No DM message appears later either: the generation really stopped.
	time.Sleep(1500 * time.Millisecond)
	resp = p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages", nil)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	require.Len(t, page.Messages, 1)
	require.Equal(t, "cancelled", getTurn(t, p.Client, tr.ID).Status)

	resp = p.Client.Do(t, "POST", "/api/turns/"+tr.ID+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, resp.Status, "cancelling twice is harmless")
}

func TestWorkerKilledMidTurnStillEnds(t *testing.T) {
	api := testkit.Start(t, testkit.Options{Command: "api"})
	recovery := []string{"TURN_STUCK_AFTER=3s", "SWEEP_INTERVAL=1s"}
	w1 := testkit.Start(t, testkit.Options{Command: "worker", Env: append(recovery, "DM_WORD_DELAY=200ms")})
	p := signUp(t, api.URL)
	s := newSession(t, p, "")
	ev := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
	_, tr := postMessage(t, p.Client, s.ID, "I climb the tower.")
	ev.until(t, 30*time.Second, func(e sseEvent) bool { return e.Type == "dm.delta" })
	w1.Kill()
	// The new worker's sweeper finds the turn silent (no heartbeat) once
	// TURN_STUCK_AFTER has passed and requeues it; asynq alone would wait
	// for the dead worker's lease to run out (a minute or more).
	testkit.Start(t, testkit.Options{Command: "worker", Env: append(recovery, "DM_WORD_DELAY=1ms")})
	final := waitFinal(t, p.Client, tr.ID, 60*time.Second)
	require.Equal(t, "completed", final.Status)
	resp := p.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages", nil)
	var page struct{ Messages []message }
	resp.JSON(t, &page)
	require.Len(t, page.Messages, 2, "exactly one DM reply")
}

func TestOtherPlayersResourcesAreNotFound(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=1ms"}})
	owner := signUp(t, srv.URL)
	other := signUp(t, srv.URL)
	ch := newCharacter(t, owner)
	s := newSession(t, owner, ch.ID)
	_, tr := postMessage(t, owner.Client, s.ID, "I wave.")

	cases := []struct{ method, path string }{
		{"GET", "/api/characters/" + ch.ID},
		{"PATCH", "/api/characters/" + ch.ID},
		{"DELETE", "/api/characters/" + ch.ID},
		{"GET", "/api/sessions/" + s.ID},
		{"DELETE", "/api/sessions/" + s.ID},
		{"GET", "/api/sessions/" + s.ID + "/messages"},
		{"POST", "/api/sessions/" + s.ID + "/messages"},
		{"GET", "/api/sessions/" + s.ID + "/memory?q=wave"},
		{"GET", "/api/sessions/" + s.ID + "/events"},
		{"GET", "/api/turns/" + tr.ID},
		{"POST", "/api/turns/" + tr.ID + "/cancel"},
		{"GET", "/api/turns/" + tr.ID + "/events"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path+" answers 404 to another player", func(t *testing.T) {
			var body any
			switch tc.method {
			case "PATCH":
				body = map[string]any{"name": "Mine now"}
			case "POST":
				if strings.HasSuffix(tc.path, "/messages") {
					body = map[string]any{"content": "hello"}
				}
			}
			resp := other.Client.Do(t, tc.method, tc.path, body)
			require.Equal(t, http.StatusNotFound, resp.Status, string(resp.Body))
			require.Equal(t, "not_found", resp.ErrorCode())
		})
	}
	resp := other.Client.Do(t, "POST", "/api/sessions", map[string]any{"title": "x", "character_id": ch.ID})
	require.Equal(t, http.StatusBadRequest, resp.Status, "another player's character cannot be used")
	resp = other.Client.Do(t, "POST", "/api/stream-tickets", map[string]any{"session_id": s.ID})
	require.Equal(t, http.StatusNotFound, resp.Status)

	// The owner still has everything.
	require.Equal(t, http.StatusOK, owner.Client.Do(t, "GET", "/api/sessions/"+s.ID, nil).Status)
}

func TestBadInputIsRefusedWithTheErrorShape(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	base := "/api/sessions/" + s.ID
	cases := []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
	}{
		{"empty content", "POST", base + "/messages", map[string]any{"content": ""}, nil, 400},
		{"blank content", "POST", base + "/messages", map[string]any{"content": "   \n "}, nil, 400},
		{"oversized content", "POST", base + "/messages", map[string]any{"content": strings.Repeat("a", 8001)}, nil, 400},
		{"content of the wrong type", "POST", base + "/messages", map[string]any{"content": 42}, nil, 400},
		{"an unknown field", "POST", base + "/messages", map[string]any{"content": "hi", "role": "dm"}, nil, 400},
		{"a malformed session id", "GET", "/api/sessions/not-a-uuid", nil, nil, 400},
		{"a malformed turn id", "GET", "/api/turns/1234", nil, nil, 400},
		{"limit zero", "GET", base + "/messages?limit=0", nil, nil, 400},
		{"limit too large", "GET", base + "/messages?limit=1000", nil, nil, 400},
		{"limit not a number", "GET", base + "/messages?limit=abc", nil, nil, 400},
		{"before not a uuid", "GET", base + "/messages?before=xyz", nil, nil, 400},
		{"before of another session", "GET", base + "/messages?before=" + s.ID, nil, nil, 400},
		{"a malformed Last-Event-ID", "GET", base + "/events", nil, []string{"Last-Event-ID", "abc-def"}, 400},
		{"a malformed last_event_id", "GET", base + "/events?last_event_id=99999999999999999999999-1", nil, nil, 400},
		{"an empty memory query", "GET", base + "/memory?q=", nil, nil, 400},
		{"k out of range", "GET", base + "/memory?q=door&k=0", nil, nil, 400},
		{"a level out of range", "POST", "/api/characters", map[string]any{"name": "A", "class": "b", "level": 99}, nil, 400},
		{"an unknown ability", "POST", "/api/characters", map[string]any{"name": "A", "class": "b", "sheet": map[string]any{"abilities": map[string]int{"luck": 3}}}, nil, 400},
		{"an unknown sheet field", "POST", "/api/characters", map[string]any{"name": "A", "class": "b", "sheet": map[string]any{"luckiness": 3}}, nil, 400},
		{"an ability score out of range", "POST", "/api/characters", map[string]any{"name": "A", "class": "b", "sheet": map[string]any{"abilities": map[string]int{"strength": 99}}}, nil, 400},
		{"too long an Idempotency-Key", "POST", base + "/messages", map[string]any{"content": "hi"}, []string{"Idempotency-Key", strings.Repeat("k", 200)}, 400},
		{"no token", "GET", "/api/sessions", nil, []string{"Authorization", ""}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			c := p.Client
			if tc.status == 401 {
				c = testkit.NewClient(srv.URL)
			}
			resp := c.Do(t, tc.method, tc.path, tc.body, tc.hdr...)
			require.Equal(t, tc.status, resp.Status, string(resp.Body))
			var body struct {
				Error struct{ Code, Message string }
			}
			resp.JSON(t, &body)
			assert.NotEmpty(t, body.Error.Code)
			assert.NotEmpty(t, body.Error.Message)
		})
	}
}

func TestMessagesPageBackwards(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=1ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	for i := 0; i < 3; i++ {
		_, tr := postMessage(t, p.Client, s.ID, fmt.Sprintf("Step %d: I walk on.", i))
		waitFinal(t, p.Client, tr.ID, 30*time.Second)
	}
	var all []message
	before := ""
	for pages := 0; pages < 10; pages++ {
		path := "/api/sessions/" + s.ID + "/messages?limit=4"
		if before != "" {
			path += "&before=" + before
		}
		resp := p.Client.Do(t, "GET", path, nil)
		require.Equal(t, http.StatusOK, resp.Status)
		var page struct {
			Messages   []message
			NextBefore *string `json:"next_before"`
		}
		resp.JSON(t, &page)
		all = append(page.Messages, all...)
		if page.NextBefore == nil {
			break
		}
		require.Equal(t, page.Messages[0].ID, *page.NextBefore)
		before = *page.NextBefore
	}
	require.Len(t, all, 6)
	for i, m := range all {
		want := "player"
		if i%2 == 1 {
			want = "dm"
		}
		require.Equal(t, want, m.Role, "message %d alternates player/dm oldest first", i)
	}
	require.Equal(t, "Step 0: I walk on.", all[0].Content)
}
