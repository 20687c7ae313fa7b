package game

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// insertCardCharacter stores a character imported from a card together
// with the card (text fields and lorebook), all or nothing.
func (s *Store) insertCardCharacter(ctx context.Context, c Character, card StoredCard) (Character, error) {
	sheet, err := json.Marshal(c.Sheet)
	if err != nil {
		return c, err
	}
	cardJSON, err := json.Marshal(card)
	if err != nil {
		return c, err
	}
	out, err := scanCharacter(s.pool.QueryRow(ctx, `
		INSERT INTO game.characters (id, player_id, name, class, level, sheet, card)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+characterCols, c.ID, c.PlayerID, c.Name, c.Class, c.Level, string(sheet), string(cardJSON)))
	return out, postgres.Translate(err, "character")
}

// characterCard returns the stored card of one of the player's characters
// (ok false when the character was not imported from a card).
func (s *Store) characterCard(ctx context.Context, playerID, id uuid.UUID) (StoredCard, bool, error) {
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT card FROM game.characters WHERE id = $1 AND player_id = $2`, id, playerID).Scan(&raw)
	if err == pgx.ErrNoRows {
		return StoredCard{}, false, postgres.Translate(err, "character")
	}
	if err != nil || raw == nil {
		return StoredCard{}, false, postgres.Translate(err, "character")
	}
	var card StoredCard
	if err := json.Unmarshal(raw, &card); err != nil {
		return StoredCard{}, false, err
	}
	return card, true, nil
}

// copyCharacterLore gives a new session the lorebook of the character it
// starts with (a card's character_book), in the book's order: each entry's
// created_at is offset by its position, the list's sort key.
func copyCharacterLore(ctx context.Context, q querier, sessionID, characterID uuid.UUID) error {
	_, err := q.Exec(ctx, `
		INSERT INTO game.lore_entries (id, session_id, title, keys, content, always, enabled, created_at, updated_at)
		SELECT gen_random_uuid(), $1, coalesce(e->>'title', ''), coalesce(e->'keys', '[]'::jsonb), coalesce(e->>'content', ''),
			coalesce((e->>'always')::boolean, false), coalesce((e->>'enabled')::boolean, true),
			now() + make_interval(secs => t.o / 1000000.0), now()
		FROM game.characters c, jsonb_array_elements(coalesce(c.card->'lore', '[]'::jsonb)) WITH ORDINALITY AS t(e, o)
		WHERE c.id = $2`, sessionID, characterID)
	return err
}
