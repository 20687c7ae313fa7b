package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// SummaryService is what the summary routes need (implemented by
// internal/game). A session's members read its summary; its owner edits
// it; anyone else gets 404.
type SummaryService interface {
	GetSummary(ctx context.Context, playerID, sessionID uuid.UUID) (*game.Summary, error)
	PutSummary(ctx context.Context, playerID, sessionID uuid.UUID, in game.SummaryInput) (*game.Summary, error)
}

var _ SummaryService = (*game.Service)(nil)

func registerSummary(g *gin.RouterGroup, d Deps) {
	h := summaryHandlers{svc: d.Summaries}
	g.GET("/sessions/:id/summary", h.get)
	g.PUT("/sessions/:id/summary", h.put)
}

type summaryHandlers struct{ svc SummaryService }

func (h summaryHandlers) get(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.GetSummary(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"summary": s})
}

func (h summaryHandlers) put(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in game.SummaryInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.PutSummary(c.Request.Context(), player(c), id, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"summary": s})
}
