package game

import (
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// CharacterPage is one page of the player's characters, newest first.
// NextBefore is the `before` of the next (older) page, nil on the last.
type CharacterPage struct {
	Characters []Character `json:"characters"`
	NextBefore *uuid.UUID  `json:"next_before"`
}

// SessionPage is one page of the sessions the player is in, newest first.
type SessionPage struct {
	Sessions   []Session  `json:"sessions"`
	NextBefore *uuid.UUID `json:"next_before"`
}

// CheckPageLimit refuses a page size outside 1..MaxPageSize.
func CheckPageLimit(limit int) error {
	if limit < 1 || limit > MaxPageSize {
		return apperr.Invalidf("limit", "must be between 1 and %d", MaxPageSize)
	}
	return nil
}

// CutPage trims a list read with limit+1 rows to limit, and returns the
// cursor of the next page (the id of the page's last item) when the extra
// row shows there is one.
func CutPage[T any](items []T, limit int, id func(T) uuid.UUID) ([]T, *uuid.UUID) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	next := id(items[limit-1])
	return items, &next
}
