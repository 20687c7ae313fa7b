package api

import (
	"context"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Authenticator verifies a bearer access token (implemented by *auth.Service).
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (auth.Principal, error)
}

// AdminChecker verifies a token and whether its player is an admin now
// (implemented by *auth.Service).
type AdminChecker interface {
	Authenticator
	HasRole(ctx context.Context, p auth.Principal, role string) (bool, error)
}

// principalKey is where requireAuth leaves the Principal in the gin context.
const principalKey = "principal"

// requireAuth lets a request through only with a valid, unrevoked access
// token in `Authorization: Bearer …`. The Principal goes into the request
// context (auth.PrincipalFrom) and the gin context (principal), and the
// request's log lines gain player_id.
func requireAuth(a Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		tok, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok {
			unauthorized(c, apperr.New(apperr.Unauthorized, "a bearer access token is required"))
			return
		}
		p, err := a.Authenticate(c.Request.Context(), tok)
		if err != nil {
			if apperr.Is(err, apperr.Unauthorized) {
				unauthorized(c, err)
				return
			}
			fail(c, err)
			return
		}
		ctx := auth.WithPrincipal(c.Request.Context(), p)
		ctx = logging.With(ctx, "player_id", p.PlayerID.String())
		c.Request = c.Request.WithContext(ctx)
		c.Set(principalKey, p)
	}
}

// requireAdmin is requireAuth plus the admin role: 401 without a valid
// token, 403 for a player who is not an admin. After requireAuth in a chain
// it only checks the role. The role is read from the database on every
// request, not from the token: an admin revoked by the operator loses the
// admin routes at once, not when the token expires.
func requireAdmin(a AdminChecker) gin.HandlerFunc {
	authenticate := requireAuth(a)
	return func(c *gin.Context) {
		if _, ok := auth.PrincipalFrom(c.Request.Context()); !ok {
			authenticate(c)
			if c.IsAborted() {
				return
			}
		}
		p, _ := auth.PrincipalFrom(c.Request.Context())
		checkAdmin(c, a, p)
	}
}

// checkAdmin aborts with 403 unless the database says p is an admin now.
func checkAdmin(c *gin.Context, a AdminChecker, p auth.Principal) {
	ok, err := a.HasRole(c.Request.Context(), p, auth.RoleAdmin)
	if err != nil {
		fail(c, err)
		return
	}
	if !ok {
		fail(c, apperr.New(apperr.Forbidden, "admins only"))
	}
}

// principal returns the Principal of a request that passed requireAuth.
func principal(c *gin.Context) (auth.Principal, bool) {
	return auth.PrincipalFrom(c.Request.Context())
}

// bearerToken extracts the token of an RFC 6750 Authorization header (the
// scheme is case-insensitive).
func bearerToken(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// unauthorized answers 401 with the challenge RFC 6750 asks for.
func unauthorized(c *gin.Context, err error) {
	c.Header("WWW-Authenticate", `Bearer realm="bright-dawn"`)
	fail(c, err)
}
