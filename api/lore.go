package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/lore"
)

// LoreService is what the lore routes need (implemented by internal/game).
// Only a session's owner sees or edits its lore; anyone else gets 404.
type LoreService interface {
	CreateLore(ctx context.Context, playerID, sessionID uuid.UUID, in game.LoreInput) (game.LoreEntry, []lore.Warning, error)
	ListLore(ctx context.Context, playerID, sessionID uuid.UUID) ([]game.LoreEntry, error)
	GetLore(ctx context.Context, playerID, id uuid.UUID) (game.LoreEntry, error)
	UpdateLore(ctx context.Context, playerID, id uuid.UUID, p game.LorePatch) (game.LoreEntry, []lore.Warning, error)
	DeleteLore(ctx context.Context, playerID, id uuid.UUID) error
}

var _ LoreService = (*game.Service)(nil)

func registerLore(g *gin.RouterGroup, d Deps) {
	h := loreHandlers{svc: d.Lore}
	g.POST("/sessions/:id/lore", h.create)
	g.GET("/sessions/:id/lore", h.list)
	g.GET("/lore/:id", h.get)
	g.PATCH("/lore/:id", h.update)
	g.DELETE("/lore/:id", h.delete)
}

type loreHandlers struct{ svc LoreService }

func (h loreHandlers) create(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in game.LoreInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	e, warns, err := h.svc.CreateLore(c.Request.Context(), player(c), id, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"lore": e, "warnings": warns})
}

func (h loreHandlers) list(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	list, err := h.svc.ListLore(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"lore": list})
}

func (h loreHandlers) get(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	e, err := h.svc.GetLore(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"lore": e})
}

func (h loreHandlers) update(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var p game.LorePatch
	if err := bind(c, &p); err != nil {
		fail(c, err)
		return
	}
	e, warns, err := h.svc.UpdateLore(c.Request.Context(), player(c), id, p)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"lore": e, "warnings": warns})
}

func (h loreHandlers) delete(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.DeleteLore(c.Request.Context(), player(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
