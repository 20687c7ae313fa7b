package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/events"
)

// The web client, driven in real headless Chromium against the real stack.

const (
	dmReplySel     = `#story-log li[data-role=dm]`
	dmReplyDoneSel = `#story-log li[data-role=dm][data-state=done]`
)

func TestBrowserMainJourney(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=5ms"}})
	b := newBrowser(t, srv.URL, 1280, 860)

	// Register.
	email := b.signUpInBrowser("Ada")
	p := loginREST(t, srv.URL, email)

	// Create a character, then fill in the sheet.
	b.fill(".create-form input[name=name]", "Arwen Dawnstrider")
	b.fill(".create-form input[name=class]", "ranger")
	b.fill(".create-form input[name=level]", "3")
	b.click(".create-form button[type=submit]")
	b.waitFor("the new character's sheet", `location.hash.startsWith('#/characters/') && document.querySelector('h1')?.textContent === 'Arwen Dawnstrider'`, 15*time.Second)
	b.fill("#ab-strength", "16")
	b.fill("#ab-dexterity", "17")
	b.fill("input[name=hp_current]", "18")
	b.fill("input[name=hp_max]", "24")
	b.fill("textarea[name=inventory]", "longbow\nrope\ntorch")
	b.fill("textarea[name=notes]", "Sworn to find her lost brother.")
	b.click(".sheet-form button[type=submit]")
	b.waitFor("the saved notice", `document.querySelector('#notices')?.textContent.includes('saved')`, 10*time.Second)

	resp := p.Client.Do(t, "GET", "/api/characters", nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var chars struct{ Characters []character }
	resp.JSON(t, &chars)
	require.Len(t, chars.Characters, 1)
	ch := chars.Characters[0]
	assert.Equal(t, "Arwen Dawnstrider", ch.Name)
	assert.Equal(t, 3, ch.Level)
	assert.Equal(t, map[string]any{"strength": 16.0, "dexterity": 17.0, "constitution": 10.0, "intelligence": 10.0, "wisdom": 10.0, "charisma": 10.0}, ch.Sheet["abilities"])
	assert.Equal(t, map[string]any{"current": 18.0, "max": 24.0}, ch.Sheet["hp"])
	// Plain names are one of each (API.md: inventory items are {name, qty}).
	assert.Equal(t, []any{map[string]any{"name": "longbow", "qty": 1.0}, map[string]any{"name": "rope", "qty": 1.0}, map[string]any{"name": "torch", "qty": 1.0}}, ch.Sheet["inventory"])
	assert.Equal(t, "Sworn to find her lost brother.", ch.Sheet["notes"])

	// Start an adventure with that character.
	b.click(`nav a[data-nav=sessions]`)
	b.waitFor("the adventures page", `document.querySelector('h1')?.textContent === 'Adventures'`, 10*time.Second)
	b.fill(".create-form input[name=title]", "The Sunken Keep")
	require.Equal(t, ch.ID, eval[string](b, `document.querySelector('.create-form select[name=character_id]').value`), "the character is preselected")
	b.click(".create-form button[type=submit]")
	b.waitFor("the game view, live", `location.hash.startsWith('#/play/') && document.querySelector('.connection')?.dataset.state === 'open'`, 15*time.Second)
	sessionID := strings.TrimPrefix(eval[string](b, `location.hash`), "#/play/")

	// Play two turns: each reply streams in, ends, and equals the stored one.
	for i, action := range []string{
		"I sneak past the sleeping guard and search the chest.",
		"What was in the chest I searched?",
	} {
		b.fill("#composer", action)
		b.pressEnter()
		b.waitFor("the reply to end", fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, dmReplyDoneSel, i+1), 60*time.Second)
		require.Empty(t, eval[string](b, `document.querySelector('#composer').value`), "the composer is cleared")

		msgs := restMessages(t, p, sessionID)
		require.Len(t, msgs, 2*(i+1))
		require.Equal(t, action, msgs[2*i].Content)
		stored := msgs[2*i+1]
		require.Equal(t, "dm", stored.Role)
		shown := eval[[]string](b, fmt.Sprintf(`[...document.querySelectorAll('%s .msg-text')].map(e => e.textContent)`, dmReplySel))
		require.Len(t, shown, i+1, "one reply per turn")
		require.Equal(t, stored.Content, shown[i], "the reply shown is the reply stored")
		require.Equal(t, stored.ID, eval[string](b, fmt.Sprintf(`document.querySelectorAll(%q)[%d].dataset.messageId`, dmReplySel, i)))
	}

	// What the DM remembered for the second turn: the first turn is in it.
	b.click(dmReplySel + `:last-of-type button.remember`)
	b.waitFor("the remembered context", `!document.querySelector('#context-section').hidden && document.querySelectorAll('#context-section .memory-item').length > 0`, 15*time.Second)
	remembered := b.text("#context-section")
	require.Contains(t, remembered, "I sneak past the sleeping guard and search the chest.")

	// Memory search.
	b.fill("#memory-q", "the chest")
	b.click(".memory-form button[type=submit]")
	b.waitFor("memory search results", `document.querySelectorAll('.memory-form ~ .memory-list .memory-item').length > 0`, 15*time.Second)

	path := b.screenshot("browser-game-desktop")
	require.FileExists(t, path)

	// The same game on a phone-sized screen.
	b.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	b.do("reload", chromedp.Reload())
	b.waitFor("the game view after reload", fmt.Sprintf(`document.querySelectorAll(%q).length === 2 && document.querySelector('.connection')?.dataset.state === 'open'`, dmReplyDoneSel), 20*time.Second)
	require.True(t, eval[bool](b, `document.documentElement.scrollWidth <= window.innerWidth`), "nothing overflows sideways on a phone")
	require.True(t, eval[bool](b, `(() => { const r = document.querySelector('#composer').getBoundingClientRect(); return r.bottom <= window.innerHeight && r.width > 200; })()`), "the composer is on screen")
	b.screenshot("browser-game-phone")
	b.click("button.panel-toggle")
	b.waitFor("the memory panel", `getComputedStyle(document.querySelector('#side-panel')).display !== 'none' && document.activeElement?.id === 'memory-q'`, 5*time.Second)
	b.screenshot("browser-game-phone-memory")
	b.click("button.panel-close")
	b.waitFor("the memory panel to close", `getComputedStyle(document.querySelector('#side-panel')).display === 'none'`, 5*time.Second)

	// Log out; a wrong password is explained in words; then back in.
	b.click("#logout")
	b.waitFor("the sign-in page", `location.hash === '#/login'`, 10*time.Second)
	b.do("desktop viewport", chromedp.EmulateViewport(1280, 860))
	b.fill("input[name=email]", email)
	b.fill("input[name=password]", "not my password at all")
	b.click("form button[type=submit]")
	b.waitFor("the sign-in error", `document.querySelector('.form-error:not([hidden])')`, 10*time.Second)
	require.Equal(t, "That email and password don't match an account.", b.text(".form-error"))
	b.screenshot("browser-sign-in-error")
	b.signInInBrowser(email)
	require.Contains(t, b.text(".session-list"), "The Sunken Keep")
	b.screenshot("browser-adventures")
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserReloadMidReplyShowsTheWholeReplyOnce(t *testing.T) {
	// 150 ms a word: the reply takes seconds, so the reload lands mid-reply.
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=150ms"}})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	s := newSession(t, p, ch.ID)
	b := playing(t, srv.URL, p, s.ID)

	b.fill("#composer", "I attack the troll with my sword!")
	b.pressEnter()
	b.waitFor("a few words of the reply", fmt.Sprintf(`(document.querySelector('%s .msg-text')?.textContent.length ?? 0) > 20`, dmReplySel), 30*time.Second)
	before := b.text(dmReplySel + " .msg-text")
	turnID := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.turnId`, dmReplySel))

	b.do("reload mid-reply", chromedp.Reload())
	require.Equal(t, "generating", getTurn(t, p.Client, turnID).Status, "the reload happened while the reply was being generated")

	// Sample the reply as it is rebuilt: every sample must be a prefix of
	// the final reply (no text shown twice, nothing out of order).
	samples := b.sampleReplyUntilDone("the reload")

	msgs := restMessages(t, p, s.ID)
	require.Len(t, msgs, 2)
	stored := msgs[1].Content
	require.Equal(t, "dm", msgs[1].Role)
	require.Equal(t, stored, b.text(dmReplySel+" .msg-text"), "the whole reply is shown")
	require.Equal(t, 1, eval[int](b, fmt.Sprintf(`document.querySelectorAll(%q).length`, dmReplySel)), "one reply bubble")
	require.Equal(t, 1, strings.Count(b.text("#story-log"), stored), "the reply appears once")
	require.True(t, strings.HasPrefix(stored, before), "what was shown before the reload was the start of the reply")
	require.NotEmpty(t, samples, "the reply was seen streaming after the reload")
	for _, sample := range samples {
		require.True(t, strings.HasPrefix(stored, sample), "a partial reply is always a prefix of the stored reply, never a duplicate: %q", sample)
	}
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserPortraitUpload(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=5ms"}})
	b, p, ch := characterSheetInBrowser(t, srv.URL)

	b.do("choose a portrait", chromedp.SetUploadFiles(chromedp.CSS("#portrait-file"), []string{tinyPNG(t)}))
	b.waitFor("the upload to finish", `document.querySelector('#portrait-status')?.textContent === 'Portrait saved.'`, 30*time.Second)
	require.Equal(t, 100, eval[int](b, `document.querySelector('#portrait-progress').value`), "the progress bar reached the end")
	b.waitFor("the portrait to show", `(() => { const i = document.querySelector('.portrait-holder img.portrait-img'); return i && i.complete && i.naturalWidth === 48; })()`, 15*time.Second)

	resp := p.Client.Do(t, "GET", "/api/characters/"+ch.ID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct {
		Character struct {
			PortraitAssetID *string `json:"portrait_asset_id"`
		}
	}
	resp.JSON(t, &out)
	require.NotNil(t, out.Character.PortraitAssetID, "the character points at the portrait")
	resp = p.Client.Do(t, "GET", "/api/assets/"+*out.Character.PortraitAssetID, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	require.Contains(t, string(resp.Body), `"status":"ready"`)
	b.screenshot("browser-character-sheet")

	// The list shows it too.
	b.open("/#/characters")
	b.waitFor("the portrait in the list", `(() => { const i = document.querySelector('.char-card img.portrait-img'); return i && i.complete && i.naturalWidth === 48; })()`, 15*time.Second)
	b.screenshot("browser-characters")
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserRefreshesAnExpiredAccessTokenSilently(t *testing.T) {
	// Access tokens live 1 s (plus the server's 5 s clock leeway).
	srv := testkit.Start(t, testkit.Options{Env: []string{"ACCESS_TOKEN_TTL=1s"}})
	b := newBrowser(t, srv.URL, 1280, 860)
	b.signUpInBrowser("Tess")
	time.Sleep(7 * time.Second)

	// The adventures page makes two requests at once; both meet the
	// expired token, and share one refresh.
	b.click(`nav a[data-nav=sessions]`)
	b.waitFor("the adventures page", `document.querySelector('h1')?.textContent === 'Adventures' && document.querySelector('.create-form')`, 15*time.Second)
	require.Equal(t, "#/sessions", eval[string](b, `location.hash`), "still signed in")
	require.Equal(t, 1, eval[int](b, `performance.getEntriesByType('resource').filter(e => e.name.endsWith('/auth/refresh')).length`), "one refresh for concurrent requests")

	b.fill(".create-form input[name=title]", "After the nap")
	b.click(".create-form button[type=submit]")
	b.waitFor("the game view, live", `location.hash.startsWith('#/play/') && document.querySelector('.connection')?.dataset.state === 'open'`, 15*time.Second)
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserStopCancelsTheReply(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=150ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, newCharacter(t, p).ID)
	b := playing(t, srv.URL, p, s.ID)

	b.fill("#composer", "I attack the troll with my sword!")
	b.pressEnter()
	b.waitFor("a few words of the reply", fmt.Sprintf(`(document.querySelector('%s .msg-text')?.textContent.length ?? 0) > 10`, dmReplySel), 30*time.Second)
	require.True(t, eval[bool](b, `document.querySelector('form.composer button.send').disabled`), "one action at a time")
	turnID := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.turnId`, dmReplySel))
	b.click(dmReplySel + " button.stop")
	b.waitFor("the reply to stop", fmt.Sprintf(`document.querySelector('%s[data-state=cancelled]')`, dmReplySel), 15*time.Second)
	require.Contains(t, b.text(dmReplySel), "You stopped the Dungeon Master.")
	require.Equal(t, "cancelled", getTurn(t, p.Client, turnID).Status)
	require.False(t, eval[bool](b, `document.querySelector('form.composer button.send').disabled`), "the composer is free again")

	// The next action gets its answer.
	b.fill("#composer", "I flee down the corridor.")
	b.pressEnter()
	b.waitFor("the next reply", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, dmReplyDoneSel), 90*time.Second)
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserResumesOnAnotherReplicaAfterTheConnectionDrops(t *testing.T) {
	// Two API replicas and a worker; the browser reaches them through a
	// proxy that, mid-reply, drops every connection and sends the next ones
	// to the other replica, as a network change or a deployment would.
	env := []string{"DM_WORD_DELAY=150ms"}
	api1 := testkit.Start(t, testkit.Options{Command: "api", Env: env})
	api2 := testkit.Start(t, testkit.Options{Command: "api", Env: env})
	testkit.Start(t, testkit.Options{Command: "worker", Env: env})
	proxy := newSwitchProxy(t, api1.URL)
	p := signUp(t, proxy.URL())
	s := newSession(t, p, newCharacter(t, p).ID)
	b := playing(t, proxy.URL(), p, s.ID)

	b.fill("#composer", "I search the library for the map.")
	b.pressEnter()
	b.waitFor("a few words of the reply", fmt.Sprintf(`(document.querySelector('%s .msg-text')?.textContent.length ?? 0) > 20`, dmReplySel), 30*time.Second)
	turnID := eval[string](b, fmt.Sprintf(`document.querySelector(%q).dataset.turnId`, dmReplySel))
	proxy.switchTo(api2.URL)
	require.Equal(t, "generating", getTurn(t, p.Client, turnID).Status, "the connection dropped mid-reply")

	samples := b.sampleReplyUntilDone("the drop")
	msgs := restMessages(t, p, s.ID)
	require.Len(t, msgs, 2)
	stored := msgs[1].Content
	require.Equal(t, stored, b.text(dmReplySel+" .msg-text"), "the whole reply is shown")
	require.Equal(t, 1, strings.Count(b.text("#story-log"), stored), "the reply appears once")
	for _, sample := range samples {
		require.True(t, strings.HasPrefix(stored, sample), "a partial reply is always a prefix of the stored reply: %q", sample)
	}
	require.Equal(t, "open", eval[string](b, `document.querySelector('.connection').dataset.state`))
	require.Empty(t, b.exceptions(), "no uncaught exceptions")

	// It resumed the session stream on the other replica with its last
	// event id: no replay of the turn was needed. (A stream's access log
	// line is written when it ends, so close the browser first.)
	require.NoError(t, chromedp.Cancel(b.ctx))
	require.Eventually(t, func() bool { return strings.Contains(api2.Logs(), "route=/api/sessions/:id/events") },
		20*time.Second, 100*time.Millisecond, "the session stream resumed on the other replica")
	logs := api2.Logs()
	require.NotContains(t, logs, "route=/api/turns/:id/events", "resuming needed no replay from the turn's start")
}

func TestBrowserLoadsEarlierMessages(t *testing.T) {
	// A slow narrator, so every cancel below lands before a reply is stored:
	// a reply would take a place in the first page of 50 messages.
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=5s"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	// 52 player messages, more than the client's first page of 50. Each
	// turn is stopped at once, so no replies are needed to fill the pages.
	for i := range 52 {
		_, tr := postMessage(t, p.Client, s.ID, fmt.Sprintf("I count the stones of the wall: %d.", i+1))
		resp := p.Client.Do(t, "POST", "/api/turns/"+tr.ID+"/cancel", nil)
		require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	}

	b := newBrowser(t, srv.URL, 1280, 860)
	b.signInInBrowser(p.Email)
	b.open("/#/play/" + s.ID)
	players := `document.querySelectorAll('#story-log li[data-role=player]').length`
	b.waitFor("the newest page", players+` === 50 && !document.querySelector('button.load-earlier').hidden`, 45*time.Second)
	require.Contains(t, b.text("#story-log"), "I count the stones of the wall: 52.")
	require.NotContains(t, b.text("#story-log"), "I count the stones of the wall: 2.")
	// One click: a reload from REST (the stream's reset while the page
	// settles) waits for the click's page or keeps it, so the earlier
	// messages stay whatever the order (web/test/story.test.mjs has both
	// orders). The click is the button's own click(): a mouse press at the
	// button's place can miss while the log still scrolls to its end as
	// the page settles, which is not what this test is about.
	require.True(t, eval[bool](b, `(document.querySelector('button.load-earlier').click(), true)`))
	b.waitFor("the earlier messages", players+` === 52`, 45*time.Second)
	require.Contains(t, b.text("#story-log li:first-child"), "I count the stones of the wall: 1.")
	require.True(t, eval[bool](b, `document.querySelector('button.load-earlier').hidden`), "nothing earlier left")

	// The story moves elsewhere (an undo from another tab): the page reloads
	// from REST and keeps what the player paged back to, though the newest
	// page now starts one message earlier (2 … 51).
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp := p.Client.Do(t, "POST", "/api/sessions/"+s.ID+"/undo", nil)
		if resp.Status == http.StatusOK {
			break
		}
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body)) // the last cancel still settling
		require.True(t, time.Now().Before(deadline), "undo kept answering 409")
		time.Sleep(500 * time.Millisecond)
	}
	b.waitFor("the reload after the undo", `!document.querySelector('#story-log').textContent.includes('the wall: 52.')`, 30*time.Second)
	require.Equal(t, 51, eval[int](b, players), "the reload kept the earlier page")
	require.Contains(t, b.text("#story-log li:first-child"), "I count the stones of the wall: 1.")
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserResendsALostMessageWithoutDoublingIt(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=5ms"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, newCharacter(t, p).ID)
	b := playing(t, srv.URL, p, s.ID)

	// The server stores the first POST, but its answer is lost on the way
	// back (connection reset): the client must retry with the same key.
	keys := make(chan string, 10)
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	_, err := chromedp.Call(b.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
		{URLPattern: "*/api/sessions/*/messages", RequestStage: fetch.RequestStageResponse},
	}})
	require.NoError(t, err)
	go func() {
		posts := 0
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.Request.Method == http.MethodPost {
				posts++
				keys <- fmt.Sprint(ev.Request.Headers["Idempotency-Key"])
				if posts == 1 {
					_, _ = chromedp.Call(b.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
					continue
				}
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()

	b.fill("#composer", "I light a torch.")
	b.pressEnter()
	b.waitFor("the reply", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, dmReplyDoneSel), 60*time.Second)
	first, second := <-keys, <-keys
	require.Regexp(t, `^[0-9a-f-]{32,36}$`, first, "the POST carries an Idempotency-Key")
	require.Equal(t, first, second, "the retry carries the same Idempotency-Key")

	msgs := restMessages(t, p, s.ID)
	require.Len(t, msgs, 2, "one player message and one reply, not two of each")
	require.Equal(t, "I light a torch.", msgs[0].Content)
	require.Equal(t, 1, eval[int](b, `document.querySelectorAll('#story-log li[data-role=player]').length`), "the message is shown once")
	require.Equal(t, msgs[1].Content, b.text(dmReplySel+" .msg-text"))
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserReloadsFromRESTWhenTheStreamHistoryIsGone(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=5ms"}})
	proxy := newSwitchProxy(t, srv.URL)
	p := signUp(t, srv.URL)
	s := newSession(t, p, newCharacter(t, p).ID)
	b := playing(t, proxy.URL(), p, s.ID)
	b.fill("#composer", "I open the door.")
	b.pressEnter()
	b.waitFor("the first reply", fmt.Sprintf(`document.querySelectorAll(%q).length === 1`, dmReplyDoneSel), 60*time.Second)

	// While the browser is cut off, another turn is played (another
	// device, say) and the session's event history expires.
	proxy.outage()
	b.waitFor("the client to notice", `document.querySelector('.connection')?.dataset.state !== 'open'`, 10*time.Second)
	_, tr := postMessage(t, p.Client, s.ID, "I close the door behind me.")
	require.Equal(t, "completed", waitFinal(t, p.Client, tr.ID, 30*time.Second).Status)
	rdb := testkit.Redis(t)
	require.NoError(t, rdb.Del(context.Background(), events.StreamKey(uuid.MustParse(s.ID))).Err())
	proxy.restore()

	// The resume gets a reset; the client reloads the story over REST.
	b.waitFor("the second turn, from REST", fmt.Sprintf(`document.querySelectorAll(%q).length === 2`, dmReplyDoneSel), 60*time.Second)
	msgs := restMessages(t, p, s.ID)
	require.Len(t, msgs, 4)
	shown := eval[[]string](b, `[...document.querySelectorAll('#story-log > li .msg-text')].map(e => e.textContent)`)
	want := []string{msgs[0].Content, msgs[1].Content, msgs[2].Content, msgs[3].Content}
	require.Equal(t, want, shown, "the whole story, each message once")
	b.waitFor("the stream to be live again", `document.querySelector('.connection')?.dataset.state === 'open'`, 15*time.Second)
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}

func TestBrowserPagesListsAndEndsADeletedSession(t *testing.T) {
	srv := testkit.Start(t, testkit.Options{Command: "api"})
	b := newBrowser(t, srv.URL, 1280, 860)
	email := b.signUpInBrowser("Paige")
	p := loginREST(t, srv.URL, email)
	const n = 53 // the first page holds 50
	var first session
	for i := range n {
		s := newSession(t, p, "")
		if i == 0 {
			first = s
		}
	}

	b.open("/#/sessions")
	b.waitFor("the first page of adventures", `document.querySelectorAll('.session-list li').length === 50`, 15*time.Second)
	b.click(".load-more-row button")
	b.waitFor("the older adventures", `document.querySelectorAll('.session-list li').length === 53 && document.querySelector('.load-more-row').hidden`, 15*time.Second)
	require.Equal(t, "#/play/"+first.ID, eval[string](b, `new URL(document.querySelector('.session-list li:last-child a').href).hash`), "the oldest comes last")

	b.open("/#/play/" + first.ID)
	b.waitFor("the game view, live", `document.querySelector('.connection')?.dataset.state === 'open'`, 15*time.Second)
	require.Equal(t, http.StatusNoContent, p.Client.Do(t, "DELETE", "/api/sessions/"+first.ID, nil).Status)
	b.waitFor("the stream to end for good", `document.querySelector('.connection')?.dataset.state === 'closed' && document.querySelector('#notices')?.textContent.includes('deleted')`, 15*time.Second)
	require.Empty(t, b.exceptions(), "no uncaught exceptions")
}
