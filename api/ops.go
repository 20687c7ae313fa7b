package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// The operator surface:
//
//   - GET /metrics — Prometheus, open or behind METRICS_TOKEN (bearer).
//   - /ops/queues/… — the asynqmon dashboard (UI and its JSON API), admins
//     only: a bearer access token, or the ops cookie for a browser.
//   - POST /ops/session — trades an admin's bearer access token for the ops
//     cookie (HttpOnly, SameSite=Strict, Path=/ops, lives as long as the
//     token); DELETE /ops/session removes it.
//   - GET /ops/login — a small sign-in page that does the above in a browser.

// OpsQueuesPath is where asynqmon is mounted (its RootPath).
const OpsQueuesPath = "/ops/queues"

// OpsCookie is the name of the ops session cookie.
const OpsCookie = "conquest_ops"

// HTTPObserver receives every request's measurements (implemented by
// *metrics.Metrics).
type HTTPObserver interface {
	// RequestStarted counts a request in flight; the func ends it.
	RequestStarted() func()
	// ObserveHTTP records a finished request: route is gin's route pattern
	// (never the raw URL) or "unmatched"; streaming is true for SSE.
	ObserveHTTP(method, route string, status int, d time.Duration, streaming bool)
}

// OpsDeps configure the operator surface. Nil handlers leave their routes out.
type OpsDeps struct {
	// HTTP observes every request (metrics).
	HTTP HTTPObserver
	// Metrics serves /metrics; MetricsToken, when set, is required as a
	// bearer token there.
	Metrics      http.Handler
	MetricsToken string
	// Queues is the asynqmon handler, rooted at OpsQueuesPath.
	Queues http.Handler
	// SecureCookie forces the Secure flag on the ops cookie (production);
	// it is also set whenever the request came over HTTPS.
	SecureCookie bool
}

// observeHTTP reports each request to o, with its route pattern.
func observeHTTP(o HTTPObserver) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		done := o.RequestStarted()
		defer func() {
			done()
			status := c.Writer.Status()
			if r := recover(); r != nil {
				// recovery(), outside, turns this into a 500.
				o.ObserveHTTP(c.Request.Method, routeOf(c), http.StatusInternalServerError, time.Since(start), false)
				panic(r)
			}
			streaming := strings.HasPrefix(c.Writer.Header().Get("Content-Type"), "text/event-stream")
			o.ObserveHTTP(c.Request.Method, routeOf(c), status, time.Since(start), streaming)
		}()
		c.Next()
	}
}

func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return "unmatched"
}

func registerOps(r *gin.Engine, d Deps) {
	o := d.Ops
	if o.Metrics != nil {
		r.GET("/metrics", metricsAuth(o.MetricsToken), gin.WrapH(o.Metrics))
	}
	if d.Auth == nil {
		return
	}
	h := opsHandlers{secure: o.SecureCookie}
	g := r.Group("/ops", noStore, opsHeaders)
	g.GET("/login", h.loginPage)
	g.GET("/login.js", h.loginScript)
	g.POST("/session", requireAdmin(d.Auth), h.createSession)
	g.DELETE("/session", h.deleteSession)
	if o.Queues != nil {
		serve := queuesHandler(o.Queues)
		q := g.Group("/queues", opsAdmin(d.Auth))
		q.Any("", serve)
		q.Any("/*path", serve)
	}
}

// metricsAuth requires `Authorization: Bearer <token>` when token is set.
func metricsAuth(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if token == "" {
			return
		}
		got, ok := bearerToken(c.GetHeader("Authorization"))
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			unauthorized(c, apperr.New(apperr.Unauthorized, "a bearer metrics token is required"))
			return
		}
	}
}

// opsHeaders are the security headers of every /ops answer; pages that
// need a Content-Security-Policy set their own.
func opsHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// opsAdmin lets an admin through with a bearer access token or the ops
// cookie: 401 without either (or when it is no longer valid), 403 for a
// player who is not an admin. A state-changing request with the cookie
// must come from this site (CSRF), on top of SameSite=Strict.
func opsAdmin(a AdminChecker) gin.HandlerFunc {
	bearer := requireAdmin(a)
	return func(c *gin.Context) {
		if c.GetHeader("Authorization") != "" {
			bearer(c)
			return
		}
		tok, err := c.Cookie(OpsCookie)
		if err != nil || tok == "" {
			unauthorized(c, apperr.New(apperr.Unauthorized, "admins only: sign in at /ops/login (or send a bearer access token)"))
			return
		}
		if !safeMethod(c.Request.Method) && !sameOrigin(c.Request) {
			fail(c, apperr.New(apperr.Forbidden, "cross-site request refused"))
			return
		}
		p, err := a.Authenticate(c.Request.Context(), tok)
		if err != nil {
			if apperr.Is(err, apperr.Unauthorized) {
				clearOpsCookie(c)
				unauthorized(c, apperr.New(apperr.Unauthorized, "the ops session has expired: sign in again at /ops/login"))
				return
			}
			fail(c, err)
			return
		}
		if checkAdmin(c, a, p); c.IsAborted() {
			return
		}
		ctx := auth.WithPrincipal(c.Request.Context(), p)
		c.Request = c.Request.WithContext(logging.With(ctx, "player_id", p.PlayerID.String()))
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin reports whether a browser request came from this site. A
// request without Sec-Fetch-Site and Origin is not from a browser (which
// sends Origin on every POST, PUT, PATCH and DELETE) and passes.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}

// queuesHandler serves asynqmon with a Content-Security-Policy that
// allows exactly its inline scripts (by hash) and the Google Fonts its
// index page loads.
func queuesHandler(h http.Handler) gin.HandlerFunc {
	csp := asynqmonCSP(h)
	return func(c *gin.Context) {
		c.Header("Content-Security-Policy", csp)
		h.ServeHTTP(c.Writer, c.Request)
	}
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// asynqmonCSP renders asynqmon's index page once and hashes its inline
// scripts. Should that fail (a new asynqmon version), it falls back to
// 'unsafe-inline' for scripts: the dashboard must keep working.
func asynqmonCSP(h http.Handler) string {
	rec := &bufferWriter{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, OpsQueuesPath+"/", nil)
	h.ServeHTTP(rec, req)
	scripts := "'unsafe-inline'"
	if m := inlineScript.FindAllSubmatch(rec.body.Bytes(), -1); rec.status() == http.StatusOK && len(m) > 0 {
		var hashes []string
		for _, s := range m {
			sum := sha256.Sum256(s[1])
			hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		scripts = strings.Join(hashes, " ")
	}
	return "default-src 'self'; script-src 'self' " + scripts + "; " +
		// Material UI injects <style> elements at run time.
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' data: https://fonts.gstatic.com; " +
		"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
}

// bufferWriter is a minimal in-memory http.ResponseWriter.
type bufferWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *bufferWriter) Header() http.Header         { return w.header }
func (w *bufferWriter) Write(b []byte) (int, error) { return w.body.Write(b) }
func (w *bufferWriter) WriteHeader(code int)        { w.code = code }
func (w *bufferWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

type opsHandlers struct {
	secure bool
}

// createSession sets the ops cookie from the admin's bearer access token
// (requireAdmin ran before). The cookie holds that token: it expires with
// it, and a logout revokes both at once.
func (h opsHandlers) createSession(c *gin.Context) {
	p, _ := principal(c)
	tok, _ := bearerToken(c.GetHeader("Authorization"))
	maxAge := int(time.Until(p.ExpiresAt).Seconds())
	if maxAge < 1 {
		unauthorized(c, apperr.New(apperr.Unauthorized, "the access token has expired"))
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: OpsCookie, Value: tok, Path: "/ops", MaxAge: maxAge,
		HttpOnly: true, Secure: h.secureFor(c), SameSite: http.SameSiteStrictMode,
	})
	c.JSON(http.StatusOK, gin.H{"expires_at": p.ExpiresAt, "url": OpsQueuesPath + "/"})
}

func (h opsHandlers) deleteSession(c *gin.Context) {
	clearOpsCookie(c)
	c.Status(http.StatusNoContent)
}

func clearOpsCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: OpsCookie, Value: "", Path: "/ops", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// secureFor: Secure in production and whenever the client spoke HTTPS to
// us or to the proxy in front (a forged X-Forwarded-Proto only makes the
// cookie stricter).
func (h opsHandlers) secureFor(c *gin.Context) bool {
	return h.secure || c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https")
}

//go:embed ops_login.html
var opsLoginPage []byte

//go:embed ops_login.js
var opsLoginScript []byte

const opsPageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (h opsHandlers) loginPage(c *gin.Context) {
	c.Header("Content-Security-Policy", opsPageCSP)
	c.Data(http.StatusOK, "text/html; charset=utf-8", opsLoginPage)
}

func (h opsHandlers) loginScript(c *gin.Context) {
	c.Header("Content-Security-Policy", opsPageCSP)
	c.Data(http.StatusOK, "text/javascript; charset=utf-8", opsLoginScript)
}
