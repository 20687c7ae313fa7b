package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// FuzzParseAccessToken feeds arbitrary strings to the access-token parser
// (seed corpus: testdata/fuzz/FuzzParseAccessToken, built from valid,
// expired, alg-none, RS256, wrong-key and tampered tokens at testNow). The
// parser must never panic, must refuse with `unauthorized` only, and
// whatever it accepts must carry an exact HS256 signature by our key over
// its header and payload, and claims that hold at testNow.
func FuzzParseAccessToken(f *testing.F) {
	s := testSigner(f)
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		_, p, err := s.parse(token, typeAccess)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Unauthorized {
				t.Fatalf("refused with code %q, want unauthorized", apperr.CodeOf(err))
			}
			return
		}
		checkAccepted(t, token, p)
	})
}

// FuzzParseSignedClaims signs arbitrary payloads with our key, so that the
// fuzzer explores the claim checks behind the signature: whatever is
// accepted must be an access token for now, for us, with our claim shapes.
func FuzzParseSignedClaims(f *testing.F) {
	s := testSigner(f)
	for _, c := range []jwt.MapClaims{
		validClaims(),
		with(validClaims(), map[string]any{"typ": "stream"}),
		with(validClaims(), map[string]any{"exp": nil}),
		with(validClaims(), map[string]any{"aud": "bright-dawn-api"}),
		with(validClaims(), map[string]any{"exp": 1e300}),
	} {
		b, _ := json.Marshal(c)
		f.Add(string(b))
	}
	f.Add(`{"exp":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, payload string) {
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		body := base64.RawURLEncoding.EncodeToString([]byte(payload))
		mac := hmac.New(sha256.New, testKey)
		mac.Write([]byte(header + "." + body))
		token := header + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
		c, p, err := s.parse(token, typeAccess)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Unauthorized {
				t.Fatalf("refused with code %q, want unauthorized", apperr.CodeOf(err))
			}
			return
		}
		checkAccepted(t, token, p)
		if c.Type != typeAccess || c.Issuer != testIss {
			t.Fatalf("accepted typ %q iss %q", c.Type, c.Issuer)
		}
	})
}

func checkAccepted(t *testing.T, token string, p Principal) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted a token with %d parts", len(parts))
	}
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if want := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); parts[2] != want {
		t.Fatalf("accepted a token whose signature is not ours: %q", token)
	}
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatalf("accepted a token with an undecodable header: %v", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(hdr, &h); err != nil || h.Alg != "HS256" {
		t.Fatalf("accepted alg %q (%v)", h.Alg, err)
	}
	if p.PlayerID == uuid.Nil || p.FamilyID == uuid.Nil || p.TokenID == "" {
		t.Fatalf("accepted an incomplete principal %+v", p)
	}
	if p.Role != RolePlayer && p.Role != RoleAdmin {
		t.Fatalf("accepted role %q", p.Role)
	}
	if !p.ExpiresAt.After(testNow.Add(-clockLeeway - time.Second)) {
		t.Fatalf("accepted a token that expired at %v", p.ExpiresAt)
	}
}
