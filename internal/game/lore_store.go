package game

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

const loreCols = `l.id, l.session_id, l.title, l.keys, l.content, l.always, l.enabled, l.created_at, l.updated_at`

func scanLore(row pgx.Row) (LoreEntry, error) {
	var (
		e    LoreEntry
		id   uuid.UUID
		keys []byte
	)
	err := row.Scan(&id, &e.SessionID, &e.Title, &keys, &e.Content, &e.Always, &e.Enabled, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return e, err
	}
	e.ID = id.String()
	if err := json.Unmarshal(keys, &e.Keys); err != nil {
		return e, err
	}
	if e.Keys == nil {
		e.Keys = []string{}
	}
	return e, nil
}

func collectLore(rows pgx.Rows, err error) ([]LoreEntry, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LoreEntry{}
	for rows.Next() {
		e, err := scanLore(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// insertLore adds entries to a session the player owns, refusing to go
// past lore.MaxEntriesPerSession. The session row is locked so two
// concurrent adds cannot both pass the count.
func (s *Store) insertLore(ctx context.Context, playerID, sessionID uuid.UUID, entries []lore.Entry) ([]LoreEntry, error) {
	var out []LoreEntry
	err := s.Tx(ctx, func(q querier) error {
		if err := requireOwner(ctx, q, sessionID, playerID); err != nil {
			return err
		}
		var n int
		err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM game.lore_entries WHERE session_id = s.id)
			FROM game.sessions s WHERE s.id = $1 FOR UPDATE`, sessionID).Scan(&n)
		if err != nil {
			return postgres.Translate(err, "session")
		}
		if n+len(entries) > lore.MaxEntriesPerSession {
			return apperr.New(apperr.Conflict, "a session holds at most %d lore entries", lore.MaxEntriesPerSession)
		}
		return insertLoreRows(ctx, q, sessionID, entries, &out)
	})
	err = s.afterWrite(ctx, err, sessionID, hotLore)
	return out, postgres.Translate(err, "lore entry")
}

func insertLoreRows(ctx context.Context, q querier, sessionID uuid.UUID, entries []lore.Entry, out *[]LoreEntry) error {
	for _, e := range entries {
		keys, err := json.Marshal(e.Keys)
		if err != nil {
			return err
		}
		le, err := scanLore(q.QueryRow(ctx, `INSERT INTO game.lore_entries AS l (id, session_id, title, keys, content, always, enabled)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+loreCols,
			uuid.Must(uuid.NewV7()), sessionID, e.Title, string(keys), e.Content, e.Always, e.Enabled))
		if err != nil {
			return err
		}
		if out != nil {
			*out = append(*out, le)
		}
	}
	return nil
}

func (s *Store) listLore(ctx context.Context, playerID, sessionID uuid.UUID) ([]LoreEntry, error) {
	if _, err := memberRole(ctx, s.pool, sessionID, playerID); err != nil {
		return nil, err
	}
	out, err := collectLore(s.pool.Query(ctx, `SELECT `+loreCols+` FROM game.lore_entries l
		WHERE l.session_id = $1 ORDER BY l.created_at, l.id`, sessionID))
	return out, postgres.Translate(err, "lore entry")
}

// ownsLore answers not_found when the player is not a member of the lore
// entry's session and forbidden when they are a member but not its owner.
func (s *Store) ownsLore(ctx context.Context, playerID, id uuid.UUID) error {
	var role string
	err := s.pool.QueryRow(ctx, `SELECT m.role FROM game.lore_entries l
		JOIN game.session_members m ON m.session_id = l.session_id AND m.player_id = $2
		WHERE l.id = $1`, id, playerID).Scan(&role)
	if err != nil {
		return postgres.Translate(err, "lore entry")
	}
	if role != RoleOwner {
		return apperr.New(apperr.Forbidden, "only the session's owner may change its lore")
	}
	return nil
}

func (s *Store) getLore(ctx context.Context, playerID, id uuid.UUID) (LoreEntry, error) {
	e, err := scanLore(s.pool.QueryRow(ctx, `SELECT `+loreCols+` FROM game.lore_entries l
		JOIN game.session_members m ON m.session_id = l.session_id AND m.player_id = $2
		WHERE l.id = $1`, id, playerID))
	return e, postgres.Translate(err, "lore entry")
}

func (s *Store) updateLore(ctx context.Context, playerID, id uuid.UUID, e LoreEntry) (LoreEntry, error) {
	if err := s.ownsLore(ctx, playerID, id); err != nil {
		return e, err
	}
	keys, err := json.Marshal(e.Keys)
	if err != nil {
		return e, err
	}
	out, err := scanLore(s.pool.QueryRow(ctx, `UPDATE game.lore_entries l
		SET title = $3, keys = $4, content = $5, always = $6, enabled = $7, updated_at = now()
		FROM game.sessions s
		WHERE l.id = $1 AND s.id = l.session_id AND s.owner_id = $2
		RETURNING `+loreCols, id, playerID, e.Title, string(keys), e.Content, e.Always, e.Enabled))
	if err != nil {
		return out, postgres.Translate(err, "lore entry")
	}
	return out, s.invalidate(ctx, out.SessionID, hotLore)
}

func (s *Store) deleteLore(ctx context.Context, playerID, id uuid.UUID) error {
	if err := s.ownsLore(ctx, playerID, id); err != nil {
		return err
	}
	var sessionID uuid.UUID
	err := s.pool.QueryRow(ctx, `DELETE FROM game.lore_entries l USING game.sessions s
		WHERE l.id = $1 AND s.id = l.session_id AND s.owner_id = $2
		RETURNING l.session_id`, id, playerID).Scan(&sessionID)
	if err != nil {
		return postgres.Translate(err, "lore entry") // no rows: not_found
	}
	return s.invalidate(ctx, sessionID, hotLore)
}

// SessionLore returns the enabled lore entries of a turn's session, in
// creation order (the retrieve stage's tie-break order).
// Through the hot cache when the store has one.
func (s *Store) SessionLore(ctx context.Context, sessionID uuid.UUID) ([]lore.Entry, error) {
	if s.hot != nil {
		return s.cachedLore(ctx, sessionID)
	}
	return s.sessionLoreFromDB(ctx, sessionID)
}

func (s *Store) sessionLoreFromDB(ctx context.Context, sessionID uuid.UUID) ([]lore.Entry, error) {
	list, err := collectLore(s.pool.Query(ctx, `SELECT `+loreCols+` FROM game.lore_entries l
		WHERE l.session_id = $1 AND l.enabled ORDER BY l.created_at, l.id`, sessionID))
	if err != nil {
		return nil, postgres.Translate(err, "lore entry")
	}
	out := make([]lore.Entry, len(list))
	for i, e := range list {
		out[i] = e.Entry
	}
	return out, nil
}
