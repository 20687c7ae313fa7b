package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

var (
	testKey   = []byte("unit-test-key-unit-test-key-0123456789")
	testNow   = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	testIss   = "bright-dawn"
	testAud   = "bright-dawn-api"
	testSubID = uuid.MustParse("0b7f3c55-8a56-4c53-9a0b-3d0e2c1f4a11")
	testFamID = uuid.MustParse("5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
)

func testSigner(t testing.TB) *signer {
	t.Helper()
	s, err := newSigner(testKey, testIss, testAud, func() time.Time { return testNow })
	require.NoError(t, err)
	return s
}

// validClaims are the claims of a good access token at testNow.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss":  testIss,
		"aud":  []string{testAud},
		"sub":  testSubID.String(),
		"exp":  testNow.Add(15 * time.Minute).Unix(),
		"iat":  testNow.Unix(),
		"nbf":  testNow.Unix(),
		"jti":  uuid.NewString(),
		"typ":  "access",
		"role": "player",
		"fam":  testFamID.String(),
	}
}

func with(c jwt.MapClaims, changes map[string]any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}

func signHS(t testing.TB, key []byte, c jwt.Claims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	require.NoError(t, err)
	return tok
}

func TestIssuedAccessTokenRoundTrips(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	tok, issued, err := s.issue(typeAccess, Principal{PlayerID: testSubID, Role: RoleAdmin, FamilyID: testFamID}, testNow.Add(15*time.Minute), "")
	require.NoError(t, err)
	require.NotEmpty(t, issued.TokenID)

	_, got, err := s.parse(tok, typeAccess)
	require.NoError(t, err)
	require.Equal(t, issued, got)
	require.Equal(t, testSubID, got.PlayerID)
	require.Equal(t, RoleAdmin, got.Role)
	require.Equal(t, testFamID, got.FamilyID)
	require.Equal(t, testNow.Add(15*time.Minute), got.ExpiresAt)
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	cases := []struct {
		name   string
		claims jwt.MapClaims
	}{
		{"a token with every claim right is accepted", validClaims()},
		{"a token that expired within the clock leeway is accepted", with(validClaims(), map[string]any{"exp": testNow.Add(-3 * time.Second).Unix()})},
		{"a token issued a moment in the future (clock skew) is accepted", with(validClaims(), map[string]any{"iat": testNow.Add(3 * time.Second).Unix(), "nbf": testNow.Add(3 * time.Second).Unix()})},
		{"an admin token is accepted", with(validClaims(), map[string]any{"role": "admin"})},
		{"a single-string audience is accepted", with(validClaims(), map[string]any{"aud": testAud})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p, err := s.parse(signHS(t, testKey, tc.claims), typeAccess)
			require.NoError(t, err)
			require.Equal(t, testSubID, p.PlayerID)
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	good := signHS(t, testKey, validClaims())
	parts := strings.Split(good, ".")
	require.Len(t, parts, 3)

	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, validClaims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	rsTok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, validClaims()).SignedString(rsaKey)
	require.NoError(t, err)
	hs384, err := jwt.NewWithClaims(jwt.SigningMethodHS384, validClaims()).SignedString(testKey)
	require.NoError(t, err)

	// The payload of an admin token, pasted onto the signature of a player's.
	adminPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"bright-dawn","aud":["bright-dawn-api"],"sub":"` + testSubID.String() + `","exp":` + itoa(testNow.Add(time.Hour).Unix()) + `,"iat":` + itoa(testNow.Unix()) + `,"nbf":` + itoa(testNow.Unix()) + `,"jti":"x","typ":"access","role":"admin","fam":"` + testFamID.String() + `"}`))
	sig := []byte(parts[2])
	sig[3] ^= 0x01
	if sig[3] == '.' {
		sig[3] = 'A'
	}

	refresh, _, err := newRefreshToken()
	require.NoError(t, err)

	cases := []struct {
		name  string
		token string
	}{
		{"an empty token is refused", ""},
		{"a token over the length limit is refused", strings.Repeat("a", maxTokenLen+1)},
		{"an opaque refresh token is refused", refresh},
		{"an unsigned token (alg none) is refused", noneTok},
		{"an RS256 token is refused", rsTok},
		{"an HS384 token is refused", hs384},
		{"an HS256 token signed with another key is refused", signHS(t, []byte("another-key-another-key-another-key-123"), validClaims())},
		{"an HS256 token signed with the RSA public key as secret is refused", signHS(t, rsaKey.PublicKey.N.Bytes(), validClaims())},
		{"a token with a tampered payload is refused", parts[0] + "." + adminPayload + "." + parts[2]},
		{"a token with a tampered signature is refused", parts[0] + "." + parts[1] + "." + string(sig)},
		{"a token without its signature is refused", parts[0] + "." + parts[1] + "."},
		{"an expired token is refused", signHS(t, testKey, with(validClaims(), map[string]any{"exp": testNow.Add(-time.Minute).Unix()}))},
		{"a token that is not yet valid is refused", signHS(t, testKey, with(validClaims(), map[string]any{"nbf": testNow.Add(time.Minute).Unix()}))},
		{"a token issued in the future is refused", signHS(t, testKey, with(validClaims(), map[string]any{"iat": testNow.Add(time.Minute).Unix()}))},
		{"a token without exp is refused", signHS(t, testKey, with(validClaims(), map[string]any{"exp": nil}))},
		{"a token without nbf is refused", signHS(t, testKey, with(validClaims(), map[string]any{"nbf": nil}))},
		{"a token without iat is refused", signHS(t, testKey, with(validClaims(), map[string]any{"iat": nil}))},
		{"a token without jti is refused", signHS(t, testKey, with(validClaims(), map[string]any{"jti": nil}))},
		{"a token from another issuer is refused", signHS(t, testKey, with(validClaims(), map[string]any{"iss": "someone-else"}))},
		{"a token without issuer is refused", signHS(t, testKey, with(validClaims(), map[string]any{"iss": nil}))},
		{"a token for another audience is refused", signHS(t, testKey, with(validClaims(), map[string]any{"aud": []string{"other-api"}}))},
		{"a token without audience is refused", signHS(t, testKey, with(validClaims(), map[string]any{"aud": nil}))},
		{"a stream ticket is refused as an access token", signHS(t, testKey, with(validClaims(), map[string]any{"typ": "stream", "scope": "session:x", "ajti": "y"}))},
		{"a token typed refresh is refused", signHS(t, testKey, with(validClaims(), map[string]any{"typ": "refresh"}))},
		{"a token without a type is refused", signHS(t, testKey, with(validClaims(), map[string]any{"typ": nil}))},
		{"a token whose subject is not a uuid is refused", signHS(t, testKey, with(validClaims(), map[string]any{"sub": "admin"}))},
		{"a token whose subject is the nil uuid is refused", signHS(t, testKey, with(validClaims(), map[string]any{"sub": uuid.Nil.String()}))},
		{"a token with an unknown role is refused", signHS(t, testKey, with(validClaims(), map[string]any{"role": "superuser"}))},
		{"a token without a family is refused", signHS(t, testKey, with(validClaims(), map[string]any{"fam": nil}))},
		{"a token with exp of the wrong type is refused", signHS(t, testKey, with(validClaims(), map[string]any{"exp": "tomorrow"}))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.parse(tc.token, typeAccess)
			require.Error(t, err)
			require.Equal(t, apperr.Unauthorized, apperr.CodeOf(err))
			e, _ := apperr.As(err)
			require.Equal(t, "invalid or expired token", e.Message, "refusals must not tell why")
		})
	}
}

func TestStreamTicketsAndAccessTokensAreNotInterchangeable(t *testing.T) {
	t.Parallel()
	s := testSigner(t)
	p := Principal{PlayerID: testSubID, Role: RolePlayer, FamilyID: testFamID, TokenID: uuid.NewString()}

	access, _, err := s.issue(typeAccess, p, testNow.Add(time.Minute), "")
	require.NoError(t, err)
	ticket, _, err := s.issue(typeStream, p, testNow.Add(time.Minute), "session:abc")
	require.NoError(t, err)

	t.Run("an access token is refused as a stream ticket", func(t *testing.T) {
		_, _, err := s.parse(access, typeStream)
		require.True(t, apperr.Is(err, apperr.Unauthorized))
	})
	t.Run("a stream ticket is refused as an access token", func(t *testing.T) {
		_, _, err := s.parse(ticket, typeAccess)
		require.True(t, apperr.Is(err, apperr.Unauthorized))
	})
	t.Run("a stream ticket carries its scope and acts for its access token", func(t *testing.T) {
		c, got, err := s.parse(ticket, typeStream)
		require.NoError(t, err)
		require.Equal(t, "session:abc", c.Scope)
		require.Equal(t, p.TokenID, got.TokenID)
	})
}

func TestNewSignerRefusesShortKeys(t *testing.T) {
	t.Parallel()
	_, err := newSigner([]byte("short"), testIss, testAud, nil)
	require.Error(t, err)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
