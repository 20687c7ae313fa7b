package game

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store is the hand-written SQL of the game schema. Every method that takes
// a playerID returns not_found for rows the player may not see.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Tx runs fn in a transaction.
func (s *Store) Tx(ctx context.Context, fn func(q querier) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(tx) })
}

// --- characters

const characterCols = `id, player_id, name, class, level, sheet, portrait_asset_id, created_at, updated_at`

func scanCharacter(row pgx.Row) (Character, error) {
	var c Character
	var sheet []byte
	err := row.Scan(&c.ID, &c.PlayerID, &c.Name, &c.Class, &c.Level, &sheet, &c.PortraitAssetID, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(sheet, &c.Sheet); err != nil {
		return c, fmt.Errorf("character %s: sheet: %w", c.ID, err)
	}
	return c, nil
}

func (s *Store) insertCharacter(ctx context.Context, c Character) (Character, error) {
	sheet, err := json.Marshal(c.Sheet)
	if err != nil {
		return c, err
	}
	out, err := scanCharacter(s.pool.QueryRow(ctx, `
		INSERT INTO game.characters (id, player_id, name, class, level, sheet)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+characterCols, c.ID, c.PlayerID, c.Name, c.Class, c.Level, string(sheet)))
	return out, postgres.Translate(err, "character")
}

func (s *Store) listCharacters(ctx context.Context, playerID uuid.UUID) ([]Character, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+characterCols+` FROM game.characters
		WHERE player_id = $1 ORDER BY created_at, id LIMIT 500`, playerID)
	if err != nil {
		return nil, postgres.Translate(err, "characters")
	}
	defer rows.Close()
	out := []Character{}
	for rows.Next() {
		c, err := scanCharacter(rows)
		if err != nil {
			return nil, postgres.Translate(err, "characters")
		}
		out = append(out, c)
	}
	return out, postgres.Translate(rows.Err(), "characters")
}

func (s *Store) getCharacter(ctx context.Context, q querier, playerID, id uuid.UUID) (Character, error) {
	c, err := scanCharacter(q.QueryRow(ctx, `SELECT `+characterCols+` FROM game.characters
		WHERE id = $1 AND player_id = $2`, id, playerID))
	return c, postgres.Translate(err, "character")
}

func (s *Store) updateCharacter(ctx context.Context, c Character) (Character, error) {
	sheet, err := json.Marshal(c.Sheet)
	if err != nil {
		return c, err
	}
	out, err := scanCharacter(s.pool.QueryRow(ctx, `
		UPDATE game.characters SET name = $3, class = $4, level = $5, sheet = $6, portrait_asset_id = $7, updated_at = now()
		WHERE id = $1 AND player_id = $2
		RETURNING `+characterCols, c.ID, c.PlayerID, c.Name, c.Class, c.Level, string(sheet), c.PortraitAssetID))
	return out, postgres.Translate(err, "character")
}

func (s *Store) deleteCharacter(ctx context.Context, playerID, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM game.characters WHERE id = $1 AND player_id = $2`, id, playerID)
	if err != nil {
		return postgres.Translate(err, "character")
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFoundf("character")
	}
	return nil
}

// --- sessions

const sessionCols = `s.id, s.owner_id, s.title, s.character_id, s.created_at, s.updated_at`

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.OwnerID, &s.Title, &s.CharacterID, &s.CreatedAt, &s.UpdatedAt)
	return s, err
}

func (s *Store) insertSession(ctx context.Context, in Session) (Session, error) {
	var out Session
	err := s.Tx(ctx, func(q querier) error {
		var err error
		out, err = scanSession(q.QueryRow(ctx, `
			INSERT INTO game.sessions AS s (id, owner_id, title, character_id) VALUES ($1, $2, $3, $4)
			RETURNING `+sessionCols, in.ID, in.OwnerID, in.Title, in.CharacterID))
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `INSERT INTO game.session_members (session_id, player_id, role) VALUES ($1, $2, 'owner')`, in.ID, in.OwnerID)
		return err
	})
	return out, postgres.Translate(err, "session")
}

func (s *Store) listSessions(ctx context.Context, playerID uuid.UUID) ([]Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM game.sessions s
		JOIN game.session_members m ON m.session_id = s.id AND m.player_id = $1
		ORDER BY s.created_at DESC, s.id LIMIT 500`, playerID)
	if err != nil {
		return nil, postgres.Translate(err, "sessions")
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, postgres.Translate(err, "sessions")
		}
		out = append(out, ss)
	}
	return out, postgres.Translate(rows.Err(), "sessions")
}

// getSession returns a session the player is a member of.
func (s *Store) getSession(ctx context.Context, q querier, playerID, id uuid.UUID) (Session, error) {
	out, err := scanSession(q.QueryRow(ctx, `SELECT `+sessionCols+` FROM game.sessions s
		JOIN game.session_members m ON m.session_id = s.id AND m.player_id = $2
		WHERE s.id = $1`, id, playerID))
	return out, postgres.Translate(err, "session")
}

func (s *Store) deleteSession(ctx context.Context, playerID, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM game.sessions WHERE id = $1 AND owner_id = $2`, id, playerID)
	if err != nil {
		return postgres.Translate(err, "session")
	}
	if tag.RowsAffected() == 0 {
		return apperr.NotFoundf("session")
	}
	return nil
}

// --- messages

const messageCols = `id, session_id, role, content, turn_id, author_id, created_at, seq`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.SessionID, &m.Role, &m.Content, &m.TurnID, &m.AuthorID, &m.CreatedAt, &m.Seq)
	return m, err
}

func collectMessages(rows pgx.Rows, err error) ([]Message, error) {
	if err != nil {
		return nil, postgres.Translate(err, "messages")
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, postgres.Translate(err, "messages")
		}
		out = append(out, m)
	}
	return out, postgres.Translate(rows.Err(), "messages")
}

// listMessages returns up to limit messages before the message `before`
// (nil = the newest), newest first.
func (s *Store) listMessages(ctx context.Context, sessionID uuid.UUID, before *uuid.UUID, limit int) ([]Message, error) {
	if before == nil {
		return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages
			WHERE session_id = $1 ORDER BY seq DESC LIMIT $2`, sessionID, limit))
	}
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM game.messages WHERE id = $1 AND session_id = $2`, *before, sessionID).Scan(&seq)
	if err != nil {
		if err == pgx.ErrNoRows {
			return nil, apperr.Invalidf("before", "is not a message of this session")
		}
		return nil, postgres.Translate(err, "message")
	}
	return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE session_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, sessionID, seq, limit))
}

// GetMessage returns one message by id.
func (s *Store) GetMessage(ctx context.Context, id uuid.UUID) (Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM game.messages WHERE id = $1`, id))
	return m, postgres.Translate(err, "message")
}

// RecentMessages returns the last n messages of a session before seq (oldest first).
func (s *Store) RecentMessages(ctx context.Context, sessionID uuid.UUID, beforeSeq int64, n int) ([]Message, error) {
	msgs, err := collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE session_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, sessionID, beforeSeq, n))
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, nil
}

// MessagesByID returns the messages with the given ids in the session.
func (s *Store) MessagesByID(ctx context.Context, sessionID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Message, error) {
	msgs, err := collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE session_id = $1 AND id = ANY($2::uuid[])`, sessionID, uuidTexts(ids)))
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]Message, len(msgs))
	for _, m := range msgs {
		out[m.ID] = m
	}
	return out, nil
}

// --- turns

const turnCols = `t.id, t.session_id, t.player_id, t.player_message_id, t.dm_message_id, t.status,
	t.error_code, t.error_message, t.provider, t.model, t.seed, t.attempts, t.context,
	t.prompt_tokens, t.completion_tokens, t.idempotency_key, t.created_at, t.updated_at,
	t.embed_started_at, t.embed_ended_at, t.retrieve_started_at, t.retrieve_ended_at,
	t.generate_started_at, t.generate_ended_at, t.finished_at`

func scanTurn(row pgx.Row) (Turn, error) {
	var t Turn
	var code, msg, provider, model *string
	var ctxJSON []byte
	err := row.Scan(&t.ID, &t.SessionID, &t.PlayerID, &t.PlayerMessageID, &t.DMMessageID, &t.Status,
		&code, &msg, &provider, &model, &t.Seed, &t.Attempts, &ctxJSON,
		&t.PromptTokens, &t.CompletionTokens, &t.IdempotencyKey, &t.CreatedAt, &t.UpdatedAt,
		&t.Timings.EmbedStartedAt, &t.Timings.EmbedEndedAt, &t.Timings.RetrieveStartedAt, &t.Timings.RetrieveEndedAt,
		&t.Timings.GenerateStartedAt, &t.Timings.GenerateEndedAt, &t.Timings.FinishedAt)
	if err != nil {
		return t, err
	}
	if code != nil {
		t.Error = &TurnError{Code: *code}
		if msg != nil {
			t.Error.Message = *msg
		}
	}
	if provider != nil {
		t.Provider = *provider
	}
	if model != nil {
		t.Model = *model
	}
	if len(ctxJSON) > 0 {
		if err := json.Unmarshal(ctxJSON, &t.Context); err != nil {
			return t, fmt.Errorf("turn %s: context: %w", t.ID, err)
		}
	}
	return t, nil
}

// GetTurn returns a turn by id (no access check: for workers).
func (s *Store) GetTurn(ctx context.Context, id uuid.UUID) (Turn, error) {
	t, err := scanTurn(s.pool.QueryRow(ctx, `SELECT `+turnCols+` FROM game.turns t WHERE t.id = $1`, id))
	return t, postgres.Translate(err, "turn")
}

// getTurnFor returns a turn of a session the player is a member of.
func (s *Store) getTurnFor(ctx context.Context, playerID, id uuid.UUID) (Turn, error) {
	t, err := scanTurn(s.pool.QueryRow(ctx, `SELECT `+turnCols+` FROM game.turns t
		JOIN game.session_members m ON m.session_id = t.session_id AND m.player_id = $2
		WHERE t.id = $1`, id, playerID))
	return t, postgres.Translate(err, "turn")
}

func (s *Store) turnByIdempotencyKey(ctx context.Context, q querier, sessionID, playerID uuid.UUID, key string) (Turn, error) {
	t, err := scanTurn(q.QueryRow(ctx, `SELECT `+turnCols+` FROM game.turns t
		WHERE t.session_id = $1 AND t.player_id = $2 AND t.idempotency_key = $3`, sessionID, playerID, key))
	return t, postgres.Translate(err, "turn")
}

// insertTurn writes the player message and its turn in one transaction.
// A concurrent duplicate Idempotency-Key loses with a conflict.
func (s *Store) insertTurn(ctx context.Context, m Message, t Turn, maxInFlight int) (Message, Turn, error) {
	var outM Message
	var outT Turn
	err := s.Tx(ctx, func(q querier) error {
		if err := checkInFlight(ctx, q, t.PlayerID, maxInFlight); err != nil {
			return err
		}
		var err error
		outM, err = scanMessage(q.QueryRow(ctx, `
			INSERT INTO game.messages (id, session_id, turn_id, role, author_id, content, token_count)
			VALUES ($1, $2, $3, 'player', $4, $5, $6)
			RETURNING `+messageCols, m.ID, m.SessionID, m.TurnID, m.AuthorID, m.Content, 0))
		if err != nil {
			return err
		}
		outT, err = scanTurn(q.QueryRow(ctx, `
			INSERT INTO game.turns AS t (id, session_id, player_id, player_message_id, idempotency_key, seed, status)
			VALUES ($1, $2, $3, $4, $5, $6, 'queued')
			RETURNING `+turnCols, t.ID, t.SessionID, t.PlayerID, outM.ID, t.IdempotencyKey, t.Seed))
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE game.sessions SET updated_at = now() WHERE id = $1`, m.SessionID)
		return err
	})
	return outM, outT, postgres.Translate(err, "turn")
}

// Advance moves a turn into status `to` if it is currently in one of
// `from`, stamping the stage's start time once. It reports false when the
// turn is elsewhere (a task run twice, or a turn already final), and
// whether the status really changed (false on a retry of the same stage).
func (s *Store) Advance(ctx context.Context, id uuid.UUID, to string, from ...string) (t Turn, ok, changed bool, err error) {
	col := map[string]string{
		StatusEmbedding:  "embed_started_at",
		StatusRetrieving: "retrieve_started_at",
		StatusGenerating: "generate_started_at",
	}[to]
	if col == "" {
		return Turn{}, false, false, fmt.Errorf("advance: no stage %q", to)
	}
	var prev string
	row := s.pool.QueryRow(ctx, `WITH old AS (SELECT status FROM game.turns WHERE id = $1 FOR UPDATE)
		UPDATE game.turns t SET status = $2,
			`+col+` = coalesce(t.`+col+`, now()), updated_at = now(),
			attempts = t.attempts + CASE WHEN $2 = 'generating' THEN 1 ELSE 0 END
		FROM old
		WHERE t.id = $1 AND t.status = ANY($3)
		RETURNING `+turnCols+`, old.status`, id, to, from)
	t, err = scanTurn(rowWithExtra{row, &prev})
	if err == pgx.ErrNoRows {
		return Turn{}, false, false, nil
	}
	if err != nil {
		return Turn{}, false, false, postgres.Translate(err, "turn")
	}
	return t, true, prev != to, nil
}

// rowWithExtra scans a turn followed by extra columns.
type rowWithExtra struct {
	row   pgx.Row
	extra *string
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }

// EndStage stamps the end time of a stage.
func (s *Store) EndStage(ctx context.Context, id uuid.UUID, stage string) error {
	col := map[string]string{
		StatusEmbedding:  "embed_ended_at",
		StatusRetrieving: "retrieve_ended_at",
		StatusGenerating: "generate_ended_at",
	}[stage]
	if col == "" {
		return fmt.Errorf("end stage: no stage %q", stage)
	}
	_, err := s.pool.Exec(ctx, `UPDATE game.turns SET `+col+` = now(), updated_at = now() WHERE id = $1`, id)
	return postgres.Translate(err, "turn")
}

// SetTokenCount records a message's estimated token count.
func (s *Store) SetTokenCount(ctx context.Context, messageID uuid.UUID, tokens int) error {
	_, err := s.pool.Exec(ctx, `UPDATE game.messages SET token_count = $2 WHERE id = $1 AND token_count <> $2`, messageID, tokens)
	return postgres.Translate(err, "message")
}

// SetContext records what entered the turn's prompt.
func (s *Store) SetContext(ctx context.Context, id uuid.UUID, items []ContextItem) error {
	js, err := json.Marshal(items)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE game.turns SET context = $2, retrieve_ended_at = now(), updated_at = now() WHERE id = $1`, id, string(js))
	return postgres.Translate(err, "turn")
}

// Complete stores the DM's reply and ends the turn `completed`, in one
// transaction, only if the turn is still generating: a cancel that won the
// race leaves no DM message behind, and a second run writes nothing.
func (s *Store) Complete(ctx context.Context, t Turn, reply Message, provider, model string, promptTokens, completionTokens int) (Message, Turn, bool, error) {
	var outM Message
	var outT Turn
	done := false
	err := s.Tx(ctx, func(q querier) error {
		var err error
		outT, err = scanTurn(q.QueryRow(ctx, `UPDATE game.turns t SET status = 'completed', dm_message_id = $2,
				provider = $3, model = $4, prompt_tokens = $5, completion_tokens = $6,
				generate_ended_at = now(), finished_at = now(), updated_at = now()
			WHERE t.id = $1 AND t.status = 'generating'
			RETURNING `+turnCols, t.ID, reply.ID, provider, model, promptTokens, completionTokens))
		if err == pgx.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		outM, err = scanMessage(q.QueryRow(ctx, `
			INSERT INTO game.messages (id, session_id, turn_id, role, content, token_count)
			VALUES ($1, $2, $3, 'dm', $4, $5)
			RETURNING `+messageCols, reply.ID, t.SessionID, t.ID, reply.Content, completionTokens))
		if err != nil {
			return err
		}
		done = true
		return nil
	})
	if err != nil {
		return Message{}, Turn{}, false, postgres.Translate(err, "turn")
	}
	return outM, outT, done, nil
}

// Finish ends a turn as failed or cancelled if it is not final yet.
func (s *Store) Finish(ctx context.Context, id uuid.UUID, status string, terr *TurnError) (Turn, bool, error) {
	var code, msg *string
	if terr != nil {
		code, msg = &terr.Code, &terr.Message
	}
	cancelCol := ""
	if status == StatusCancelled {
		cancelCol = "cancel_requested_at = now(),"
	}
	t, err := scanTurn(s.pool.QueryRow(ctx, `UPDATE game.turns t SET status = $2, error_code = $3, error_message = $4,
			`+cancelCol+` finished_at = now(), updated_at = now()
		WHERE t.id = $1 AND t.status NOT IN ('completed', 'failed', 'cancelled')
		RETURNING `+turnCols, id, status, code, msg))
	if err == pgx.ErrNoRows {
		return Turn{}, false, nil
	}
	if err != nil {
		return Turn{}, false, postgres.Translate(err, "turn")
	}
	return t, true, nil
}

// StuckTurns returns unfinished turns not touched since `before`.
func (s *Store) StuckTurns(ctx context.Context, before time.Time, limit int) ([]Turn, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+turnCols+` FROM game.turns t
		WHERE t.status IN ('queued', 'embedding', 'retrieving', 'generating') AND t.updated_at < $1
		ORDER BY t.updated_at LIMIT $2`, before, limit)
	if err != nil {
		return nil, postgres.Translate(err, "turns")
	}
	defer rows.Close()
	var out []Turn
	for rows.Next() {
		t, err := scanTurn(rows)
		if err != nil {
			return nil, postgres.Translate(err, "turns")
		}
		out = append(out, t)
	}
	return out, postgres.Translate(rows.Err(), "turns")
}

// Touch marks a turn as recently handled (the sweeper's clock).
func (s *Store) Touch(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE game.turns SET updated_at = now() WHERE id = $1`, id)
	return postgres.Translate(err, "turn")
}

// TouchGenerating marks a generating turn alive; false when the turn is no
// longer generating.
func (s *Store) TouchGenerating(ctx context.Context, id uuid.UUID) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE game.turns SET updated_at = now() WHERE id = $1 AND status = 'generating'`, id)
	if err != nil {
		return false, postgres.Translate(err, "turn")
	}
	return tag.RowsAffected() == 1, nil
}

// SessionCharacter returns the character of a session (nil if none).
func (s *Store) SessionCharacter(ctx context.Context, sessionID uuid.UUID) (*Character, error) {
	c, err := scanCharacter(s.pool.QueryRow(ctx, `SELECT c.id, c.player_id, c.name, c.class, c.level, c.sheet,
			c.portrait_asset_id, c.created_at, c.updated_at
		FROM game.sessions s JOIN game.characters c ON c.id = s.character_id WHERE s.id = $1`, sessionID))
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, postgres.Translate(err, "character")
	}
	return &c, nil
}

// charSheet converts a stored character for the DM.
func (c *Character) forDM() *dm.Character {
	if c == nil {
		return nil
	}
	return &dm.Character{Name: c.Name, Class: c.Class, Level: c.Level, Sheet: c.Sheet}
}

// uuidTexts passes ids as text[]: under PGlite's exec mode pgx cannot
// encode a []uuid.UUID parameter without the server describing it.
func uuidTexts(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
