package game

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/cards"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/lore"
)

// AssetReader reads the bytes of a player's ready upload of one kind
// (implemented by *assets.Service). It answers invalid_request naming
// field for an asset the player may not use.
type AssetReader interface {
	ReadReady(ctx context.Context, playerID, id uuid.UUID, kind, field string) ([]byte, string, error)
}

// WithAssetReader lets the service import uploads (character cards,
// exports) and put a character's portrait into its card.
func WithAssetReader(r AssetReader) ServiceOption {
	return func(s *Service) { s.assets = r }
}

// Asset kinds the game reads (internal/assets.Kinds).
const (
	assetKindCard     = "card"
	assetKindPortrait = "portrait"
)

// ImportedClass is the class of a character imported from a card: cards
// describe people, not rules classes; the player changes it afterwards.
const ImportedClass = "adventurer"

// StoredCard is what a character imported from a card keeps of it: the
// card's text fields, and its lorebook as validated lore entries that are
// copied into every session the character starts.
type StoredCard struct {
	Spec      string          `json:"spec"`
	Character cards.Character `json:"character"` // Lore left empty: see Lore
	Lore      []lore.Entry    `json:"lore"`
}

// ImportCharacter creates a character from a Tavern card (V2/V3, PNG or
// JSON) the player uploaded as a ready asset of kind card. A card that
// cannot be read is refused (400/422 with the reason) and nothing is
// created. Lorebook entries the lorebook rules refuse (a one-letter key,
// say) are dropped and reported in the warnings.
func (s *Service) ImportCharacter(ctx context.Context, playerID, assetID uuid.UUID) (Character, []string, error) {
	if s.assets == nil {
		return Character{}, nil, apperr.New(apperr.Unavailable, "uploads are not configured")
	}
	b, _, err := s.assets.ReadReady(ctx, playerID, assetID, assetKindCard, "asset_id")
	if err != nil {
		return Character{}, nil, err
	}
	card, err := cards.Parse(b)
	if err != nil {
		return Character{}, nil, err
	}
	ch := card.Character
	warnings := append([]string{}, card.Warnings...)
	c := Character{ID: uuid.Must(uuid.NewV7()), PlayerID: playerID, Class: ImportedClass, Level: 1}
	c.Name = cutRunes(strings.TrimSpace(ch.Name), MaxNameLen)
	if c.Name != strings.TrimSpace(ch.Name) {
		warnings = append(warnings, fmt.Sprintf("the name was cut to %d characters", MaxNameLen))
	}
	notes, err := json.Marshal(map[string]string{"notes": cutRunes(strings.TrimSpace(ch.Description), MaxNotesRunes)})
	if err != nil {
		return Character{}, nil, err
	}
	if c.Sheet, err = s.sheet(notes); err != nil {
		return Character{}, nil, apperr.New(apperr.Unprocessable, "the card's description cannot be a character's notes: %s", err)
	}
	c.Sheet.Level = c.Level
	if err := checkLevel(c.Level); err != nil {
		return Character{}, nil, err
	}
	if _, err := cleanText("name", c.Name, MaxNameLen); err != nil {
		return Character{}, nil, apperr.New(apperr.Unprocessable, "the card's name cannot be a character's name: %s", err)
	}
	stored := StoredCard{Spec: card.Spec, Character: ch, Lore: []lore.Entry{}}
	stored.Character.Lore = nil
	for i, le := range ch.Lore {
		if len(stored.Lore) == lore.MaxEntriesPerSession {
			warnings = append(warnings, fmt.Sprintf("the lorebook has more than %d entries; the rest were dropped", lore.MaxEntriesPerSession))
			break
		}
		e, _, err := lore.Validate(le.ToLore())
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("lorebook entry %d (%q) was dropped: %s", i, cutRunes(le.Title, 40), err))
			continue
		}
		stored.Lore = append(stored.Lore, e)
	}
	out, err := s.store.insertCardCharacter(ctx, c, stored)
	return out, warnings, err
}

// CharacterCard writes one of the player's characters as a V3 card PNG:
// the character's portrait (when it is a PNG) as the image, the card it was
// imported from (if any) for the text fields, and its lorebook.
func (s *Service) CharacterCard(ctx context.Context, playerID, id uuid.UUID) ([]byte, string, error) {
	c, err := s.store.getCharacter(ctx, s.store.pool, playerID, id)
	if err != nil {
		return nil, "", err
	}
	stored, _, err := s.store.characterCard(ctx, playerID, id)
	if err != nil {
		return nil, "", err
	}
	ch := stored.Character
	ch.Name = c.Name
	if ch.Description == "" {
		ch.Description = c.Sheet.Notes
	}
	ch.Lore = nil
	for _, e := range stored.Lore {
		ch.Lore = append(ch.Lore, cards.LoreEntry{Title: e.Title, Keys: e.Keys, Content: e.Content, Constant: e.Always, Enabled: e.Enabled})
	}
	var portrait []byte
	if c.PortraitAssetID != nil && s.assets != nil {
		b, ct, err := s.assets.ReadReady(ctx, playerID, *c.PortraitAssetID, assetKindPortrait, "portrait_asset_id")
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, "", ctx.Err()
		case err != nil:
			// The card is still worth having without its picture.
			logging.From(ctx).Warn("card without portrait", "character_id", id, "err", err)
		case ct == "image/png":
			portrait = b
		}
	}
	png, err := cards.EncodePNG(ch, portrait, time.Now())
	if err != nil && portrait != nil {
		png, err = cards.EncodePNG(ch, nil, time.Now()) // a portrait PNG the card writer cannot read
	}
	if err != nil {
		return nil, "", err
	}
	return png, c.Name, nil
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}
