package api

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// CardService is what the character card routes need (implemented by
// internal/game).
type CardService interface {
	ImportCharacter(ctx context.Context, playerID, assetID uuid.UUID) (game.Character, []string, error)
	CharacterCard(ctx context.Context, playerID, id uuid.UUID) ([]byte, string, error)
}

var _ CardService = (*game.Service)(nil)

func registerCards(g *gin.RouterGroup, d Deps) {
	h := cardHandlers{svc: d.Cards}
	g.POST("/characters/import", h.importCard)
	g.GET("/characters/:id/card", h.card)
}

type cardHandlers struct{ svc CardService }

// assetRef is the body of the import routes.
type assetRef struct {
	AssetID string `json:"asset_id"`
}

func (r assetRef) id() (uuid.UUID, error) { return parseUUID("asset_id", r.AssetID) }

func (h cardHandlers) importCard(c *gin.Context) {
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
	ch, warns, err := h.svc.ImportCharacter(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"character": ch, "warnings": warns})
}

func (h cardHandlers) card(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		fail(c, err)
		return
	}
	png, name, err := h.svc.CharacterCard(c.Request.Context(), player(c), id)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": cardFilename(name)}))
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "image/png", png)
}

// cardFilename is a download name from a character's name: letters,
// digits, spaces and dashes only, so no header or path tricks pass.
func cardFilename(name string) string {
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == ' ':
			return r
		}
		return -1
	}, name)
	if name = strings.TrimSpace(name); name == "" {
		name = "character"
	}
	return name + ".png"
}
