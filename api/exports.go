package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// ExportService is what the export routes need (implemented by
// internal/game). Only a session's owner exports it.
type ExportService interface {
	CreateExport(ctx context.Context, playerID, sessionID uuid.UUID, format string) (game.Export, error)
	GetExport(ctx context.Context, playerID, id uuid.UUID) (game.Export, error)
	ImportSession(ctx context.Context, playerID, assetID uuid.UUID) (game.Imported, error)
	ImportProgress(ctx context.Context, playerID, sessionID uuid.UUID) (game.ImportProgress, error)
}

var _ ExportService = (*game.Service)(nil)

func registerExports(g *gin.RouterGroup, d Deps) {
	h := exportHandlers{svc: d.Exports}
	g.POST("/sessions/:id/exports", h.create)
	g.GET("/exports/:id", h.get)
	g.POST("/sessions/import", h.importSession)
	g.GET("/sessions/:id/import", h.importProgress)
}

func (h exportHandlers) importProgress(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	p, err := h.svc.ImportProgress(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"import": p})
}

func (h exportHandlers) importSession(c *gin.Context) {
	var in assetRef
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	id, err := in.id()
	if err != nil {
		fail(c, err)
		return
	}
	res, err := h.svc.ImportSession(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"session": res.Session, "skipped": res.Skipped})
}

type exportHandlers struct{ svc ExportService }

func (h exportHandlers) create(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in struct {
		Format string `json:"format"`
	}
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	e, err := h.svc.CreateExport(c.Request.Context(), player(c), id, in.Format)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"export": e})
}

func (h exportHandlers) get(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	e, err := h.svc.GetExport(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"export": e})
}
