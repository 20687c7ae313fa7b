package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/game"
)

// GameService is what the game routes need (implemented by internal/game).
type GameService interface {
	CreateCharacter(ctx context.Context, playerID uuid.UUID, in game.CharacterInput) (game.Character, error)
	ListCharacters(ctx context.Context, playerID uuid.UUID, before *uuid.UUID, limit int) (game.CharacterPage, error)
	GetCharacter(ctx context.Context, playerID, id uuid.UUID) (game.Character, error)
	UpdateCharacter(ctx context.Context, playerID, id uuid.UUID, p game.CharacterPatch) (game.Character, error)
	DeleteCharacter(ctx context.Context, playerID, id uuid.UUID) error

	CreateSession(ctx context.Context, playerID uuid.UUID, in game.SessionInput) (game.Session, error)
	ListSessions(ctx context.Context, playerID uuid.UUID, before *uuid.UUID, limit int) (game.SessionPage, error)
	ViewSession(ctx context.Context, playerID, id uuid.UUID) (game.SessionView, error)
	DeleteSession(ctx context.Context, playerID, id uuid.UUID) error

	ListMessages(ctx context.Context, playerID, sessionID uuid.UUID, before *uuid.UUID, limit int) (game.Page, error)
	PostMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string) (game.Message, game.Turn, error)
	PostPrivateMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string) (game.Message, game.Turn, error)
	PostPartyMessage(ctx context.Context, playerID, sessionID uuid.UUID, content, idemKey string) (game.Posted, error)
	SearchMemory(ctx context.Context, playerID, sessionID uuid.UUID, q string, k int) ([]game.MemoryResult, error)

	GetTurn(ctx context.Context, playerID, id uuid.UUID) (game.Turn, error)
	CancelTurn(ctx context.Context, playerID, id uuid.UUID) (game.Turn, error)
	SessionAccess(ctx context.Context, playerID, sessionID uuid.UUID) error

	Roll(ctx context.Context, playerID, sessionID uuid.UUID, in game.RollInput) (game.Roll, error)
	SessionSeed(ctx context.Context, playerID, sessionID uuid.UUID, commitment string) (game.SessionSeed, error)
	CharacterHistory(ctx context.Context, playerID, characterID uuid.UUID, before *uuid.UUID, limit int) (game.History, error)
}

var _ GameService = (*game.Service)(nil)

func registerGame(g *gin.RouterGroup, d Deps) {
	h := gameHandlers{svc: d.Game}
	g.POST("/characters", h.createCharacter)
	g.GET("/characters", h.listCharacters)
	g.GET("/characters/:id", h.getCharacter)
	g.PATCH("/characters/:id", h.updateCharacter)
	g.DELETE("/characters/:id", h.deleteCharacter)
	g.GET("/characters/:id/history", h.characterHistory)

	g.POST("/sessions", h.createSession)
	g.GET("/sessions", h.listSessions)
	g.GET("/sessions/:id", h.getSession)
	g.DELETE("/sessions/:id", h.deleteSession)
	g.GET("/sessions/:id/messages", h.listMessages)
	g.POST("/sessions/:id/messages", h.postMessage)
	g.GET("/sessions/:id/memory", h.searchMemory)
	g.POST("/sessions/:id/rolls", h.roll)
	g.GET("/sessions/:id/seeds/:commitment", h.sessionSeed)

	g.GET("/turns/:id", h.getTurn)
	g.POST("/turns/:id/cancel", h.cancelTurn)
}

type gameHandlers struct{ svc GameService }

// player returns the authenticated player (requireAuth ran before).
func player(c *gin.Context) uuid.UUID {
	p, _ := auth.PrincipalFrom(c.Request.Context())
	return p.PlayerID
}

// pathID parses the :id path parameter.
func pathID(c *gin.Context) (uuid.UUID, error) {
	return parseUUID("id", c.Param("id"))
}

func parseUUID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return uuid.Nil, apperr.Invalidf(field, "must be a UUID")
	}
	return id, nil
}

func (h gameHandlers) createCharacter(c *gin.Context) {
	var in game.CharacterInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	ch, err := h.svc.CreateCharacter(c.Request.Context(), player(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"character": ch})
}

func (h gameHandlers) listCharacters(c *gin.Context) {
	before, limit, err := pageQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := h.svc.ListCharacters(c.Request.Context(), player(c), before, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (h gameHandlers) getCharacter(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	ch, err := h.svc.GetCharacter(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("ETag", ch.ETag())
	c.JSON(http.StatusOK, gin.H{"character": ch})
}

func (h gameHandlers) updateCharacter(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var p game.CharacterPatch
	if err := bind(c, &p); err != nil {
		fail(c, err)
		return
	}
	p.IfMatch = c.GetHeader("If-Match")
	ch, err := h.svc.UpdateCharacter(c.Request.Context(), player(c), id, p)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("ETag", ch.ETag())
	c.JSON(http.StatusOK, gin.H{"character": ch})
}

func (h gameHandlers) deleteCharacter(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.DeleteCharacter(c.Request.Context(), player(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h gameHandlers) createSession(c *gin.Context) {
	var in game.SessionInput
	if err := bind(c, &in); err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.CreateSession(c.Request.Context(), player(c), in)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"session": s})
}

func (h gameHandlers) listSessions(c *gin.Context) {
	before, limit, err := pageQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := h.svc.ListSessions(c.Request.Context(), player(c), before, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (h gameHandlers) getSession(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	s, err := h.svc.ViewSession(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"session": s})
}

func (h gameHandlers) deleteSession(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	if err := h.svc.DeleteSession(c.Request.Context(), player(c), id); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h gameHandlers) listMessages(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	before, limit, err := pageQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	page, err := h.svc.ListMessages(c.Request.Context(), player(c), id, before, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

type postMessageBody struct {
	Content string `json:"content"`
	// Visibility: "public" (default) or "private", a whisper (docs/PARTY.md).
	Visibility string `json:"visibility"`
}

func (h gameHandlers) postMessage(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var body postMessageBody
	if err := bind(c, &body); err != nil {
		fail(c, err)
		return
	}
	// "/roll 1d20+3 [reason]" in the composer is the player's own roll,
	// not a turn (docs/API.md): the DM reads it on the next turn.
	if notation, reason, ok := game.RollCommand(body.Content); ok {
		r, err := h.svc.Roll(c.Request.Context(), player(c), id, game.RollInput{Notation: notation, Reason: reason})
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusCreated, gin.H{"roll": r})
		return
	}
	switch body.Visibility {
	case "", game.VisibilityPublic:
		// Free mode: the message's turn; rounds mode: its round.
		p, err := h.svc.PostPartyMessage(c.Request.Context(), player(c), id, body.Content, c.GetHeader("Idempotency-Key"))
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, p)
	case game.VisibilityPrivate:
		// A whisper is a turn of its own in either mode (docs/PARTY.md).
		m, t, err := h.svc.PostPrivateMessage(c.Request.Context(), player(c), id, body.Content, c.GetHeader("Idempotency-Key"))
		if err != nil {
			fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, gin.H{"message": m, "turn": t})
	default:
		fail(c, apperr.Invalidf("visibility", "must be public or private"))
	}
}

func (h gameHandlers) searchMemory(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	k, err := intQuery(c, "k", 8)
	if err != nil {
		fail(c, err)
		return
	}
	results, err := h.svc.SearchMemory(c.Request.Context(), player(c), id, c.Query("q"), k)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"results": results})
}

func (h gameHandlers) getTurn(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	t, err := h.svc.GetTurn(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"turn": t})
}

func (h gameHandlers) cancelTurn(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	t, err := h.svc.CancelTurn(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"turn": t})
}

func (h gameHandlers) roll(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	var body game.RollInput
	if err := bind(c, &body); err != nil {
		fail(c, err)
		return
	}
	r, err := h.svc.Roll(c.Request.Context(), player(c), id, body)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"roll": r})
}

func (h gameHandlers) sessionSeed(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	seed, err := h.svc.SessionSeed(c.Request.Context(), player(c), id, c.Param("commitment"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"seed": seed})
}

func (h gameHandlers) characterHistory(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	before, limit, err := pageQuery(c)
	if err != nil {
		fail(c, err)
		return
	}
	h2, err := h.svc.CharacterHistory(c.Request.Context(), player(c), id, before, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h2)
}

// intQuery reads an integer query parameter with a default.
func intQuery(c *gin.Context, name string, def int) (int, error) {
	s, ok := c.GetQuery(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 9 {
		return 0, apperr.Invalidf(name, "must be an integer")
	}
	return n, nil
}

// pageQuery reads the cursor of a paged list: ?before=<id>&limit=N.
func pageQuery(c *gin.Context) (before *uuid.UUID, limit int, err error) {
	if b := c.Query("before"); b != "" {
		bid, err := parseUUID("before", b)
		if err != nil {
			return nil, 0, err
		}
		before = &bid
	}
	limit, err = intQuery(c, "limit", game.DefaultPageSize)
	return before, limit, err
}
