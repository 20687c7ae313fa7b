// Package api is Bright Dawn's HTTP surface: Gin routes, middleware and thin
// handlers. A handler decodes, validates, calls one service method and maps
// the error (errors.go holds the one table from codes to statuses).
package api

import (
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// Deps are what the HTTP layer needs. Nil services leave their routes out.
type Deps struct {
	Log            *slog.Logger
	Checks         []Check
	TrustedProxies []string

	Auth      AuthService
	Game      GameService
	Tickets   StreamTickets
	Events    EventStreamer
	Heartbeat time.Duration
	// RefreshTTL is the refresh token's lifetime: the Max-Age of the
	// refresh cookie (auth.go).
	RefreshTTL time.Duration
	// S3Origin is the object store's origin as browsers reach it
	// (scheme://host[:port]): the web client's CSP allows images and
	// uploads there and nowhere else but this site (web.go).
	S3Origin string
	// Streams caps open streams and ends them with their credential
	// (streamguard.go); nil: neither.
	Streams *StreamGuard
	// Presence turns open session streams into party presence; nil: none.
	Presence StreamPresence
	Assets   AssetService
	// StorageReady reports whether the object store is ready; until it is,
	// the asset routes answer 503 storage_starting. Nil: always ready.
	StorageReady func() bool

	// Ops is the operator surface: metrics, /metrics, asynqmon (api/ops.go).
	Ops OpsDeps
	// Reembed reports embedding models and re-embed jobs at /ops/reembed.
	Reembed ReembedService
	// Lore is the sessions' lorebooks (api/lore.go).
	Lore LoreService
	// Summaries reads and edits sessions' rolling summaries (api/summary.go).
	Summaries SummaryService
	// Cards imports and exports Tavern character cards (api/cards.go).
	Cards CardService
	// Exports writes sessions into the exports bucket (api/exports.go).
	Exports ExportService
	// Story is undo, regenerate, select and fork (api/story.go).
	Story StoryService
	// Party is invites and members (api/party.go).
	Party PartyService
}

// NewRouter builds the Gin engine with every route of docs/API.md (api/openapi/openapi.yaml).
func NewRouter(d Deps) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.RemoveExtraSlash = true
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, err
	}
	r.Use(requestID(d.Log), recovery(), accessLog(), limitBody())
	if d.Ops.HTTP != nil {
		r.Use(observeHTTP(d.Ops.HTTP))
	}
	r.NoRoute(func(c *gin.Context) { fail(c, apperr.New(apperr.NotFound, "no such route")) })
	r.NoMethod(func(c *gin.Context) { fail(c, apperr.New(apperr.MethodNotAllowed, "method not allowed on this route")) })

	r.GET("/healthz", healthz)
	r.GET("/readyz", readyz(d.Checks))
	r.GET("/api/openapi.json", serveOpenAPI)
	registerWeb(r, d.S3Origin)

	if d.Auth != nil {
		registerAuth(r, d)
	}
	if d.Auth != nil && d.Game != nil {
		authed := requireAuth(d.Auth)
		// Streams authenticate themselves (header or stream ticket), so
		// they are registered before the group-wide requireAuth.
		registerStreams(r.Group("/api"), authed, d)
		registerGame(r.Group("/api", authed), d)
	}
	if d.Auth != nil && d.Assets != nil {
		registerAssets(r.Group("/api", requireAuth(d.Auth)), d)
	}
	if d.Auth != nil && d.Lore != nil {
		registerLore(r.Group("/api", requireAuth(d.Auth)), d)
	}
	if d.Auth != nil && d.Summaries != nil {
		registerSummary(r.Group("/api", requireAuth(d.Auth)), d)
	}
	if d.Auth != nil && d.Cards != nil {
		registerCards(r.Group("/api", requireAuth(d.Auth)), d)
	}
	if d.Auth != nil && d.Exports != nil {
		registerExports(r.Group("/api", requireAuth(d.Auth)), d)
	}
	if d.Auth != nil && d.Story != nil {
		registerStory(r.Group("/api", requireAuth(d.Auth)), d)
	}
	if d.Auth != nil && d.Party != nil {
		registerParty(r.Group("/api", requireAuth(d.Auth)), d)
	}
	registerOps(r, d)
	if d.Auth != nil && d.Reembed != nil {
		registerReembed(r, d)
	}
	return r, nil
}
