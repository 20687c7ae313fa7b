package tests

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// The auth suite: black-box against a running `conquest api`.
//
// Every client gets its own client address through X-Forwarded-For (the
// server trusts loopback proxies), so rate-limit buckets per IP belong to
// one test and never to the whole run.

const authPassword = "correct horse battery staple"

// startAuthAPI runs a `conquest api` process with extra environment.
func startAuthAPI(t *testing.T, env ...string) *testkit.Process {
	t.Helper()
	return testkit.Start(t, testkit.Options{Command: "api", Env: env})
}

// clientIP returns an address in 2001:db8::/32 with a random /64 (the
// server's per-IP bucket).
func fakeClientIP() string {
	return fmt.Sprintf("2001:db8:%x:%x::7", mrand.Uint32N(1<<16), mrand.Uint32N(1<<16))
}

// authClient returns a client for base that comes from its own address.
func authClient(base string) *testkit.Client {
	c := testkit.NewClient(base)
	c.Header.Set("X-Forwarded-For", fakeClientIP())
	return c
}

type authPlayer struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
}

type authTokens struct {
	Player       authPlayer `json:"player"`
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token"`
	TokenType    string     `json:"token_type"`
	ExpiresIn    int        `json:"expires_in"`
}

func registerPlayer(t *testing.T, base, email string) authTokens {
	t.Helper()
	resp := authClient(base).Do(t, "POST", "/auth/register", map[string]any{"email": email, "password": authPassword, "display_name": "Aria"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out authTokens
	resp.JSON(t, &out)
	return out
}

func loginPlayer(t *testing.T, base, email string) authTokens {
	t.Helper()
	resp := authClient(base).Do(t, "POST", "/auth/login", map[string]any{"email": email, "password": authPassword})
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out authTokens
	resp.JSON(t, &out)
	return out
}

// me calls GET /auth/me with a bearer token.
func getMe(t *testing.T, base, token string) *testkit.Response {
	t.Helper()
	c := authClient(base)
	c.Token = token
	return c.Do(t, "GET", "/auth/me", nil)
}

func postRefresh(t *testing.T, base, refreshToken string) *testkit.Response {
	t.Helper()
	return authClient(base).Do(t, "POST", "/auth/refresh", map[string]any{"refresh_token": refreshToken})
}

func requireAPIError(t *testing.T, resp *testkit.Response, status int, code string) {
	t.Helper()
	require.Equal(t, status, resp.Status, string(resp.Body))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(resp.Body, &body), string(resp.Body))
	require.Equal(t, code, body.Error.Code, string(resp.Body))
	require.NotEmpty(t, body.Error.Message)
	require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
}

func TestAuthHappyPath(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t)
	email := testkit.UniqueEmail("happy")
	c := authClient(api.URL)

	resp := c.Do(t, "POST", "/auth/register", map[string]any{"email": email, "password": authPassword, "display_name": "  Aria of the Dawn "})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	var reg authTokens
	resp.JSON(t, &reg)

	t.Run("register answers the player and a token pair", func(t *testing.T) {
		_, err := uuid.Parse(reg.Player.ID)
		require.NoError(t, err)
		require.Equal(t, email, reg.Player.Email)
		require.Equal(t, "Aria of the Dawn", reg.Player.DisplayName)
		require.Equal(t, "player", reg.Player.Role)
		require.Equal(t, "Bearer", reg.TokenType)
		require.Equal(t, 900, reg.ExpiresIn)
		require.Len(t, strings.Split(reg.AccessToken, "."), 3, "the access token is a JWT")
		require.NotContains(t, reg.RefreshToken, ".", "the refresh token is opaque")
	})
	t.Run("me answers the player of the token", func(t *testing.T) {
		resp := getMe(t, api.URL, reg.AccessToken)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out struct{ Player authPlayer }
		resp.JSON(t, &out)
		require.Equal(t, reg.Player, out.Player)
	})
	t.Run("requests with a token log the player id", func(t *testing.T) {
		require.Eventually(t, func() bool { return strings.Contains(api.Logs(), "player_id="+reg.Player.ID) }, 5*time.Second, 20*time.Millisecond)
	})
	t.Run("login with the email in other case and spaces answers a new pair", func(t *testing.T) {
		resp := authClient(api.URL).Do(t, "POST", "/auth/login", map[string]any{"email": "  " + strings.ToUpper(email) + " ", "password": authPassword})
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		var out authTokens
		resp.JSON(t, &out)
		require.Equal(t, reg.Player, out.Player)
		require.NotEqual(t, reg.RefreshToken, out.RefreshToken)
	})

	var rotated authTokens
	t.Run("refresh answers a new access and refresh token", func(t *testing.T) {
		resp := postRefresh(t, api.URL, reg.RefreshToken)
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
		resp.JSON(t, &rotated)
		require.NotEqual(t, reg.AccessToken, rotated.AccessToken)
		require.NotEqual(t, reg.RefreshToken, rotated.RefreshToken)
		require.Equal(t, "Bearer", rotated.TokenType)
		require.Equal(t, http.StatusOK, getMe(t, api.URL, rotated.AccessToken).Status)
	})
	t.Run("logout answers 204 and ends the session", func(t *testing.T) {
		c := authClient(api.URL)
		c.Token = rotated.AccessToken
		resp := c.Do(t, "POST", "/auth/logout", map[string]any{"refresh_token": rotated.RefreshToken})
		require.Equal(t, http.StatusNoContent, resp.Status, string(resp.Body))
		require.Empty(t, resp.Body)
		requireAPIError(t, getMe(t, api.URL, rotated.AccessToken), http.StatusUnauthorized, "unauthorized")
		requireAPIError(t, postRefresh(t, api.URL, rotated.RefreshToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("the player can log in again after logout", func(t *testing.T) {
		out := loginPlayer(t, api.URL, email)
		require.Equal(t, http.StatusOK, getMe(t, api.URL, out.AccessToken).Status)
	})
}

func TestAuthRefusesBadInput(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t)
	holder := registerPlayer(t, api.URL, testkit.UniqueEmail("input"))
	longEmail := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62)
	reg := func(fields map[string]any) string {
		body := map[string]any{"email": testkit.UniqueEmail("input"), "password": authPassword, "display_name": "Aria"}
		for k, v := range fields {
			if v == nil {
				delete(body, k)
				continue
			}
			body[k] = v
		}
		b, err := json.Marshal(body)
		require.NoError(t, err)
		return string(b)
	}

	cases := []struct {
		name, path, body string
		// field must appear in the message.
		field string
	}{
		{"register with an email without @ is refused", "/auth/register", reg(map[string]any{"email": "aria.example.com"}), "email"},
		{"register with an email with a display name is refused", "/auth/register", reg(map[string]any{"email": "Aria <aria@example.com>"}), "email"},
		{"register with an email over 254 characters is refused", "/auth/register", reg(map[string]any{"email": longEmail}), "email"},
		{"register with a blank email is refused", "/auth/register", reg(map[string]any{"email": "   "}), "email"},
		{"register with a 9-character password is refused", "/auth/register", reg(map[string]any{"password": "123456789"}), "password"},
		{"register with a 1025-character password is refused", "/auth/register", reg(map[string]any{"password": strings.Repeat("p", 1025)}), "password"},
		{"register with a blank display name is refused", "/auth/register", reg(map[string]any{"display_name": "  "}), "display_name"},
		{"register with a 65-character display name is refused", "/auth/register", reg(map[string]any{"display_name": strings.Repeat("n", 65)}), "display_name"},
		{"register with a control character in the display name is refused", "/auth/register", reg(map[string]any{"display_name": "Aria\u0007"}), "display_name"},
		{"register without email is refused", "/auth/register", reg(map[string]any{"email": nil}), "email"},
		{"register without password is refused", "/auth/register", reg(map[string]any{"password": nil}), "password"},
		{"register without display name is refused", "/auth/register", reg(map[string]any{"display_name": nil}), "display_name"},
		{"register with a number for email is refused", "/auth/register", reg(map[string]any{"email": 42}), "email"},
		{"register with an array for password is refused", "/auth/register", reg(map[string]any{"password": []string{authPassword}}), "password"},
		{"register with an object for display name is refused", "/auth/register", reg(map[string]any{"display_name": map[string]any{"x": 1}}), "display_name"},
		{"register with a boolean for email is refused", "/auth/register", reg(map[string]any{"email": true}), "email"},
		{"register with an unknown field is refused, naming it", "/auth/register", reg(map[string]any{"role": "admin"}), "role"},
		{"register with a misspelt field is refused, naming it", "/auth/register", `{"emial":"a@example.com","password":"` + authPassword + `","display_name":"A"}`, "emial"},
		{"register with a body that is not JSON is refused", "/auth/register", `email=a@example.com`, "body"},
		{"register with an empty body is refused", "/auth/register", ``, "body"},
		{"register with a JSON array is refused", "/auth/register", `[]`, "body"},
		{"register with JSON null is refused", "/auth/register", `null`, "body"},
		{"register with truncated JSON is refused", "/auth/register", `{"email":"a@example.com"`, "body"},
		{"register with two JSON objects is refused", "/auth/register", reg(nil) + reg(nil), "body"},
		{"login without email is refused", "/auth/login", `{"password":"` + authPassword + `"}`, "email"},
		{"login without password is refused", "/auth/login", `{"email":"a@example.com"}`, "password"},
		{"login with a number for password is refused", "/auth/login", `{"email":"a@example.com","password":12345678901}`, "password"},
		{"login with an unknown field is refused, naming it", "/auth/login", `{"email":"a@example.com","password":"x","remember_me":true}`, "remember_me"},
		{"login with an empty body is refused", "/auth/login", ``, "body"},
		{"refresh without refresh token is refused", "/auth/refresh", `{}`, "refresh_token"},
		{"refresh with a number for refresh token is refused", "/auth/refresh", `{"refresh_token":7}`, "refresh_token"},
		{"refresh with an unknown field is refused, naming it", "/auth/refresh", `{"refresh_token":"x","grant_type":"refresh_token"}`, "grant_type"},
		{"refresh with a body that is not JSON is refused", "/auth/refresh", `refresh_token=x`, "body"},
		{"logout with an unknown field is refused, naming it", "/auth/logout", `{"refresh_token":"x","everywhere":true}`, "everywhere"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := authClient(api.URL)
			c.Token = holder.AccessToken
			resp := c.Do(t, "POST", tc.path, []byte(tc.body), "Content-Type", "application/json")
			requireAPIError(t, resp, http.StatusBadRequest, "invalid_request")
			var body struct{ Error struct{ Message string } }
			resp.JSON(t, &body)
			require.Contains(t, body.Error.Message, tc.field)
		})
	}

	t.Run("a body over 1 MiB is refused with 413", func(t *testing.T) {
		big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 1<<20) + `","display_name":"A"}`
		resp := authClient(api.URL).Do(t, "POST", "/auth/register", []byte(big))
		requireAPIError(t, resp, http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("a chunked body over 1 MiB is refused with 413", func(t *testing.T) {
		big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 1<<20) + `","display_name":"A"}`
		// A plain io.Reader has no known length, so the body goes out chunked.
		req, err := http.NewRequest("POST", api.URL+"/auth/register", struct{ io.Reader }{strings.NewReader(big)})
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fakeClientIP())
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		requireAPIError(t, &testkit.Response{Status: res.StatusCode, Header: res.Header, Body: b}, http.StatusRequestEntityTooLarge, "too_large")
	})
	t.Run("a body that is not application/json is refused with 415", func(t *testing.T) {
		resp := authClient(api.URL).Do(t, "POST", "/auth/login", []byte(`{"email":"a@example.com","password":"x"}`), "Content-Type", "text/plain")
		requireAPIError(t, resp, http.StatusUnsupportedMediaType, "unsupported_media_type")
	})
}

func TestAuthDuplicateEmailIsAConflict(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t)
	email := testkit.UniqueEmail("dup")
	registerPlayer(t, api.URL, email)
	for _, tc := range []struct{ name, email string }{
		{"the same email again is a conflict", email},
		{"the email in upper case is a conflict", strings.ToUpper(email)},
		{"the email with surrounding whitespace is a conflict", "  " + email + "\t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := authClient(api.URL).Do(t, "POST", "/auth/register", map[string]any{"email": tc.email, "password": authPassword, "display_name": "Twin"})
			requireAPIError(t, resp, http.StatusConflict, "conflict")
		})
	}
}

// serverKey is the JWT key the test processes run with.
func serverKey(t *testing.T) []byte {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(testkit.TestSecret)
	require.NoError(t, err)
	return k
}

// accessClaims are the claims of a well-formed access token for sub.
func accessClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": "bright-dawn", "aud": []string{"bright-dawn-api"}, "sub": sub,
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "nbf": now.Unix(),
		"jti": uuid.NewString(), "typ": "access", "role": "player", "fam": uuid.NewString(),
	}
}

func withClaims(c jwt.MapClaims, changes map[string]any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

func signJWT(t *testing.T, m jwt.SigningMethod, key any, c jwt.Claims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(m, c).SignedString(key)
	require.NoError(t, err)
	return tok
}

func TestAuthRefusesBadTokens(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t)
	p := registerPlayer(t, api.URL, testkit.UniqueEmail("tokens"))
	key := serverKey(t)
	good := accessClaims(p.Player.ID)

	t.Run("a forged token with the server's key and right claims is accepted (control)", func(t *testing.T) {
		resp := getMe(t, api.URL, signJWT(t, jwt.SigningMethodHS256, key, good))
		require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	})

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pubDER, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	valid := signJWT(t, jwt.SigningMethodHS256, key, good)
	parts := strings.Split(valid, ".")
	adminPayload, err := json.Marshal(withClaims(good, map[string]any{"role": "admin"}))
	require.NoError(t, err)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sig[0] ^= 0xff

	cases := []struct {
		name   string
		header string // the whole Authorization header
	}{
		{"no Authorization header is refused", ""},
		{"a Basic Authorization header is refused", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b"))},
		{"a Bearer header without token is refused", "Bearer "},
		{"a token that is not a JWT is refused", "Bearer not-a-token"},
		{"an unsigned token (alg none) is refused", "Bearer " + signJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)},
		{"an RS256-signed token is refused", "Bearer " + signJWT(t, jwt.SigningMethodRS256, rsaKey, good)},
		{"an HS256 token signed with an RSA public key as secret is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, pubPEM, good)},
		{"an HS256 token signed with another key is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, []byte("not-the-server-key-not-the-server-key!!"), good)},
		{"an HS512 token with the server's key is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS512, key, good)},
		{"an expired token is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}))},
		{"a token that is not valid yet is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"nbf": time.Now().Add(time.Minute).Unix()}))},
		{"a token issued in the future is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"iat": time.Now().Add(time.Minute).Unix()}))},
		{"a token from another issuer is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"iss": "evil-dawn"}))},
		{"a token for another audience is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"aud": []string{"other-api"}}))},
		{"a token without exp is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"exp": nil}))},
		{"a token with a tampered payload is refused", "Bearer " + parts[0] + "." + base64.RawURLEncoding.EncodeToString(adminPayload) + "." + parts[2]},
		{"a token with a tampered signature is refused", "Bearer " + parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)},
		{"a token without signature is refused", "Bearer " + parts[0] + "." + parts[1] + "."},
		{"a refresh token is refused as access token", "Bearer " + p.RefreshToken},
		{"a stream ticket is refused as access token", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"typ": "stream", "scope": "session:" + uuid.NewString(), "ajti": uuid.NewString()}))},
		{"a token without type is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"typ": nil}))},
		{"a token with an unknown role is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"role": "root"}))},
		{"a token whose subject is not a player id is refused", "Bearer " + signJWT(t, jwt.SigningMethodHS256, key, withClaims(good, map[string]any{"sub": "admin"}))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := authClient(api.URL)
			var resp *testkit.Response
			if tc.header == "" {
				resp = c.Do(t, "GET", "/auth/me", nil)
			} else {
				resp = c.Do(t, "GET", "/auth/me", nil, "Authorization", tc.header)
			}
			requireAPIError(t, resp, http.StatusUnauthorized, "unauthorized")
			require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
		})
	}
}

func TestAuthRefreshReuseRevokesTheFamily(t *testing.T) {
	t.Parallel()
	// No reuse window: the first repeat is theft (the window has its own
	// test, TestRefreshReuseWindow).
	api := startAuthAPI(t, "REFRESH_REUSE_WINDOW=0s")
	first := registerPlayer(t, api.URL, testkit.UniqueEmail("reuse"))
	other := loginPlayer(t, api.URL, first.Player.Email)

	resp := postRefresh(t, api.URL, first.RefreshToken)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var second authTokens
	resp.JSON(t, &second)

	t.Run("presenting the spent refresh token again is refused", func(t *testing.T) {
		requireAPIError(t, postRefresh(t, api.URL, first.RefreshToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("the newer refresh token of the family stops working", func(t *testing.T) {
		requireAPIError(t, postRefresh(t, api.URL, second.RefreshToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("the newer access token of the family stops working", func(t *testing.T) {
		requireAPIError(t, getMe(t, api.URL, second.AccessToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("the older access token of the family stops working", func(t *testing.T) {
		requireAPIError(t, getMe(t, api.URL, first.AccessToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("another login of the same player keeps working", func(t *testing.T) {
		require.Equal(t, http.StatusOK, getMe(t, api.URL, other.AccessToken).Status)
		require.Equal(t, http.StatusOK, postRefresh(t, api.URL, other.RefreshToken).Status)
	})
}

func TestAuthLogoutKillsTheAccessTokenOnEveryReplica(t *testing.T) {
	t.Parallel()
	a := startAuthAPI(t)
	b := startAuthAPI(t)
	p := registerPlayer(t, a.URL, testkit.UniqueEmail("logout"))
	require.Equal(t, http.StatusOK, getMe(t, b.URL, p.AccessToken).Status, "replica b accepts the token first")

	c := authClient(a.URL)
	c.Token = p.AccessToken
	resp := c.Do(t, "POST", "/auth/logout", map[string]any{"refresh_token": p.RefreshToken})
	require.Equal(t, http.StatusNoContent, resp.Status, string(resp.Body))

	t.Run("the access token is refused on the replica that logged out", func(t *testing.T) {
		requireAPIError(t, getMe(t, a.URL, p.AccessToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("the access token is refused on another replica at once", func(t *testing.T) {
		requireAPIError(t, getMe(t, b.URL, p.AccessToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("the refresh token is refused", func(t *testing.T) {
		requireAPIError(t, postRefresh(t, b.URL, p.RefreshToken), http.StatusUnauthorized, "unauthorized")
	})
	t.Run("logout without a token is refused", func(t *testing.T) {
		resp := authClient(a.URL).Do(t, "POST", "/auth/logout", map[string]any{"refresh_token": p.RefreshToken})
		requireAPIError(t, resp, http.StatusUnauthorized, "unauthorized")
	})
}

func TestAuthLoginFailuresLookAlike(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t)
	p := registerPlayer(t, api.URL, testkit.UniqueEmail("alike"))

	wrong := authClient(api.URL).Do(t, "POST", "/auth/login", map[string]any{"email": p.Player.Email, "password": "not the right password"})
	unknown := authClient(api.URL).Do(t, "POST", "/auth/login", map[string]any{"email": testkit.UniqueEmail("nobody"), "password": "not the right password"})

	t.Run("a wrong password is refused as invalid credentials", func(t *testing.T) {
		requireAPIError(t, wrong, http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("an unknown email gets a byte-identical answer", func(t *testing.T) {
		require.Equal(t, wrong.Status, unknown.Status)
		require.Equal(t, string(wrong.Body), string(unknown.Body))
		for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control", "Www-Authenticate", "Retry-After"} {
			require.Equal(t, wrong.Header.Get(h), unknown.Header.Get(h), h)
		}
	})
}

func TestAuthRateLimits(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t, "RATE_LOGIN_PER_ACCOUNT=3", "RATE_LOGIN_PER_IP=3", "RATE_REGISTER_PER_IP=2")

	requireLimited := func(t *testing.T, resp *testkit.Response) {
		t.Helper()
		requireAPIError(t, resp, http.StatusTooManyRequests, "rate_limited")
		secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After is whole seconds: %q", resp.Header.Get("Retry-After"))
		require.GreaterOrEqual(t, secs, 1)
		require.LessOrEqual(t, secs, 60)
	}
	login := func(c *testkit.Client, email, password string) *testkit.Response {
		return c.Do(t, "POST", "/auth/login", map[string]any{"email": email, "password": password})
	}

	t.Run("the fourth login to one account within a minute is limited, from any address", func(t *testing.T) {
		p := registerPlayer(t, api.URL, testkit.UniqueEmail("acct"))
		for i := range 3 {
			requireAPIError(t, login(authClient(api.URL), p.Player.Email, fmt.Sprintf("wrong password %d", i)), http.StatusUnauthorized, "invalid_credentials")
		}
		requireLimited(t, login(authClient(api.URL), p.Player.Email, "wrong password 4"))
		requireLimited(t, login(authClient(api.URL), strings.ToUpper(p.Player.Email), authPassword))
	})
	t.Run("the fourth login from one address within a minute is limited, for any account", func(t *testing.T) {
		c := authClient(api.URL)
		for range 3 {
			requireAPIError(t, login(c, testkit.UniqueEmail("nobody"), authPassword), http.StatusUnauthorized, "invalid_credentials")
		}
		requireLimited(t, login(c, testkit.UniqueEmail("nobody"), authPassword))
		requireAPIError(t, login(authClient(api.URL), testkit.UniqueEmail("nobody"), authPassword), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("the third registration from one address within a minute is limited", func(t *testing.T) {
		c := authClient(api.URL)
		for range 2 {
			resp := c.Do(t, "POST", "/auth/register", map[string]any{"email": testkit.UniqueEmail("reg"), "password": authPassword, "display_name": "R"})
			require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
		}
		requireLimited(t, c.Do(t, "POST", "/auth/register", map[string]any{"email": testkit.UniqueEmail("reg"), "password": authPassword, "display_name": "R"}))
	})
}

func TestAuthRoutesSpeakTheErrorShape(t *testing.T) {
	t.Parallel()
	api := startAuthAPI(t)
	c := authClient(api.URL)

	t.Run("an unknown route answers 404 in the JSON error shape", func(t *testing.T) {
		requireAPIError(t, c.Do(t, "GET", "/auth/nope", nil), http.StatusNotFound, "not_found")
	})
	t.Run("a wrong method answers 405 in the JSON error shape", func(t *testing.T) {
		requireAPIError(t, c.Do(t, "GET", "/auth/login", nil), http.StatusMethodNotAllowed, "method_not_allowed")
		requireAPIError(t, c.Do(t, "DELETE", "/auth/me", nil), http.StatusMethodNotAllowed, "method_not_allowed")
	})
	t.Run("every answer carries a request id", func(t *testing.T) {
		for _, resp := range []*testkit.Response{
			c.Do(t, "GET", "/auth/nope", nil),
			c.Do(t, "GET", "/auth/me", nil),
			c.Do(t, "POST", "/auth/login", map[string]any{"email": "x"}),
			c.Do(t, "GET", "/healthz", nil),
		} {
			require.NotEmpty(t, resp.Header.Get("X-Request-ID"))
		}
	})
	t.Run("a well-formed incoming request id is echoed", func(t *testing.T) {
		resp := c.Do(t, "GET", "/auth/me", nil, "X-Request-ID", "req-auth-123")
		require.Equal(t, "req-auth-123", resp.Header.Get("X-Request-ID"))
	})
	t.Run("errors never echo internals", func(t *testing.T) {
		resp := c.Do(t, "POST", "/auth/register", []byte(`{"email":`), "Content-Type", "application/json")
		require.False(t, bytes.Contains(resp.Body, []byte("json:")), string(resp.Body))
	})
}
