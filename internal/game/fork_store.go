package game

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// A fork copies (docs/STORY.md "Why copy on fork"): the new session's rows
// are the original's up to the fork's message, each under a new id derived
// from the new session's id and the old id (md5 of the two as a uuid), so
// references between the copied rows (a message's turn, a turn's
// messages, a roll's turn) are rewritten without a lookup table, every
// table in one INSERT … SELECT.

const (
	// $1 source session, $2 new session, $3 the fork message's seq.
	forkMessagesSQL = `INSERT INTO game.messages (id, session_id, turn_id, role, author_id, content, partial, token_count, created_at, visibility, private_to)
		SELECT md5($2::text || m.id::text)::uuid, $2, md5($2::text || m.turn_id::text)::uuid,
			m.role, m.author_id, m.content, m.partial, m.token_count, m.created_at, m.visibility, m.private_to
		FROM game.messages m WHERE m.session_id = $1 AND m.seq <= $3 ORDER BY m.seq`
	// Turns whose player message was copied; their reply only if it was.
	forkTurnsSQL = `INSERT INTO game.turns (id, session_id, player_id, player_message_id, dm_message_id, status, seed,
			provider, model, error_code, error_message, context, prompt_tokens, completion_tokens, attempts,
			cancel_requested_at, created_at, updated_at, embed_started_at, embed_ended_at, retrieve_started_at,
			retrieve_ended_at, generate_started_at, generate_ended_at, finished_at, dice_seed, dice_commitment, private_to)
		SELECT md5($2::text || t.id::text)::uuid, $2, t.player_id, md5($2::text || t.player_message_id::text)::uuid,
			CASE WHEN dm.seq <= $3 THEN md5($2::text || t.dm_message_id::text)::uuid END,
			t.status, t.seed, t.provider, t.model, t.error_code, t.error_message, t.context, t.prompt_tokens,
			t.completion_tokens, t.attempts, t.cancel_requested_at, t.created_at, t.updated_at, t.embed_started_at,
			t.embed_ended_at, t.retrieve_started_at, t.retrieve_ended_at, t.generate_started_at, t.generate_ended_at,
			t.finished_at, t.dice_seed, t.dice_commitment, t.private_to
		FROM game.turns t JOIN game.messages pm ON pm.id = t.player_message_id
		LEFT JOIN game.messages dm ON dm.id = t.dm_message_id
		WHERE t.session_id = $1 AND pm.seq <= $3 AND (t.dm_message_id IS NULL OR dm.seq IS NOT NULL)`
	// $3 the fork's character (NULL: none).
	forkRollsSQL = `INSERT INTO game.rolls (id, session_id, turn_id, actor, player_id, character_id, idx, roll, created_at)
		SELECT md5($2::text || r.id::text)::uuid, $2, nt.id, r.actor, r.player_id,
			CASE WHEN r.character_id IS NOT NULL THEN $3::uuid END, r.idx, r.roll, r.created_at
		FROM game.rolls r JOIN game.turns nt ON nt.id = md5($2::text || r.turn_id::text)::uuid
		WHERE r.session_id = $1 AND r.turn_id IS NOT NULL`
	// The changes of the copied turns whose reply was copied, onto the
	// fork's own character, so an undo in the fork can revert them.
	forkChangesSQL = `INSERT INTO game.character_changes (id, character_id, turn_id, session_id, at, path, from_value, to_value, reason)
		SELECT md5($2::text || cc.id::text)::uuid, $3::uuid, nt.id, $2, cc.at, cc.path, cc.from_value, cc.to_value, cc.reason
		FROM game.character_changes cc JOIN game.turns nt ON nt.id = md5($2::text || cc.turn_id::text)::uuid
		WHERE cc.session_id = $1 AND cc.turn_id IS NOT NULL AND nt.dm_message_id IS NOT NULL AND $3::uuid IS NOT NULL
		ORDER BY cc.seq`
	forkLoreSQL = `INSERT INTO game.lore_entries (id, session_id, title, keys, content, always, enabled, created_at, updated_at)
		SELECT md5($2::text || l.id::text)::uuid, $2, l.title, l.keys, l.content, l.always, l.enabled, l.created_at, l.updated_at
		FROM game.lore_entries l WHERE l.session_id = $1`
	// The summary only when it tells no more than the fork's history.
	forkSummarySQL = `INSERT INTO game.session_summaries (session_id, content, owner_text, through_message_id, edited, updated_at)
		SELECT $2, s.content, s.owner_text, md5($2::text || s.through_message_id::text)::uuid, s.edited, s.updated_at
		FROM game.session_summaries s JOIN game.messages m ON m.id = s.through_message_id
		WHERE s.session_id = $1 AND m.seq <= $3`
)

// ForkInput is a fork's request: the message to fork at and a title.
type ForkInput struct {
	AtMessageID *uuid.UUID `json:"at_message_id"`
	Title       *string    `json:"title"`
}

// fork copies a session the player owns into a new one, up to and
// including the message at: its messages, turns, rolls and changes, its
// lore and summary, and its character as of that message. The messages'
// vectors are copied afterwards, by the session-embedding task
// (CopyForkVectors): an HNSW insert costs about 3 ms on PGlite, so copying
// a thousand of them here would make the fork take seconds
// (docs/STORY.md).
func (s *Store) fork(ctx context.Context, playerID, sessionID, at uuid.UUID, title *string, ns Session, seed openSeed, maxSessions int) (Session, error) {
	var out Session
	err := s.Tx(ctx, func(q querier) error {
		if err := lockStorySession(ctx, q, playerID, sessionID); err != nil {
			return err
		}
		src, err := s.getSession(ctx, q, playerID, sessionID)
		if err != nil {
			return err
		}
		var seq int64
		err = q.QueryRow(ctx, `SELECT seq FROM game.messages WHERE id = $1 AND session_id = $2`, at, sessionID).Scan(&seq)
		if err == pgx.ErrNoRows {
			return apperr.Invalidf("at_message_id", "is not a message of this session")
		}
		if err != nil {
			return err
		}
		if err := underCap(ctx, q, "game.sessions", "owner_id", playerID, maxSessions, apperr.TooManySessions, "sessions"); err != nil {
			return err
		}
		ns.Title = src.Title
		if title != nil {
			ns.Title = *title
		}
		if src.CharacterID != nil {
			id, err := forkCharacter(ctx, q, *src.CharacterID, at)
			if err != nil {
				return err
			}
			ns.CharacterID = id
		}
		out, err = scanSession(q.QueryRow(ctx, `INSERT INTO game.sessions AS s
				(id, owner_id, title, character_id, forked_from_session_id, forked_at_message_id)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+sessionCols, ns.ID, playerID, ns.Title, ns.CharacterID, sessionID, at))
		if err != nil {
			return err
		}
		// The owner plays the fork's copy of the character (party play: the
		// engine acts on the acting member's character).
		if _, err := q.Exec(ctx, `INSERT INTO game.session_members (session_id, player_id, role, character_id) VALUES ($1, $2, 'owner', $3)`, ns.ID, playerID, ns.CharacterID); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO game.dice_seeds (id, session_id, seed, commitment) VALUES ($1, $2, $3, $4)`,
			seed.ID, ns.ID, seed.Seed[:], seed.Seed.Commitment()); err != nil {
			return err
		}
		c := seed.Seed.Commitment()
		out.DiceCommitment = &c
		for _, sql := range []string{forkMessagesSQL, forkTurnsSQL, forkSummarySQL} {
			if _, err := q.Exec(ctx, sql, sessionID, ns.ID, seq); err != nil {
				return err
			}
		}
		for _, sql := range []string{forkRollsSQL, forkChangesSQL} {
			if _, err := q.Exec(ctx, sql, sessionID, ns.ID, ns.CharacterID); err != nil {
				return err
			}
		}
		_, err = q.Exec(ctx, forkLoreSQL, sessionID, ns.ID)
		return err
	})
	return out, postgres.Translate(err, "session")
}

// forkCharacter copies a character with its sheet as of the message at:
// the changes recorded after that message (in any session: the sheet is
// the character's) are restored, newest first. A turn's changes are
// stored in the transaction that stores its reply, with the same now(),
// so a change belongs to the history up to a message exactly when its
// time is not after the message's.
func forkCharacter(ctx context.Context, q querier, characterID, at uuid.UUID) (*uuid.UUID, error) {
	c, err := scanCharacter(q.QueryRow(ctx, `SELECT `+characterCols+` FROM game.characters WHERE id = $1`, characterID))
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	later, err := collectChanges(q.Query(ctx, `SELECT `+changeCols+` FROM game.character_changes cc
		WHERE cc.character_id = $1 AND cc.at > (SELECT created_at FROM game.messages WHERE id = $2)
		ORDER BY cc.seq`, characterID, at))
	if err != nil {
		return nil, err
	}
	cs := make([]rules.Change, len(later))
	for i, ch := range later {
		cs[i] = ch.Change
	}
	sheet := rules.Restore(c.Sheet, cs)
	b, err := json.Marshal(sheet)
	if err != nil {
		return nil, err
	}
	id := uuid.Must(uuid.NewV7())
	_, err = q.Exec(ctx, `INSERT INTO game.characters (id, player_id, name, class, level, sheet, portrait_asset_id, card)
		SELECT $1, player_id, name, class, greatest(1, least(20, $3::int)), $4, portrait_asset_id, card FROM game.characters WHERE id = $2`,
		id, characterID, sheet.Level, string(b))
	return &id, err
}

// forkVectorsSQL copies up to $2 vectors of a fork's ($1) messages from
// the session it was forked from, where the copy of message x is
// md5(fork id || x) (forkMessagesSQL).
const forkVectorsSQL = `WITH src AS (
		SELECT e.model, md5($1::text || e.message_id::text)::uuid AS id, e.embedding, e.created_at
		FROM game.message_embeddings e
		WHERE e.session_id = (SELECT forked_from_session_id FROM game.sessions WHERE id = $1)
	)
	INSERT INTO game.message_embeddings (model, message_id, session_id, embedding, created_at)
	SELECT src.model, src.id, $1, src.embedding, src.created_at FROM src
	WHERE EXISTS (SELECT 1 FROM game.messages m WHERE m.id = src.id)
	  AND NOT EXISTS (SELECT 1 FROM game.message_embeddings x WHERE x.model = src.model AND x.message_id = src.id)
	LIMIT $2
	ON CONFLICT (model, message_id) DO NOTHING`

// CopyForkVectors copies up to limit of a forked session's missing
// vectors from its origin and returns how many; 0 when none is left to
// copy (or the session is no fork, or its origin is gone: its messages are
// then embedded afresh).
func (s *Store) CopyForkVectors(ctx context.Context, sessionID uuid.UUID, limit int) (int, error) {
	tag, err := s.pool.Exec(ctx, forkVectorsSQL, sessionID, limit)
	if err != nil {
		return 0, postgres.Translate(err, "embedding")
	}
	return int(tag.RowsAffected()), nil
}
