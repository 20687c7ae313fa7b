package api

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/game"
)

// PartyService is party play: invites, members (docs/PARTY.md).
type PartyService interface {
	CreateInvite(ctx context.Context, playerID, sessionID uuid.UUID, in game.InviteInput) (game.Invite, error)
	RevokeInvite(ctx context.Context, playerID, sessionID uuid.UUID, code string) error
	JoinSession(ctx context.Context, playerID uuid.UUID, code string, in game.JoinInput) (game.Session, game.Member, error)
	ListMembers(ctx context.Context, playerID, sessionID uuid.UUID) ([]game.Member, error)
	RemoveMember(ctx context.Context, playerID, sessionID, targetID uuid.UUID) error
	Typing(ctx context.Context, playerID, sessionID uuid.UUID) error
	UpdateSession(ctx context.Context, playerID, id uuid.UUID, p game.SessionPatch) (game.Session, error)
	CloseRound(ctx context.Context, playerID, sessionID uuid.UUID) (game.Round, *game.Turn, error)
}

var _ PartyService = (*game.Service)(nil)

type partyHandlers struct{ svc PartyService }

func registerParty(g *gin.RouterGroup, d Deps) {
	h := partyHandlers{svc: d.Party}
	g.POST("/sessions/:id/invites", h.createInvite)
	g.DELETE("/sessions/:id/invites/:code", h.revokeInvite)
	g.POST("/invites/:code/join", h.join)
	g.GET("/sessions/:id/members", h.listMembers)
	g.DELETE("/sessions/:id/members/:player_id", h.removeMember)
	g.POST("/sessions/:id/typing", h.typing)
	g.PATCH("/sessions/:id", h.updateSession)
	g.POST("/sessions/:id/rounds/close", h.closeRound)
}

func (h partyHandlers) closeRound(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	r, t, err := h.svc.CloseRound(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"round": r, "turn": t})
}

func (h partyHandlers) updateSession(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var p game.SessionPatch
	if err := bind(c, &p); err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.UpdateSession(c.Request.Context(), player(c), id, p)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"session": s})
}

func (h partyHandlers) typing(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.Typing(c.Request.Context(), player(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h partyHandlers) createInvite(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var in game.InviteInput
	if err := bindOptional(c, &in); err != nil {
		fail(c, err)
		return
	}
	inv, err := h.svc.CreateInvite(c.Request.Context(), player(c), id, in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"invite": inv})
}

func (h partyHandlers) revokeInvite(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.RevokeInvite(c.Request.Context(), player(c), id, c.Param("code")); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h partyHandlers) join(c *gin.Context) {
	var in game.JoinInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	s, m, err := h.svc.JoinSession(c.Request.Context(), player(c), c.Param("code"), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"session": s, "member": m})
}

func (h partyHandlers) listMembers(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	ms, err := h.svc.ListMembers(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"members": ms})
}

func (h partyHandlers) removeMember(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	target, err := parseUUID("player_id", c.Param("player_id"))
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.RemoveMember(c.Request.Context(), player(c), id, target); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// bindOptional decodes a JSON body when there is one (an invite may be
// made with no body, or a JSON null: every field has a default).
func bindOptional(c *gin.Context, v any) error {
	if c.Request.ContentLength == 0 {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, MaxBodyBytes+1))
	if err != nil {
		return apperr.Wrap(err, apperr.Invalid, "body: could not be read")
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || string(t) == "null" {
		return nil
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	return bind(c, v)
}
