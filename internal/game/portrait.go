package game

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// Portraits confirms that an asset may be a character's portrait: the
// player's own, uploaded and checked, of kind portrait. It answers
// invalid_request (naming portrait_asset_id) otherwise. Implemented by
// *assets.Service; the game never reads assets itself.
type Portraits interface {
	CheckPortrait(ctx context.Context, playerID, assetID uuid.UUID) error
}

// ServiceOption configures optional parts of a Service.
type ServiceOption func(*Service)

// WithPortraits lets characters have portraits (PATCH portrait_asset_id).
func WithPortraits(p Portraits) ServiceOption {
	return func(s *Service) { s.portraits = p }
}

// OptionalID is a patch field that tells "absent" (Set false), "null"
// (Set, ID nil) and an id apart.
type OptionalID struct {
	Set bool
	ID  *uuid.UUID
	bad bool
}

// UnmarshalJSON accepts null or a UUID string; anything else is reported
// by the service, naming the field.
func (o *OptionalID) UnmarshalJSON(b []byte) error {
	o.Set, o.ID, o.bad = true, nil, false
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		o.bad = true
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		o.bad = true
		return nil
	}
	o.ID = &id
	return nil
}

// setPortrait applies a portrait_asset_id patch to c.
func (s *Service) setPortrait(ctx context.Context, c *Character, p OptionalID) error {
	if p.bad {
		return apperr.Invalidf("portrait_asset_id", "must be a UUID or null")
	}
	if p.ID == nil {
		c.PortraitAssetID = nil
		return nil
	}
	if s.portraits == nil {
		return apperr.New(apperr.Unavailable, "portraits are not available")
	}
	if err := s.portraits.CheckPortrait(ctx, c.PlayerID, *p.ID); err != nil {
		return err
	}
	id := *p.ID
	c.PortraitAssetID = &id
	return nil
}
