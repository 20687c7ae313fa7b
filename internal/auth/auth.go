// Package auth is Bright Dawn's identity: players, passwords, access tokens,
// refresh-token families, stream tickets, revocation and login rate limits.
// It alone reads and writes the `auth` Postgres schema; the rest of the game
// knows a player only by the Principal that an access token carries.
package auth

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Roles a player can have. Every account registers as a player; an
// operator makes admins with `conquest admin grant` (Service.SetRole).
const (
	RolePlayer = "player"
	RoleAdmin  = "admin"
)

// TokenType is the OAuth token_type of every access token handed out.
const TokenType = "Bearer"

// Player is an account.
type Player struct {
	ID          uuid.UUID
	Email       string // normalised: trimmed, lower-case
	DisplayName string
	Role        string
	CreatedAt   time.Time
}

// Principal is who a request acts for, as proven by an access token (or a
// stream ticket derived from one).
type Principal struct {
	PlayerID uuid.UUID
	Role     string
	// TokenID is the jti of the access token; logging out revokes it.
	TokenID string
	// FamilyID is the refresh-token family (one per login) the token belongs to.
	FamilyID uuid.UUID
	// ExpiresAt is when the credential presented stops being valid.
	ExpiresAt time.Time
	// AccessExpiresAt is when the access token behind the credential
	// expires: ExpiresAt for an access token, the issuing access token's
	// expiry for a stream ticket. A stream lives no longer than this.
	AccessExpiresAt time.Time
}

// Revocation announces, to every API replica, that a login's credentials
// were revoked (logout, or a refresh token presented twice): streams opened
// with them must end.
type Revocation struct {
	PlayerID uuid.UUID   `json:"player_id"`
	TokenID  string      `json:"jti,omitempty"`
	Families []uuid.UUID `json:"families"`
}

// Covers reports whether the revocation ends credentials of p.
func (r Revocation) Covers(p Principal) bool {
	if r.TokenID != "" && r.TokenID == p.TokenID {
		return true
	}
	for _, f := range r.Families {
		if f == p.FamilyID {
			return true
		}
	}
	return false
}

// IsAdmin reports whether the principal has the admin role.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// Tokens is what a successful register, login or refresh hands out.
type Tokens struct {
	AccessToken     string
	RefreshToken    string
	TokenType       string
	ExpiresIn       time.Duration // lifetime of the access token
	AccessExpiresAt time.Time
}

// Session is a player together with a fresh pair of tokens.
type Session struct {
	Player Player
	Tokens Tokens
}

// Registration is the input of Service.Register.
type Registration struct {
	Email       string
	Password    string
	DisplayName string
	// ClientIP is the caller's address, for the per-IP rate limit.
	ClientIP string
}

// Credentials is the input of Service.Login.
type Credentials struct {
	Email    string
	Password string
	// ClientIP is the caller's address, for the per-IP rate limit.
	ClientIP string
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of an authenticated request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
