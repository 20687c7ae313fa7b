package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// StoryService is what the story-control routes need (implemented by
// internal/game; docs/STORY.md). Only a session's owner changes its story;
// anyone else gets 404.
type StoryService interface {
	Undo(ctx context.Context, playerID, sessionID uuid.UUID) ([]uuid.UUID, error)
	EditLatest(ctx context.Context, playerID, sessionID uuid.UUID, content string) (game.Edited, error)
	Regenerate(ctx context.Context, playerID, turnID uuid.UUID) (game.Turn, error)
	SelectReply(ctx context.Context, playerID, messageID uuid.UUID) (game.Message, error)
	Fork(ctx context.Context, playerID, sessionID uuid.UUID, in game.ForkInput) (game.Session, error)
}

var _ StoryService = (*game.Service)(nil)

func registerStory(g *gin.RouterGroup, d Deps) {
	h := storyHandlers{svc: d.Story}
	g.POST("/sessions/:id/undo", h.undo)
	g.POST("/sessions/:id/edit", h.edit)
	g.POST("/sessions/:id/fork", h.fork)
	g.POST("/turns/:id/regenerate", h.regenerate)
	g.POST("/messages/:id/select", h.selectReply)
}

type storyHandlers struct{ svc StoryService }

func (h storyHandlers) undo(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	removed, err := h.svc.Undo(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"removed": removed})
}

func (h storyHandlers) edit(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in struct {
		Content string `json:"content"`
	}
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	ed, err := h.svc.EditLatest(c.Request.Context(), player(c), id, in.Content)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, ed)
}

func (h storyHandlers) fork(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in game.ForkInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.Fork(c.Request.Context(), player(c), id, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"session": s})
}

func (h storyHandlers) regenerate(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	t, err := h.svc.Regenerate(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"turn": t})
}

func (h storyHandlers) selectReply(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	m, err := h.svc.SelectReply(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"message": m})
}
