package tests

import (
	"net/http"
	"strings"
	"testing"

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
