package game

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// summarySelectionSQL is THE selection of the messages a rolling summary
// takes in next, oldest first: those of session $1 after the one the
// summary covers through (seq $2; 0 from the start) and older than the
// recent window (the newest $3 messages, which every prompt carries
// anyway), at most $4. Every read of what summaries cover goes through it
// (the summary task and the check whether one is due), so a filter added
// here applies everywhere — which messages a summary may see (whispers)
// and which history it follows (branches).
//
// A summary is the whole party's: whispers (private messages and the DM's
// private answers) never enter it. A player message is attributed to the
// character its author plays in the session, otherwise to the author's
// display name.
const summarySelectionSQL = `SELECT m.id, m.role, m.content, m.seq,
		coalesce(c.name, p.display_name, '')
	FROM game.messages m
	LEFT JOIN game.session_members sm ON sm.session_id = m.session_id AND sm.player_id = m.author_id
	LEFT JOIN game.characters c ON c.id = sm.character_id
	LEFT JOIN auth.players p ON p.id = m.author_id
	WHERE m.session_id = $1 AND m.seq > $2 AND m.visibility = 'public'
	  AND m.seq < coalesce((SELECT min(r.seq) FROM (SELECT seq FROM game.messages
			WHERE session_id = $1 ORDER BY seq DESC LIMIT $3) r), 9223372036854775807)
	ORDER BY m.seq LIMIT $4`

// summaryMessage is a message as the summary task reads it.
type summaryMessage struct {
	ID      uuid.UUID
	Role    string
	Content string
	Seq     int64
	Author  string
}

// SummaryMessages returns up to limit messages the session's summary does
// not cover yet (after throughSeq, older than the newest recentN).
func (s *Store) SummaryMessages(ctx context.Context, sessionID uuid.UUID, throughSeq int64, recentN, limit int) ([]summaryMessage, error) {
	rows, err := s.pool.Query(ctx, summarySelectionSQL, sessionID, throughSeq, recentN, limit)
	if err != nil {
		return nil, postgres.Translate(err, "message")
	}
	defer rows.Close()
	var out []summaryMessage
	for rows.Next() {
		var m summaryMessage
		if err := rows.Scan(&m.ID, &m.Role, &m.Content, &m.Seq, &m.Author); err != nil {
			return nil, postgres.Translate(err, "message")
		}
		out = append(out, m)
	}
	return out, postgres.Translate(rows.Err(), "message")
}

// summaryState is a session's summary row as the summary task reads it;
// Exists is false when the session has none yet.
type summaryState struct {
	Exists     bool
	Content    string
	OwnerText  string
	ThroughSeq int64 // 0 when it covers nothing (or its message is gone)
	UpdatedAt  time.Time
}

const summaryStateSQL = `SELECT sum.content, sum.owner_text, coalesce(m.seq, 0), sum.updated_at
	FROM game.session_summaries sum LEFT JOIN game.messages m ON m.id = sum.through_message_id
	WHERE sum.session_id = $1`

func (s *Store) summaryState(ctx context.Context, sessionID uuid.UUID) (summaryState, error) {
	var st summaryState
	err := s.pool.QueryRow(ctx, summaryStateSQL, sessionID).Scan(&st.Content, &st.OwnerText, &st.ThroughSeq, &st.UpdatedAt)
	switch {
	case err == pgx.ErrNoRows:
		return st, nil
	case err != nil:
		return st, postgres.Translate(err, "summary")
	}
	st.Exists = true
	return st, nil
}

// writeSummary stores the task's new summary if the row is still as the
// task read it (was): an owner's edit or another run in between wins, and
// the task reads again. It reports whether it wrote.
func (s *Store) writeSummary(ctx context.Context, sessionID uuid.UUID, was summaryState, content string, through uuid.UUID) (bool, error) {
	var tag interface{ RowsAffected() int64 }
	var err error
	if !was.Exists {
		tag, err = s.pool.Exec(ctx, `INSERT INTO game.session_summaries (session_id, content, through_message_id)
			SELECT id, $2, $3 FROM game.sessions WHERE id = $1
			ON CONFLICT (session_id) DO NOTHING`, sessionID, content, through)
	} else {
		tag, err = s.pool.Exec(ctx, `UPDATE game.session_summaries SET content = $2, through_message_id = $3, updated_at = clock_timestamp()
			WHERE session_id = $1 AND updated_at = $4`, sessionID, content, through, was.UpdatedAt)
	}
	if err != nil {
		return false, postgres.Translate(err, "summary")
	}
	return tag.RowsAffected() == 1, nil
}

// summaryDue reads the session of a turn and where its summary stands.
func (s *Store) summaryDue(ctx context.Context, turnID uuid.UUID) (uuid.UUID, int64, error) {
	var sessionID uuid.UUID
	var through int64
	err := s.pool.QueryRow(ctx, `SELECT t.session_id, coalesce((SELECT m.seq FROM game.session_summaries sum
			JOIN game.messages m ON m.id = sum.through_message_id WHERE sum.session_id = t.session_id), 0)
		FROM game.turns t WHERE t.id = $1`, turnID).Scan(&sessionID, &through)
	return sessionID, through, postgres.Translate(err, "turn")
}

const summaryCols = `sum.content, sum.through_message_id, sum.updated_at, sum.edited`

// memberSummary returns the summary of a session the player is a member
// of; nil when it has none yet.
func (s *Store) memberSummary(ctx context.Context, playerID, sessionID uuid.UUID) (*Summary, error) {
	var (
		found   bool
		content *string
		out     Summary
		edited  *bool
		updated *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT true, `+summaryCols+` FROM game.sessions s
		JOIN game.session_members mem ON mem.session_id = s.id AND mem.player_id = $2
		LEFT JOIN game.session_summaries sum ON sum.session_id = s.id
		WHERE s.id = $1`, sessionID, playerID).Scan(&found, &content, &out.ThroughMessageID, &updated, &edited)
	if err != nil {
		return nil, postgres.Translate(err, "session")
	}
	if content == nil {
		return nil, nil
	}
	out.Content, out.UpdatedAt, out.Edited = *content, *updated, *edited
	return &out, nil
}

// putSummary stores the owner's text as the session's summary (and as the
// part the task keeps); the messages it covers stay as they were.
func (s *Store) putSummary(ctx context.Context, playerID, sessionID uuid.UUID, content string) (*Summary, error) {
	if err := requireOwner(ctx, s.pool, sessionID, playerID); err != nil {
		return nil, err
	}
	var out Summary
	err := s.pool.QueryRow(ctx, `INSERT INTO game.session_summaries AS sum (session_id, content, owner_text, edited, updated_at)
		SELECT s.id, $3, $3, true, clock_timestamp() FROM game.sessions s WHERE s.id = $1 AND s.owner_id = $2
		ON CONFLICT (session_id) DO UPDATE SET content = excluded.content, owner_text = excluded.owner_text,
			edited = true, updated_at = clock_timestamp()
		RETURNING `+summaryCols, sessionID, playerID, content).Scan(&out.Content, &out.ThroughMessageID, &out.UpdatedAt, &out.Edited)
	if err != nil {
		return nil, postgres.Translate(err, "session")
	}
	return &out, nil
}

// deleteSummary removes the summary of a session the player owns (the
// task then summarises the history from the start).
func (s *Store) deleteSummary(ctx context.Context, playerID, sessionID uuid.UUID) error {
	if err := requireOwner(ctx, s.pool, sessionID, playerID); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM game.session_summaries WHERE session_id = $1`, sessionID)
	return postgres.Translate(err, "summary")
}
