package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// The hardening suite (docs/SECURITY.md): each test is a finding of the
// attacker's review that held before its fix.

// adminCLI runs `conquest admin <args>` against the test stack's database.
func adminCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := testkit.Exec(t, nil, append([]string{"admin"}, args...)...)
	require.NoError(t, err, out)
	return out
}

func TestAdminIsGrantedByTheOperatorOnly(t *testing.T) {
	t.Parallel()
	boss := testkit.UniqueEmail("boss")
	// ADMIN_EMAILS used to make whoever registered the address first an
	// admin (emails are not verified).
	srv := testkit.Start(t, testkit.Options{Command: "all", Env: []string{"ADMIN_EMAILS=" + boss}})

	p := registerPlayer(t, srv.URL, strings.ToUpper(boss))
	t.Run("registering an ADMIN_EMAILS address gives the player role", func(t *testing.T) {
		require.Equal(t, "player", p.Player.Role)
		c := authClient(srv.URL)
		c.Token = p.AccessToken
		require.Equal(t, http.StatusForbidden, c.Do(t, "GET", "/ops/queues/api/queues", nil).Status)
	})

	t.Run("an unknown email cannot be granted", func(t *testing.T) {
		out, err := testkit.Exec(t, nil, "admin", "grant", testkit.UniqueEmail("nobody"))
		require.Error(t, err)
		require.Contains(t, out, "no player")
	})

	adminCLI(t, "grant", boss)
	require.Contains(t, adminCLI(t, "list"), boss)
	s := loginPlayer(t, srv.URL, boss)
	admin := authClient(srv.URL)
	admin.Token = s.AccessToken
	t.Run("after `conquest admin grant` a login is admin and /ops opens", func(t *testing.T) {
		require.Equal(t, "admin", s.Player.Role)
		resp := admin.Do(t, "GET", "/ops/queues/api/queues", nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	})
	cookie := admin.Do(t, "POST", "/ops/session", nil).Header.Get("Set-Cookie")
	require.NotEmpty(t, cookie)
	browser := testkit.NewClient(srv.URL)
	browser.Header.Set("Cookie", strings.Split(cookie, ";")[0])
	require.Equal(t, http.StatusOK, browser.Do(t, "GET", "/ops/queues/api/queues", nil).Status)

	adminCLI(t, "revoke", boss)
	require.NotContains(t, adminCLI(t, "list"), boss)
	t.Run("after `conquest admin revoke` the same session's /ops is refused at once", func(t *testing.T) {
		resp := admin.Do(t, "GET", "/ops/queues/api/queues", nil)
		require.Equal(t, http.StatusForbidden, resp.Status, string(resp.Body))
		require.Equal(t, http.StatusForbidden, admin.Do(t, "GET", "/ops/reembed", nil).Status)
		require.Equal(t, http.StatusForbidden, admin.Do(t, "POST", "/ops/session", nil).Status)
		require.Equal(t, http.StatusForbidden, browser.Do(t, "GET", "/ops/queues/api/queues", nil).Status, "the ops cookie too")
	})
	t.Run("after revoke a refresh of the same login gives the player role", func(t *testing.T) {
		resp := postRefresh(t, srv.URL, s.RefreshToken)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out authTokens
		resp.JSON(t, &out)
		require.Equal(t, "player", out.Player.Role)
		c := authClient(srv.URL)
		c.Token = out.AccessToken
		require.Equal(t, http.StatusForbidden, c.Do(t, "GET", "/ops/queues/api/queues", nil).Status)
	})
}

// ticketStream opens a session stream on base with a stream ticket issued
// for c's player (as the web client does), without the access token.
func ticketStream(t *testing.T, c *testkit.Client, base, sessionID string) *stream {
	t.Helper()
	resp := c.Do(t, "POST", "/api/stream-tickets", map[string]any{"session_id": sessionID})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var tk struct {
		URL string `json:"url"`
	}
	resp.JSON(t, &tk)
	return openStream(t, testkit.NewClient(base), tk.URL)
}

func TestStreamsEndWithTheirLogin(t *testing.T) {
	t.Parallel()
	// No refresh reuse window: a spent refresh token presented again must
	// count as theft at once (the window has its own test).
	noWindow := []string{"REFRESH_REUSE_WINDOW=0s"}
	a := testkit.Start(t, testkit.Options{Command: "api", Env: noWindow})
	b := testkit.Start(t, testkit.Options{Command: "api", Env: noWindow})

	reg := registerPlayer(t, a.URL, testkit.UniqueEmail("streamer"))
	pc := authClient(a.URL)
	pc.Token = reg.AccessToken
	p := player{ID: reg.Player.ID, Client: pc}
	s := newSession(t, p, "")
	other := signUp(t, a.URL)
	os := newSession(t, other, "")

	// Streams on replica B; the logout goes to replica A.
	bearer := openStream(t, p.on(b.URL), "/api/sessions/"+s.ID+"/events")
	ticket := ticketStream(t, pc, b.URL, s.ID)
	bystander := openStream(t, other.on(b.URL), "/api/sessions/"+os.ID+"/events")
	require.False(t, bearer.ended(time.Second), "the stream is open before the logout")

	resp := pc.Do(t, "POST", "/auth/logout", map[string]any{"refresh_token": reg.RefreshToken})
	require.Equal(t, http.StatusNoContent, resp.Status, string(resp.Body))

	t.Run("a logout on one replica ends the login's streams on another", func(t *testing.T) {
		require.True(t, bearer.ended(10*time.Second), "the bearer-token stream ended")
		require.True(t, ticket.ended(10*time.Second), "the ticket stream ended")
	})
	t.Run("another player's stream stays open", func(t *testing.T) {
		require.False(t, bystander.ended(2*time.Second))
	})

	t.Run("a reused refresh token ends the family's streams", func(t *testing.T) {
		l := loginPlayer(t, a.URL, reg.Player.Email)
		c := authClient(a.URL)
		c.Token = l.AccessToken
		st := openStream(t, player{Client: c}.on(b.URL), "/api/sessions/"+s.ID+"/events")
		require.Equal(t, http.StatusOK, postRefresh(t, a.URL, l.RefreshToken).Status)
		require.Equal(t, http.StatusUnauthorized, postRefresh(t, a.URL, l.RefreshToken).Status, "the spent token again: theft")
		require.True(t, st.ended(10*time.Second))
	})

	t.Run("a stream ends when its access token expires", func(t *testing.T) {
		short := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"ACCESS_TOKEN_TTL=3s"}})
		l := loginPlayer(t, short.URL, reg.Player.Email)
		c := authClient(short.URL)
		c.Token = l.AccessToken
		bearer := openStream(t, c, "/api/sessions/"+s.ID+"/events")
		ticket := ticketStream(t, c, short.URL, s.ID)
		// The token lives 3 s (plus the 5 s clock leeway of a parse); the
		// streams used to stay open for as long as the client wanted.
		require.True(t, bearer.ended(20*time.Second), "the bearer-token stream ended")
		require.True(t, ticket.ended(20*time.Second), "the ticket stream ended")
	})
}

func TestStreamsAreCappedPerPlayerAndPerAddress(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"STREAMS_PER_PLAYER=3", "STREAMS_PER_IP=5"}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	path := "/api/sessions/" + s.ID + "/events"
	ip := fakeClientIP()

	var open []*stream
	for range 3 {
		open = append(open, openStream(t, p.Client, path, "X-Forwarded-For", ip))
	}
	t.Run("a player's stream over the cap gets 429 with Retry-After", func(t *testing.T) {
		resp, ok := holdStream(t, p.Client, path, "X-Forwarded-For", fakeClientIP())
		require.False(t, ok)
		require.Equal(t, http.StatusTooManyRequests, resp.Status, string(resp.Body))
		require.Equal(t, "rate_limited", resp.ErrorCode())
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
	})
	t.Run("a closed stream frees its place", func(t *testing.T) {
		open[0].close()
		require.Eventually(t, func() bool {
			_, ok := holdStream(t, p.Client, path, "X-Forwarded-For", ip)
			return ok
		}, 20*time.Second, 200*time.Millisecond)
	})
	t.Run("streams from one address over its cap get 429, whoever the player", func(t *testing.T) {
		q := signUp(t, srv.URL)
		qs := newSession(t, q, "")
		qpath := "/api/sessions/" + qs.ID + "/events"
		// p holds 2 streams from ip (3 until the server notices that the
		// probe above, closed with its subtest, is gone): another player
		// from ip gets 2 or 3 more, never more.
		opened := 0
		var refused *testkit.Response
		for range 6 {
			resp, ok := holdStream(t, q.Client, qpath, "X-Forwarded-For", ip)
			if !ok {
				refused = resp
				break
			}
			opened++
		}
		require.NotNil(t, refused, "some stream from the address was refused")
		require.LessOrEqual(t, opened, 3)
		require.GreaterOrEqual(t, opened, 2)
		require.Equal(t, http.StatusTooManyRequests, refused.Status)
		require.Equal(t, "rate_limited", refused.ErrorCode())
		require.NotEmpty(t, refused.Header.Get("Retry-After"))
		r := signUp(t, srv.URL)
		rs := newSession(t, r, "")
		_, ok := holdStream(t, r.Client, "/api/sessions/"+rs.ID+"/events", "X-Forwarded-For", fakeClientIP())
		require.True(t, ok, "another address still gets in")
	})
}

// holdStream opens an SSE path and, when it answers 200, keeps it open
// until the test ends; otherwise it returns the refusal.
func holdStream(t *testing.T, c *testkit.Client, path string, hdr ...string) (*testkit.Response, bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	if resp.StatusCode == http.StatusOK {
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return nil, true
	}
	defer cancel()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return &testkit.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, false
}

func TestUploadFormsCannotBeReused(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Env: []string{"ASSET_CLEANUP_INTERVAL=1s"}})
	b := openBucket(t)
	p := signUp(t, srv.URL)
	img := portraitPNG(t)
	html := []byte("<html><script>alert(1)</script>" + strings.Repeat(" ", len(img)-38) + "</html>")
	require.Len(t, html, len(img))

	t.Run("re-posting a completed form does not change the ready asset's bytes", func(t *testing.T) {
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		status, msg := uploadWithForm(t, created.Upload, img, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		completeAsset(t, p.Client, created.Asset.ID)
		status, msg = uploadWithForm(t, created.Upload, html, nil)
		require.Equal(t, http.StatusNoContent, status, "the store accepts the form until it expires: %s", msg)
		got := getAsset(t, p.Client, created.Asset.ID)
		require.Equal(t, "ready", got.Status)
		_, body := download(t, *got.DownloadURL)
		require.Equal(t, img, body, "the download serves the verified bytes")
	})
	t.Run("objects the database does not account for are removed by the cleanup", func(t *testing.T) {
		// After complete (above) and after delete, an old form still writes.
		created := createAsset(t, p.Client, map[string]any{"kind": "portrait", "content_type": "image/png", "size": len(img)})
		require.Equal(t, http.StatusNoContent, p.Client.Do(t, "DELETE", "/api/assets/"+created.Asset.ID, nil).Status)
		status, msg := uploadWithForm(t, created.Upload, img, nil)
		require.Equal(t, http.StatusNoContent, status, msg)
		resp := p.Client.Do(t, "GET", "/api/assets", nil)
		var out struct{ Assets []assetJSON }
		resp.JSON(t, &out)
		require.Len(t, out.Assets, 1, "only the completed asset is listed")
		ready := assetKey(p, "portrait", out.Assets[0].ID)
		require.Eventually(t, func() bool {
			keys := append(b.keys(t, "players/"+p.ID+"/"), b.keys(t, "uploads/"+p.ID+"/")...)
			return len(keys) == 1 && keys[0] == ready
		}, 30*time.Second, 250*time.Millisecond, "only the ready asset's object stays in the bucket")
		_, body := download(t, *getAsset(t, p.Client, out.Assets[0].ID).DownloadURL)
		require.Equal(t, img, body)
	})
}

// closedWithin reports whether the server closed conn within d (reading
// and discarding whatever it sends).
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

func TestHTTPServerTimeoutsAndHeaderLimit(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"HTTP_READ_TIMEOUT=2s", "HTTP_IDLE_TIMEOUT=2s"}})
	addr := strings.TrimPrefix(srv.URL, "http://")
	dial := func(t *testing.T) net.Conn {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("an idle keep-alive connection is closed", func(t *testing.T) {
		conn := dial(t)
		_, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.True(t, closedWithin(conn, 15*time.Second), "the server closes the idle connection")
	})
	t.Run("a body dribbled a byte at a time is cut off", func(t *testing.T) {
		conn := dial(t)
		_, err := conn.Write([]byte("POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"))
		require.NoError(t, err)
		cut := make(chan struct{})
		go func() {
			defer close(cut)
			for range 30 {
				time.Sleep(500 * time.Millisecond)
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		require.True(t, closedWithin(conn, 15*time.Second), "the server stops reading the slow body")
		<-cut
	})
	t.Run("an event stream outlives the read timeout, detached or not", func(t *testing.T) {
		plain := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"HTTP_READ_TIMEOUT=2s", "SSE_DETACH=false"}})
		for _, base := range []string{srv.URL, plain.URL} {
			p := signUp(t, base)
			s := newSession(t, p, "")
			st := openStream(t, p.Client, "/api/sessions/"+s.ID+"/events")
			require.False(t, st.ended(6*time.Second), "open three read timeouts later on %s", base)
		}
	})
	t.Run("a 1 MiB header gets 431 in the JSON error shape", func(t *testing.T) {
		conn := dial(t)
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n")) // the server may close before reading it all
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
		require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
		r := testkit.Response{Status: resp.StatusCode, Body: body}
		require.Equal(t, "headers_too_large", r.ErrorCode(), string(body))
	})
}

func TestMetricsOnTheAPIPortNeedATokenInProduction(t *testing.T) {
	t.Parallel()
	prod := []string{"APP_ENV=production", "LOG_JSON=true"}
	t.Run("production without METRICS_TOKEN serves no /metrics on the API port", func(t *testing.T) {
		srv := testkit.Start(t, testkit.Options{Command: "api", Env: prod})
		resp := testkit.NewClient(srv.URL).Do(t, "GET", "/metrics", nil)
		require.Equal(t, http.StatusNotFound, resp.Status)
		require.Equal(t, "not_found", resp.ErrorCode())
	})
	t.Run("production with METRICS_TOKEN serves it to the token only", func(t *testing.T) {
		token := "metrics-token-0123456789"
		srv := testkit.Start(t, testkit.Options{Command: "api", Env: append(prod, "METRICS_TOKEN="+token)})
		c := testkit.NewClient(srv.URL)
		require.Equal(t, http.StatusUnauthorized, c.Do(t, "GET", "/metrics", nil).Status)
		c.Token = token
		resp := c.Do(t, "GET", "/metrics", nil)
		require.Equal(t, http.StatusOK, resp.Status)
		require.Contains(t, string(resp.Body), "# TYPE")
	})
}

func TestRefreshReuseWindow(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"REFRESH_REUSE_WINDOW=2s"}})
	reg := registerPlayer(t, srv.URL, testkit.UniqueEmail("tabs"))

	// Two tabs refresh the same token at once.
	var wg sync.WaitGroup
	answers := make([]*testkit.Response, 2)
	for i := range answers {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = postRefresh(t, srv.URL, reg.RefreshToken) }()
	}
	wg.Wait()
	var pairs [2]authTokens
	for i, resp := range answers {
		require.Equal(t, http.StatusOK, resp.Status, "tab %d: %s", i, resp.Body)
		resp.JSON(t, &pairs[i])
	}
	t.Run("two tabs refreshing at once get the same new pair", func(t *testing.T) {
		require.Equal(t, pairs[0].RefreshToken, pairs[1].RefreshToken)
		require.Equal(t, pairs[0].AccessToken, pairs[1].AccessToken)
		require.Equal(t, http.StatusOK, getMe(t, srv.URL, pairs[0].AccessToken).Status)
	})
	t.Run("after the window, the spent token is theft and revokes the login", func(t *testing.T) {
		time.Sleep(3 * time.Second)
		require.Equal(t, http.StatusUnauthorized, postRefresh(t, srv.URL, reg.RefreshToken).Status)
		require.Equal(t, http.StatusUnauthorized, getMe(t, srv.URL, pairs[0].AccessToken).Status)
		require.Equal(t, http.StatusUnauthorized, postRefresh(t, srv.URL, pairs[0].RefreshToken).Status)
	})
}

func TestABadUUIDNamesTheField(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api"})
	p := signUp(t, srv.URL)
	for _, field := range []string{"session_id", "turn_id"} {
		t.Run(field+" that is not a UUID is named, without library text", func(t *testing.T) {
			resp := p.Client.Do(t, "POST", "/api/stream-tickets", map[string]any{field: "not-a-uuid"})
			require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
			require.Equal(t, "invalid_request", resp.ErrorCode())
			var body struct {
				Error struct{ Message string } `json:"error"`
			}
			resp.JSON(t, &body)
			require.True(t, strings.HasPrefix(body.Error.Message, field+":"), body.Error.Message)
			require.NotContains(t, body.Error.Message, "UUID length")
		})
	}
}

// requireRefusedField asserts a 400 whose message starts with the field's
// name (inventory items may be named with their index: sheet.inventory[0]…).
func requireRefusedField(t *testing.T, resp *testkit.Response, field string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, resp.Status, string(resp.Body))
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	resp.JSON(t, &body)
	require.True(t, strings.HasPrefix(body.Error.Message, field), "message %q names %s", body.Error.Message, field)
}

func TestNameLikeFieldsRefuseBidiControlsAndInvisibleNames(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api"})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)
	bad := map[string]string{
		"a right-to-left override": "gpj\u202e.exe",
		"an embedding":             "\u202aName",
		"an isolate":               "Name\u2066x\u2069",
		"only zero-width spaces":   "\u200b\u200b",
		"only a BOM and a joiner":  "\ufeff\u200d",
		"only a Hangul filler":     "\u3164",
	}
	for what, s := range bad {
		t.Run(what, func(t *testing.T) {
			requireRefusedField(t, testkit.NewClient(srv.URL).Do(t, "POST", "/auth/register", map[string]any{
				"email": testkit.UniqueEmail("bidi"), "password": "correct horse battery", "display_name": s}), "display_name")
			requireRefusedField(t, p.Client.Do(t, "POST", "/api/characters", map[string]any{"name": s, "class": "ranger"}), "name")
			requireRefusedField(t, p.Client.Do(t, "POST", "/api/characters", map[string]any{"name": "Arwen", "class": s}), "class")
			requireRefusedField(t, p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"name": s}), "name")
			requireRefusedField(t, p.Client.Do(t, "POST", "/api/characters", map[string]any{
				"name": "Arwen", "class": "ranger", "sheet": map[string]any{"inventory": []string{"rope", s}}}), "sheet.inventory")
			requireRefusedField(t, p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{
				"sheet": map[string]any{"inventory": []string{s}}}), "sheet.inventory")
			requireRefusedField(t, p.Client.Do(t, "POST", "/api/sessions", map[string]any{"title": s}), "title")
			requireRefusedField(t, p.Client.Do(t, "POST", "/api/assets", map[string]any{
				"kind": "portrait", "content_type": "image/png", "size": 100, "filename": s}), "filename")
		})
	}
	t.Run("ordinary names in any script still pass", func(t *testing.T) {
		resp := p.Client.Do(t, "POST", "/api/characters", map[string]any{"name": "Ærwyn 龍", "class": "رامي السهام"})
		require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
		resp = p.Client.Do(t, "POST", "/api/sessions", map[string]any{"title": "Ταβέρνα"})
		require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	})
}

func getCharacter(t *testing.T, p player, id string) (character, string) {
	t.Helper()
	resp := p.Client.Do(t, "GET", "/api/characters/"+id, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Character character }
	resp.JSON(t, &out)
	return out.Character, resp.Header.Get("ETag")
}

func TestConcurrentCharacterPatchesLoseNothing(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api"})
	p := signUp(t, srv.URL)
	ch := newCharacter(t, p)

	t.Run("30 concurrent pairs of patches of different fields both land", func(t *testing.T) {
		lost := 0
		for i := range 30 {
			name, class := fmt.Sprintf("Name %d", i), fmt.Sprintf("Class %d", i)
			var wg sync.WaitGroup
			status := make([]int, 2)
			for j, body := range []map[string]any{{"name": name}, {"class": class}} {
				wg.Go(func() { status[j] = p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, body).Status })
			}
			wg.Wait()
			require.Equal(t, []int{http.StatusOK, http.StatusOK}, status)
			got, _ := getCharacter(t, p, ch.ID)
			if got.Name != name || got.Class != class {
				lost++
			}
		}
		require.Zero(t, lost, "pairs that lost an update")
	})

	t.Run("If-Match with the current ETag applies; a stale one gets 412", func(t *testing.T) {
		_, etag := getCharacter(t, p, ch.ID)
		require.NotEmpty(t, etag)
		resp := p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"name": "Fresh"}, "If-Match", etag)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		newTag := resp.Header.Get("ETag")
		require.NotEqual(t, etag, newTag)
		resp = p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{"name": "Stale"}, "If-Match", etag)
		require.Equal(t, http.StatusPreconditionFailed, resp.Status, string(resp.Body))
		require.Equal(t, "precondition_failed", resp.ErrorCode())
		got, tag := getCharacter(t, p, ch.ID)
		require.Equal(t, "Fresh", got.Name)
		require.Equal(t, newTag, tag)
	})

	t.Run("abilities differing only in case are refused", func(t *testing.T) {
		resp := p.Client.Do(t, "PATCH", "/api/characters/"+ch.ID, map[string]any{
			"sheet": map[string]any{"abilities": map[string]int{"Strength": 10, "strength": 12, "STRENGTH": 14}}})
		requireRefusedField(t, resp, "sheet.abilities")
	})
}

func TestWhatOnePlayerCreatesIsCapped(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"CHARACTERS_PER_PLAYER=3", "SESSIONS_PER_PLAYER=4"}})
	p := signUp(t, srv.URL)
	t.Run("a character over the cap gets 409 too_many_characters", func(t *testing.T) {
		for range 3 {
			newCharacter(t, p)
		}
		resp := p.Client.Do(t, "POST", "/api/characters", map[string]any{"name": "One too many", "class": "bard"})
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
		require.Equal(t, "too_many_characters", resp.ErrorCode())
	})
	t.Run("a session over the cap gets 409 too_many_sessions", func(t *testing.T) {
		for range 4 {
			newSession(t, p, "")
		}
		resp := p.Client.Do(t, "POST", "/api/sessions", map[string]any{"title": "One too many"})
		require.Equal(t, http.StatusConflict, resp.Status, string(resp.Body))
		require.Equal(t, "too_many_sessions", resp.ErrorCode())
	})
	t.Run("another player is not counted", func(t *testing.T) {
		newCharacter(t, signUp(t, srv.URL))
	})
}

func TestDeletingASessionEndsEverythingInIt(t *testing.T) {
	t.Parallel()
	// A slow narrator (a word a second): the turn is generating for a good
	// minute, long after the session goes.
	a := testkit.Start(t, testkit.Options{Env: []string{"DM_WORD_DELAY=1s"}})
	b := testkit.Start(t, testkit.Options{Command: "api"})
	p := signUp(t, a.URL)
	s := newSession(t, p, "")
	_, tr := postMessage(t, p.Client, s.ID, "I light a torch and follow the stairs down into the dark.")

	// Streams on replica B; the delete goes to replica A.
	live := openStream(t, p.on(b.URL), "/api/sessions/"+s.ID+"/events")
	turnStream := openStream(t, p.on(b.URL), "/api/turns/"+tr.ID+"/events")
	live.until(t, 60*time.Second, func(ev sseEvent) bool { return ev.Type == "dm.delta" })

	rdb := testkit.Redis(t)
	key := "events:session:{" + s.ID + "}" // events.StreamKey
	db, err := pgx.Connect(t.Context(), simpleProtocol(os.Getenv("DATABASE_URL")))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close(context.Background()) })
	count := func(table string) int {
		var n int
		require.NoError(t, db.QueryRow(t.Context(), "SELECT count(*) FROM "+table+" WHERE session_id = $1", s.ID).Scan(&n))
		return n
	}
	require.Positive(t, count("game.message_embeddings"), "the player's message has its vector before the delete")
	require.Positive(t, rdb.XLen(t.Context(), key).Val(), "the session has an event history before the delete")
	insp := asynq.NewInspectorFromRedisClient(rdb)
	info, err := insp.GetTaskInfo("generate", "generate:"+tr.ID)
	require.NoError(t, err)
	require.Equal(t, asynq.TaskStateActive, info.State, "the reply is being generated")

	resp := p.Client.Do(t, "DELETE", "/api/sessions/"+s.ID, nil)
	require.Equal(t, http.StatusNoContent, resp.Status, string(resp.Body))

	t.Run("the generation stops", func(t *testing.T) {
		require.Eventually(t, func() bool {
			info, err := insp.GetTaskInfo("generate", "generate:"+tr.ID)
			return err != nil || info.State != asynq.TaskStateActive
		}, 20*time.Second, 200*time.Millisecond, "the generate task is no longer running")
	})
	t.Run("the turn in flight ends cancelled and its stream ends", func(t *testing.T) {
		evs := turnStream.until(t, 20*time.Second, isDone(tr.ID))
		require.Equal(t, "turn.cancelled", evs[len(evs)-1].Type)
		require.True(t, turnStream.ended(10*time.Second), "the turn stream ended")
	})
	t.Run("the session stream on another replica gets session.deleted and ends", func(t *testing.T) {
		evs := live.until(t, 20*time.Second, func(ev sseEvent) bool { return ev.Type == "session.deleted" })
		last := evs[len(evs)-1]
		require.Equal(t, s.ID, last.Data["session_id"])
		require.NotEmpty(t, last.ID)
		var cancelled bool
		for _, ev := range evs {
			cancelled = cancelled || (ev.Type == "turn.cancelled" && ev.Data["turn_id"] == tr.ID)
		}
		require.True(t, cancelled, "turn.cancelled came before session.deleted")
		require.True(t, live.ended(10*time.Second), "the session stream ended")
	})
	t.Run("the event history leaves Redis and stays gone", func(t *testing.T) {
		// What is left is the one session.deleted entry, expiring within the hour.
		only := func() {
			entries, err := rdb.XRange(t.Context(), key, "-", "+").Result()
			require.NoError(t, err)
			require.Len(t, entries, 1)
			require.Equal(t, "session.deleted", entries[0].Values["type"])
		}
		only()
		ttl := rdb.PTTL(t.Context(), key).Val()
		require.Positive(t, ttl)
		require.LessOrEqual(t, ttl, time.Hour)
		time.Sleep(3 * time.Second) // a generation going on would add deltas (one a second)
		only()
	})
	t.Run("its messages and vectors are deleted", func(t *testing.T) {
		require.Zero(t, count("game.message_embeddings"))
		require.Zero(t, count("game.messages"))
		require.Zero(t, count("game.turns"))
	})
	t.Run("its streams and turns answer 404 afterwards", func(t *testing.T) {
		resp, ok := holdStream(t, p.on(b.URL), "/api/sessions/"+s.ID+"/events")
		require.False(t, ok)
		require.Equal(t, http.StatusNotFound, resp.Status)
		require.Equal(t, http.StatusNotFound, p.Client.Do(t, "GET", "/api/turns/"+tr.ID, nil).Status)
	})
}

// walkPages reads a newest-first list page by page with limit 3 and
// returns the ids in order; between pages it calls between (if set) once.
func walkPages(t *testing.T, c *testkit.Client, path, key string, between func()) []string {
	t.Helper()
	var ids []string
	before := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 20, "the walk ends")
		q := path + "?limit=3"
		if before != "" {
			q += "&before=" + before
		}
		resp := c.Do(t, "GET", q, nil)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var page map[string]json.RawMessage
		resp.JSON(t, &page)
		var items []struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(page[key], &items))
		require.LessOrEqual(t, len(items), 3)
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		var next *string
		require.Contains(t, page, "next_before")
		require.NoError(t, json.Unmarshal(page["next_before"], &next))
		if next == nil {
			return ids
		}
		require.Len(t, items, 3, "only the last page is short")
		require.Equal(t, items[2].ID, *next, "next_before names the page's last item")
		before = *next
		if between != nil {
			between()
			between = nil
		}
	}
}

func TestListsArePagedByCursor(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api"})
	p := signUp(t, srv.URL)
	other := signUp(t, srv.URL)
	const n = 7 // three pages of 3

	create := map[string]func() string{
		"characters": func() string { return newCharacter(t, p).ID },
		"sessions":   func() string { return newSession(t, p, "").ID },
		"assets": func() string {
			resp := p.Client.Do(t, "POST", "/api/assets", map[string]any{"kind": "portrait", "content_type": "image/png", "size": 100})
			require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
			var out struct{ Asset struct{ ID string } }
			resp.JSON(t, &out)
			return out.Asset.ID
		},
	}
	for _, key := range []string{"characters", "sessions", "assets"} {
		t.Run("every "+strings.TrimSuffix(key, "s")+" once, newest first, across pages", func(t *testing.T) {
			var made []string
			for range n {
				made = append(made, create[key]())
			}
			var late string
			ids := walkPages(t, p.Client, "/api/"+key, key, func() { late = create[key]() })
			// Newest first: the reverse of creation order. The one made
			// during the walk is newer than every page: it shifts nothing.
			want := make([]string, 0, n)
			for i := n - 1; i >= 0; i-- {
				want = append(want, made[i])
			}
			require.Equal(t, want, ids, "no gap, no duplicate")
			require.NotContains(t, ids, late)
			require.Equal(t, append([]string{late}, want...), walkPages(t, p.Client, "/api/"+key, key, nil))
		})
	}

	otherChar := newCharacter(t, other).ID
	for name, tc := range map[string]struct{ path, field string }{
		"a cursor that is not a UUID":     {"/api/characters?before=nope", "before"},
		"an unknown cursor":               {"/api/sessions?before=" + uuid.NewString(), "before"},
		"another player's character":      {"/api/characters?before=" + otherChar, "before"},
		"a session id as an asset cursor": {"/api/assets?before=" + newSession(t, p, "").ID, "before"},
		"a limit of 0":                    {"/api/sessions?limit=0", "limit"},
		"a limit over 100":                {"/api/assets?limit=101", "limit"},
		"a limit that is not a number":    {"/api/characters?limit=ten", "limit"},
	} {
		t.Run(name+" is 400 naming the field", func(t *testing.T) {
			requireRefusedField(t, p.Client.Do(t, "GET", tc.path, nil), tc.field)
		})
	}
}

// refreshCookie returns the refresh_token cookie an answer sets (nil if none).
func refreshCookie(resp *testkit.Response) *http.Cookie {
	for _, c := range (&http.Response{Header: resp.Header}).Cookies() {
		if c.Name == "refresh_token" {
			return c
		}
	}
	return nil
}

func TestTheRefreshTokenIsAnHttpOnlyCookieForBrowsers(t *testing.T) {
	t.Parallel()
	// No reuse window: a spent cookie presented again is refused at once.
	srv := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"REFRESH_REUSE_WINDOW=0s"}})
	email := testkit.UniqueEmail("cookie")
	resp := authClient(srv.URL).Do(t, "POST", "/auth/register", map[string]any{"email": email, "password": authPassword, "display_name": "Aria"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var reg authTokens
	resp.JSON(t, &reg)

	t.Run("register, login and refresh set it HttpOnly, Secure, SameSite=Strict, for the refresh route only", func(t *testing.T) {
		ck := refreshCookie(resp)
		require.NotNil(t, ck, "Set-Cookie: %v", resp.Header.Values("Set-Cookie"))
		require.Equal(t, reg.RefreshToken, ck.Value, "the JSON body keeps the token for API clients")
		require.Equal(t, "/auth/refresh", ck.Path)
		require.True(t, ck.HttpOnly)
		require.True(t, ck.Secure)
		require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
		require.Equal(t, 30*24*3600, ck.MaxAge, "as long as the refresh token lives")
		require.Empty(t, ck.Domain, "this host only")

		l := authClient(srv.URL).Do(t, "POST", "/auth/login", map[string]any{"email": email, "password": authPassword})
		require.NotNil(t, refreshCookie(l))
		session := authClient(srv.URL).Do(t, "POST", "/auth/login", map[string]any{"email": email, "password": authPassword, "remember": false})
		require.Equal(t, http.StatusOK, session.Status, string(session.Body))
		ck = refreshCookie(session)
		require.NotNil(t, ck)
		require.Zero(t, ck.MaxAge, "remember:false: a session cookie")
		require.True(t, ck.HttpOnly && ck.Secure)
	})

	var cookie string
	t.Run("a refresh by cookie rotates it and keeps the token out of the body", func(t *testing.T) {
		r := authClient(srv.URL).Do(t, "POST", "/auth/refresh", map[string]any{}, "Cookie", "refresh_token="+reg.RefreshToken)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var out map[string]any
		r.JSON(t, &out)
		require.NotContains(t, out, "refresh_token", "no script sees a token that came in the cookie")
		require.Equal(t, http.StatusOK, getMe(t, srv.URL, out["access_token"].(string)).Status)
		ck := refreshCookie(r)
		require.NotNil(t, ck)
		require.NotEqual(t, reg.RefreshToken, ck.Value)
		require.True(t, ck.HttpOnly && ck.Secure && ck.SameSite == http.SameSiteStrictMode && ck.Path == "/auth/refresh")
		cookie = ck.Value
		// The next rotation by cookie works too; the spent one is refused
		// and its answer clears the cookie.
		r2 := authClient(srv.URL).Do(t, "POST", "/auth/refresh", map[string]any{}, "Cookie", "refresh_token="+cookie)
		require.Equal(t, http.StatusOK, r2.Status, string(r2.Body))
		spent := authClient(srv.URL).Do(t, "POST", "/auth/refresh", map[string]any{}, "Cookie", "refresh_token="+cookie)
		require.Equal(t, http.StatusUnauthorized, spent.Status)
		ck = refreshCookie(spent)
		require.NotNil(t, ck)
		require.Negative(t, ck.MaxAge, "cleared")
	})

	t.Run("the body token keeps working for API clients", func(t *testing.T) {
		l := loginPlayer(t, srv.URL, email)
		r := postRefresh(t, srv.URL, l.RefreshToken)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		var out authTokens
		r.JSON(t, &out)
		require.NotEmpty(t, out.RefreshToken)
		require.Equal(t, http.StatusOK, postRefresh(t, srv.URL, out.RefreshToken).Status)
	})

	t.Run("logout without a body token ends the login and clears the cookie", func(t *testing.T) {
		l := authClient(srv.URL).Do(t, "POST", "/auth/login", map[string]any{"email": email, "password": authPassword})
		var out authTokens
		l.JSON(t, &out)
		c := authClient(srv.URL)
		c.Token = out.AccessToken
		r := c.Do(t, "POST", "/auth/logout", map[string]any{})
		require.Equal(t, http.StatusNoContent, r.Status, string(r.Body))
		ck := refreshCookie(r)
		require.NotNil(t, ck, "logout clears the cookie")
		require.Negative(t, ck.MaxAge)
		require.Equal(t, "/auth/refresh", ck.Path)
		require.Equal(t, http.StatusUnauthorized, authClient(srv.URL).Do(t, "POST", "/auth/refresh", map[string]any{},
			"Cookie", "refresh_token="+refreshCookie(l).Value).Status, "the login's refresh token is revoked")
		require.Equal(t, http.StatusUnauthorized, getMe(t, srv.URL, out.AccessToken).Status)
	})
}

func TestTheWebClientCSPNamesOnlyThisSiteAndTheObjectStore(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Command: "api"})
	cdn := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"S3_PUBLIC_URL=https://assets.example.test"}})
	for name, tc := range map[string]struct {
		base, origin string
	}{
		"the S3 endpoint":   {srv.URL, "http://" + os.Getenv("S3_ENDPOINT")},
		"S3_PUBLIC_URL set": {cdn.URL, "https://assets.example.test"},
	} {
		t.Run("with "+name, func(t *testing.T) {
			resp := testkit.NewClient(tc.base).Do(t, "GET", "/", nil)
			require.Equal(t, http.StatusOK, resp.Status)
			directives := map[string]string{}
			for _, d := range strings.Split(resp.Header.Get("Content-Security-Policy"), ";") {
				d = strings.TrimSpace(d)
				k, v, _ := strings.Cut(d, " ")
				directives[k] = v
			}
			require.Equal(t, "'self' "+tc.origin, directives["img-src"])
			require.Equal(t, "'self' "+tc.origin, directives["connect-src"])
			require.Equal(t, "'self'", directives["default-src"])
			require.Equal(t, "'self'", directives["script-src"])
		})
	}
}
