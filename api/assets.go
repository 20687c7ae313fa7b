package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/assets"
)

// AssetService is what the asset routes need (implemented by internal/assets).
type AssetService interface {
	Create(ctx context.Context, playerID uuid.UUID, in assets.CreateInput) (assets.Upload, error)
	Complete(ctx context.Context, playerID, id uuid.UUID) (assets.Asset, error)
	List(ctx context.Context, playerID uuid.UUID, kind string, before *uuid.UUID, limit int) (assets.Page, error)
	Get(ctx context.Context, playerID, id uuid.UUID) (assets.Asset, error)
	Delete(ctx context.Context, playerID, id uuid.UUID) error
}

var _ AssetService = (*assets.Service)(nil)

func registerAssets(g *gin.RouterGroup, d Deps) {
	h := assetHandlers{svc: d.Assets}
	g = g.Group("", requireStorage(d.StorageReady))
	g.POST("/assets", h.create)
	g.GET("/assets", h.list)
	g.GET("/assets/:id", h.get)
	g.POST("/assets/:id/complete", h.complete)
	g.DELETE("/assets/:id", h.delete)
}

type assetHandlers struct{ svc AssetService }

func (h assetHandlers) create(c *gin.Context) {
	var in assets.CreateInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	up, err := h.svc.Create(c.Request.Context(), player(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, up)
}

func (h assetHandlers) list(c *gin.Context) {
	before, limit, err := pageQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := h.svc.List(c.Request.Context(), player(c), c.Query("kind"), before, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
}

func (h assetHandlers) get(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	a, err := h.svc.Get(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"asset": a})
}

func (h assetHandlers) complete(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	a, err := h.svc.Complete(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"asset": a})
}

func (h assetHandlers) delete(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.Delete(c.Request.Context(), player(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// storageRetryAfter is what a client is told to wait while the object
// store starts: a dev stack's S3 server is up within seconds of its build.
const storageRetryAfter = 5 * time.Second

// requireStorage answers 503 storage_starting, with Retry-After, while the
// object store is not ready (its bucket not yet confirmed), so the rest of
// the game can run before S3 does. A nil ready means always ready.
func requireStorage(ready func() bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ready != nil && !ready() {
			fail(c, &apperr.Error{Code: apperr.StorageStarting, RetryAfter: storageRetryAfter,
				Message: "file storage is starting; uploads will be available in a moment"})
			return
		}
		c.Next()
	}
}
