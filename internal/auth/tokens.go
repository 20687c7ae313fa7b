package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// Token types (the `typ` claim). Each verifier accepts exactly one, so an
// access token is never a stream ticket and the other way round. Refresh
// tokens are opaque random strings, not JWTs, and fail every JWT parse.
const (
	typeAccess = "access"
	typeStream = "stream"
)

const (
	// clockLeeway tolerates small clock differences between replicas.
	clockLeeway = 5 * time.Second
	// maxTokenLen bounds the work spent on a presented token; ours are ~450 bytes.
	maxTokenLen = 4096
	maxScopeLen = 200
)

// claims is the payload of Bright Dawn's JWTs.
type claims struct {
	jwt.RegisteredClaims
	Type   string `json:"typ"`
	Role   string `json:"role"`
	Family string `json:"fam"`
	// Scope names what a stream ticket opens, e.g. "session:<uuid>".
	Scope string `json:"scope,omitempty"`
	// AccessID is the jti of the access token a stream ticket was issued
	// under, so that logging that token out also kills its tickets.
	AccessID string `json:"ajti,omitempty"`
	// AccessExp is when that access token expires (Unix seconds): a stream
	// opened with the ticket lives no longer than the access token.
	AccessExp int64 `json:"aexp,omitempty"`
}

// signer issues and verifies HS256 JWTs with one key.
type signer struct {
	key      []byte
	issuer   string
	audience string
	now      func() time.Time
	parser   *jwt.Parser
}

func newSigner(key []byte, issuer, audience string, now func() time.Time) (*signer, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: the JWT key must be at least 32 bytes")
	}
	if issuer == "" || audience == "" {
		return nil, errors.New("auth: JWT issuer and audience must be set")
	}
	if now == nil {
		now = time.Now
	}
	return &signer{
		key:      key,
		issuer:   issuer,
		audience: audience,
		now:      now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithNotBeforeRequired(),
			jwt.WithIssuedAt(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(audience),
			jwt.WithLeeway(clockLeeway),
			jwt.WithTimeFunc(now),
			jwt.WithStrictDecoding(),
		),
	}, nil
}

// issue signs a token of type typ for p that expires at exp. It returns the
// token and the principal it stands for (with the new jti).
func (s *signer) issue(typ string, p Principal, exp time.Time, scope string) (string, Principal, error) {
	now := s.now().Truncate(time.Second)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   p.PlayerID.String(),
			Audience:  jwt.ClaimStrings{s.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        uuid.NewString(),
		},
		Type:   typ,
		Role:   p.Role,
		Family: p.FamilyID.String(),
	}
	if typ == typeStream {
		c.Scope = scope
		c.AccessID = p.TokenID
		if !p.AccessExpiresAt.IsZero() {
			c.AccessExp = p.AccessExpiresAt.Unix()
		}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", Principal{}, fmt.Errorf("auth: sign token: %w", err)
	}
	out := p
	if typ == typeAccess {
		out.TokenID = c.ID
	}
	out.ExpiresAt = c.ExpiresAt.UTC()
	if typ == typeAccess {
		out.AccessExpiresAt = out.ExpiresAt
	}
	return tok, out, nil
}

// errBadToken is what every refused token gets: clients learn nothing about why.
var errBadToken = apperr.New(apperr.Unauthorized, "invalid or expired token")

// parse verifies a token of type want: signature (HS256 with our key only),
// exp (required), nbf, iat, iss, aud, typ and the shape of our own claims.
// Revocation is checked by the caller (it needs Redis).
func (s *signer) parse(token, want string) (*claims, Principal, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, Principal{}, errBadToken
	}
	var c claims
	t, err := s.parser.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		// WithValidMethods already refuses other algorithms; this keeps the
		// key from ever meeting another method if that option were lost.
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return s.key, nil
	})
	if err != nil || !t.Valid {
		return nil, Principal{}, apperr.Wrap(err, apperr.Unauthorized, "invalid or expired token")
	}
	if c.Type != want {
		return nil, Principal{}, apperr.Wrap(fmt.Errorf("token type %q, want %q", c.Type, want), apperr.Unauthorized, "invalid or expired token")
	}
	if c.IssuedAt == nil || c.ID == "" {
		return nil, Principal{}, apperr.Wrap(errors.New("iat or jti missing"), apperr.Unauthorized, "invalid or expired token")
	}
	sub, err := uuid.Parse(c.Subject)
	if err != nil || sub == uuid.Nil || len(c.Subject) != 36 {
		return nil, Principal{}, apperr.Wrap(errors.New("bad sub"), apperr.Unauthorized, "invalid or expired token")
	}
	fam, err := uuid.Parse(c.Family)
	if err != nil || fam == uuid.Nil || len(c.Family) != 36 {
		return nil, Principal{}, apperr.Wrap(errors.New("bad fam"), apperr.Unauthorized, "invalid or expired token")
	}
	if c.Role != RolePlayer && c.Role != RoleAdmin {
		return nil, Principal{}, apperr.Wrap(errors.New("bad role"), apperr.Unauthorized, "invalid or expired token")
	}
	p := Principal{PlayerID: sub, Role: c.Role, TokenID: c.ID, FamilyID: fam, ExpiresAt: c.ExpiresAt.UTC()}
	p.AccessExpiresAt = p.ExpiresAt
	if want == typeStream {
		if c.Scope == "" || c.AccessID == "" {
			return nil, Principal{}, apperr.Wrap(errors.New("scope or ajti missing"), apperr.Unauthorized, "invalid or expired token")
		}
		// A ticket acts for the access token it came from.
		p.TokenID = c.AccessID
		if c.AccessExp > 0 {
			p.AccessExpiresAt = time.Unix(c.AccessExp, 0).UTC()
		}
	}
	return &c, p, nil
}
