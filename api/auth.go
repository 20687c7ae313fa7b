package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
)

// AuthService is what the auth routes and middleware need (implemented by
// *auth.Service).
type AuthService interface {
	AdminChecker
	Register(ctx context.Context, r auth.Registration) (auth.Session, error)
	Login(ctx context.Context, c auth.Credentials) (auth.Session, error)
	Refresh(ctx context.Context, refreshToken string) (auth.Session, error)
	Logout(ctx context.Context, p auth.Principal, refreshToken string) error
	Me(ctx context.Context, p auth.Principal) (auth.Player, error)
}

var _ AuthService = (*auth.Service)(nil)

func registerAuth(r *gin.Engine, d Deps) {
	h := authHandlers{svc: d.Auth, cookieTTL: d.RefreshTTL}
	g := r.Group("/auth", noStore)
	g.POST("/register", h.register)
	g.POST("/login", h.login)
	g.POST("/refresh", h.refresh)
	g.POST("/logout", requireAuth(d.Auth), h.logout)
	g.GET("/me", requireAuth(d.Auth), h.me)
}

// noStore keeps tokens out of caches (RFC 6749 §5.1).
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

type authHandlers struct {
	svc       AuthService
	cookieTTL time.Duration // the refresh cookie's Max-Age (the refresh token's lifetime)
}

// The refresh token also travels in a cookie, for browsers: HttpOnly (no
// script reads it), Secure, SameSite=Strict, and sent to the refresh route
// only. Browsers keep Secure cookies from http://localhost (and loopback
// addresses) too, so the local stack works over plain http; from any other
// plain-http address the browser drops it (docs/SECURITY.md).
const (
	RefreshCookie     = "refresh_token"
	RefreshCookiePath = "/auth/refresh"
)

// setRefreshCookie hands the refresh token to the browser; remember=false
// makes it a session cookie (gone when the browser closes).
func (h authHandlers) setRefreshCookie(c *gin.Context, token string, remember bool) {
	ck := &http.Cookie{
		Name: RefreshCookie, Value: token, Path: RefreshCookiePath,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	}
	if remember && h.cookieTTL > 0 {
		ck.MaxAge = int(h.cookieTTL / time.Second)
	}
	http.SetCookie(c.Writer, ck)
}

func clearRefreshCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: RefreshCookie, Value: "", Path: RefreshCookiePath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// remembered reads the optional "remember" of a sign-in body (default true).
func remembered(r *bool) bool { return r == nil || *r }

type playerJSON struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Role        string    `json:"role"`
	CreatedAt   time.Time `json:"created_at"`
}

func toPlayerJSON(p auth.Player) playerJSON {
	return playerJSON{ID: p.ID, Email: p.Email, DisplayName: p.DisplayName, Role: p.Role, CreatedAt: p.CreatedAt}
}

type sessionJSON struct {
	Player       playerJSON `json:"player"`
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token,omitempty"` // not when it came in the cookie
	TokenType    string     `json:"token_type"`
	ExpiresIn    int64      `json:"expires_in"` // seconds
}

func toSessionJSON(s auth.Session) sessionJSON {
	return sessionJSON{
		Player:       toPlayerJSON(s.Player),
		AccessToken:  s.Tokens.AccessToken,
		RefreshToken: s.Tokens.RefreshToken,
		TokenType:    s.Tokens.TokenType,
		ExpiresIn:    int64(s.Tokens.ExpiresIn / time.Second),
	}
}

type registerRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	Remember    *bool  `json:"remember"`
}

func (h authHandlers) register(c *gin.Context) {
	var req registerRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.Register(c.Request.Context(), auth.Registration{
		Email: req.Email, Password: req.Password, DisplayName: req.DisplayName, ClientIP: c.ClientIP(),
	})
	if err != nil {
		fail(c, err)
		return
	}
	h.setRefreshCookie(c, s.Tokens.RefreshToken, remembered(req.Remember))
	c.JSON(http.StatusCreated, toSessionJSON(s))
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Remember *bool  `json:"remember"`
}

func (h authHandlers) login(c *gin.Context) {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.Login(c.Request.Context(), auth.Credentials{Email: req.Email, Password: req.Password, ClientIP: c.ClientIP()})
	if err != nil {
		fail(c, err)
		return
	}
	h.setRefreshCookie(c, s.Tokens.RefreshToken, remembered(req.Remember))
	c.JSON(http.StatusOK, toSessionJSON(s))
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
	Remember     *bool  `json:"remember"`
}

// refresh rotates the refresh token of the body (API clients) or, without
// one, of the cookie (browsers). A token that came in the cookie goes back
// in the cookie only: the answer's body never shows it to a script.
func (h authHandlers) refresh(c *gin.Context) {
	var req refreshRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	fromCookie := false
	if req.RefreshToken == "" {
		if ck, err := c.Request.Cookie(RefreshCookie); err == nil && ck.Value != "" {
			req.RefreshToken, fromCookie = ck.Value, true
		}
	}
	s, err := h.svc.Refresh(c.Request.Context(), req.RefreshToken)
	if err != nil {
		if fromCookie && apperr.Is(err, apperr.Unauthorized) {
			clearRefreshCookie(c) // spent or revoked: the browser is signed out
		}
		fail(c, err)
		return
	}
	h.setRefreshCookie(c, s.Tokens.RefreshToken, remembered(req.Remember))
	out := toSessionJSON(s)
	if fromCookie {
		out.RefreshToken = ""
	}
	c.JSON(http.StatusOK, out)
}

func (h authHandlers) logout(c *gin.Context) {
	p, ok := principal(c)
	if !ok {
		fail(c, apperr.New(apperr.Unauthorized, "a bearer access token is required"))
		return
	}
	var req refreshRequest
	if err := bind(c, &req); err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.Logout(c.Request.Context(), p, req.RefreshToken); err != nil {
		fail(c, err)
		return
	}
	clearRefreshCookie(c)
	c.Status(http.StatusNoContent)
}

func (h authHandlers) me(c *gin.Context) {
	p, ok := principal(c)
	if !ok {
		fail(c, apperr.New(apperr.Unauthorized, "a bearer access token is required"))
		return
	}
	pl, err := h.svc.Me(c.Request.Context(), p)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"player": toPlayerJSON(pl)})
}
