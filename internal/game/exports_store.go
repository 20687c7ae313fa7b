package game

import (
	"cmp"
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/export"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

const exportCols = `e.id, e.session_id, e.player_id, e.format, e.status, e.object_key, e.error, e.created_at, e.updated_at`

func scanExport(row pgx.Row) (Export, error) {
	var e Export
	err := row.Scan(&e.ID, &e.SessionID, &e.PlayerID, &e.Format, &e.Status, &e.objectKey, &e.Error, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

// insertExport records a pending export of a session the player is a
// member of (the export holds what that player may see).
func (s *Store) insertExport(ctx context.Context, playerID, sessionID uuid.UUID, format string) (Export, error) {
	e, err := scanExport(s.pool.QueryRow(ctx, `INSERT INTO game.exports AS e (id, session_id, player_id, format, status)
		SELECT $1, m.session_id, $3, $4, 'pending' FROM game.session_members m WHERE m.session_id = $2 AND m.player_id = $3
		RETURNING `+exportCols, uuid.Must(uuid.NewV7()), sessionID, playerID, format))
	return e, postgres.Translate(err, "session")
}

func (s *Store) getExport(ctx context.Context, playerID, id uuid.UUID) (Export, error) {
	e, err := scanExport(s.pool.QueryRow(ctx, `SELECT `+exportCols+` FROM game.exports e WHERE e.id = $1 AND e.player_id = $2`, id, playerID))
	return e, postgres.Translate(err, "export")
}

func (s *Store) exportByID(ctx context.Context, id uuid.UUID) (Export, error) {
	e, err := scanExport(s.pool.QueryRow(ctx, `SELECT `+exportCols+` FROM game.exports e WHERE e.id = $1`, id))
	return e, postgres.Translate(err, "export")
}

func (s *Store) finishExport(ctx context.Context, id uuid.UUID, status string, key, reason *string) error {
	_, err := s.pool.Exec(ctx, `UPDATE game.exports SET status = $2, object_key = $3, error = $4, updated_at = now()
		WHERE id = $1 AND status = 'pending'`, id, status, key, reason)
	return postgres.Translate(err, "export")
}

// exportDocument reads what an export holds: the session, its messages in
// order with their authors' display names (public ones and the viewer's
// whispers only), its lore and its summary.
func (s *Store) exportDocument(ctx context.Context, sessionID, viewerID uuid.UUID) (export.Document, error) {
	var d export.Document
	var sid uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT id, title, created_at FROM game.sessions WHERE id = $1`, sessionID).
		Scan(&sid, &d.Session.Title, &d.Session.CreatedAt)
	if err != nil {
		return d, postgres.Translate(err, "session")
	}
	d.Session.ID = sid.String()
	rows, err := s.pool.Query(ctx, `SELECT m.id, m.role, coalesce(p.display_name, ''), m.content, m.created_at, m.visibility,
			coalesce(pt.display_name, '')
		FROM game.messages m LEFT JOIN auth.players p ON p.id = m.author_id
		LEFT JOIN auth.players pt ON pt.id = m.private_to
		WHERE m.session_id = $1 AND `+visibleTo("m", "$3")+` ORDER BY m.seq LIMIT $2`, sessionID, export.MaxMessages, viewerID)
	if err != nil {
		return d, postgres.Translate(err, "message")
	}
	defer rows.Close()
	d.Messages = []export.Message{}
	for rows.Next() {
		var m export.Message
		var id uuid.UUID
		var whisperer string
		if err := rows.Scan(&id, &m.Role, &m.Author, &m.Content, &m.CreatedAt, &m.Visibility, &whisperer); err != nil {
			return d, err
		}
		m.ID = id.String()
		if m.Visibility == export.VisibilityPrivate {
			// A whisper goes to the DM; the DM's answer to its player.
			m.To = []string{"DM"}
			if m.Role != RolePlayer {
				m.To = []string{cmp.Or(whisperer, "player")}
			}
		}
		if m.Role != RolePlayer {
			m.Author = ""
		}
		d.Messages = append(d.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return d, err
	}
	if d.Rolls, err = s.exportRolls(ctx, sessionID); err != nil {
		return d, err
	}
	if d.SheetChanges, err = s.exportChanges(ctx, sessionID); err != nil {
		return d, err
	}
	lore, err := collectLore(s.pool.Query(ctx, `SELECT `+loreCols+` FROM game.lore_entries l
		WHERE l.session_id = $1 ORDER BY l.created_at, l.id`, sessionID))
	if err != nil {
		return d, postgres.Translate(err, "lore entry")
	}
	for _, e := range lore {
		d.Lore = append(d.Lore, e.Entry)
	}
	var sum export.Summary
	var through *uuid.UUID
	err = s.pool.QueryRow(ctx, `SELECT content, through_message_id, updated_at FROM game.session_summaries WHERE session_id = $1`, sessionID).
		Scan(&sum.Content, &through, &sum.UpdatedAt)
	switch {
	case err == pgx.ErrNoRows:
	case err != nil:
		return d, postgres.Translate(err, "summary")
	case through != nil:
		sum.ThroughMessageID = through.String()
		d.Summary = &sum
	}
	return d, nil
}

// exportRolls reads a session's rolls in order, each with the message it
// belongs to: a turn's DM reply (its player message when it has none), or
// for a player's own roll the message written with it (the latest message
// at its time). A roll with no message (none can be found) is left out.
func (s *Store) exportRolls(ctx context.Context, sessionID uuid.UUID) ([]export.Roll, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.actor, coalesce(c.name, ''), r.roll,
			coalesce(t.dm_message_id, t.player_message_id, (SELECT m.id FROM game.messages m
				WHERE m.session_id = r.session_id AND m.created_at <= r.created_at ORDER BY m.seq DESC LIMIT 1))
		FROM game.rolls r
		LEFT JOIN game.turns t ON t.id = r.turn_id
		LEFT JOIN game.characters c ON c.id = r.character_id
		WHERE r.session_id = $1 ORDER BY r.created_at, r.idx LIMIT $2`, sessionID, export.MaxRolls)
	if err != nil {
		return nil, postgres.Translate(err, "roll")
	}
	defer rows.Close()
	out := []export.Roll{}
	for rows.Next() {
		var r export.Roll
		var body []byte
		var msg *uuid.UUID
		if err := rows.Scan(&r.Actor, &r.Character, &body, &msg); err != nil {
			return nil, postgres.Translate(err, "roll")
		}
		if msg == nil {
			continue
		}
		if err := json.Unmarshal(body, &r.Roll); err != nil {
			return nil, err
		}
		r.MessageID = msg.String()
		out = append(out, r)
	}
	return out, postgres.Translate(rows.Err(), "roll")
}

// exportChanges reads the sheet changes the session's turns made, in
// order, each with its turn's DM reply (or player message).
func (s *Store) exportChanges(ctx context.Context, sessionID uuid.UUID) ([]export.SheetChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.name, cc.at, cc.path, cc.from_value, cc.to_value, cc.reason,
			coalesce(t.dm_message_id, t.player_message_id)
		FROM game.character_changes cc
		JOIN game.characters c ON c.id = cc.character_id
		JOIN game.turns t ON t.id = cc.turn_id
		WHERE cc.session_id = $1 ORDER BY cc.seq LIMIT $2`, sessionID, export.MaxSheetChanges)
	if err != nil {
		return nil, postgres.Translate(err, "change")
	}
	defer rows.Close()
	out := []export.SheetChange{}
	for rows.Next() {
		var c export.SheetChange
		var msg uuid.UUID
		if err := rows.Scan(&c.Character, &c.At, &c.Path, &c.From, &c.To, &c.Reason, &msg); err != nil {
			return nil, postgres.Translate(err, "change")
		}
		c.MessageID = msg.String()
		out = append(out, c)
	}
	return out, postgres.Translate(rows.Err(), "change")
}
