package game

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/internal/rules"
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
	hot  HotCache // nil: every read from the database
}

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Tx runs fn in a transaction.
func (s *Store) Tx(ctx context.Context, fn func(q querier) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(tx) })
}

// --- characters

const characterCols = `id, player_id, name, class, level, sheet, portrait_asset_id, created_at, updated_at, sheet_version`

func scanCharacter(row pgx.Row) (Character, error) {
	var c Character
	var sheet []byte
	err := row.Scan(&c.ID, &c.PlayerID, &c.Name, &c.Class, &c.Level, &sheet, &c.PortraitAssetID, &c.CreatedAt, &c.UpdatedAt, &c.SheetVersion)
	if err != nil {
		return c, err
	}
	if c.Sheet, err = storedSheet(sheet); err != nil {
		return c, fmt.Errorf("character %s: sheet: %w", c.ID, err)
	}
	return c, nil
}

// underCap takes a transaction-scoped lock on the player's rows of table
// and refuses (409 code) when the player already owns max of them (0: no
// cap). Under the lock two concurrent creates cannot both see max-1.
func underCap(ctx context.Context, q querier, table, ownerCol string, playerID uuid.UUID, max int, code apperr.Code, what string) error {
	if max <= 0 {
		return nil
	}
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2::text, 0))`, table, playerID); err != nil {
		return err
	}
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+ownerCol+` = $1`, playerID).Scan(&n); err != nil {
		return err
	}
	if n >= max {
		return apperr.New(code, "you may have at most %d %s; delete one first", max, what)
	}
	return nil
}

func (s *Store) insertCharacter(ctx context.Context, c Character, max int) (out Character, err error) {
	err = s.Tx(ctx, func(q querier) error {
		if err := underCap(ctx, q, "game.characters", "player_id", c.PlayerID, max, apperr.TooManyCharacters, "characters"); err != nil {
			return err
		}
		out, err = s.insertCharacterRow(ctx, q, c)
		return err
	})
	return out, postgres.Translate(err, "character")
}

func (s *Store) insertCharacterRow(ctx context.Context, q querier, c Character) (Character, error) {
	sheet, err := json.Marshal(c.Sheet)
	if err != nil {
		return c, err
	}
	out, err := scanCharacter(q.QueryRow(ctx, `
		INSERT INTO game.characters (id, player_id, name, class, level, sheet)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+characterCols, c.ID, c.PlayerID, c.Name, c.Class, c.Level, string(sheet)))
	return out, postgres.Translate(err, "character")
}

// listCharacters reads up to limit of the player's characters, newest
// first, created before the character `before` (nil: from the newest).
func (s *Store) listCharacters(ctx context.Context, playerID uuid.UUID, before *uuid.UUID, limit int) ([]Character, error) {
	at, err := s.cursorAt(ctx, before, "is not one of your characters",
		`SELECT created_at FROM game.characters WHERE id = $1 AND player_id = $2`, playerID)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+characterCols+` FROM game.characters
		WHERE player_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
		ORDER BY created_at DESC, id DESC LIMIT $4`, playerID, at, before, limit)
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

// cursorAt reads the created_at of a list's `before` row with query (its
// $1 is the cursor, then args): nil without a cursor; a cursor the list
// cannot show (unknown, another player's) is invalid, the same answer
// either way.
func (s *Store) cursorAt(ctx context.Context, before *uuid.UUID, notFound, query string, args ...any) (*time.Time, error) {
	if before == nil {
		return nil, nil
	}
	var at time.Time
	err := s.pool.QueryRow(ctx, query, append([]any{*before}, args...)...).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.Invalidf("before", "%s", notFound)
	}
	if err != nil {
		return nil, postgres.Translate(err, "list")
	}
	return &at, nil
}

func (s *Store) getCharacter(ctx context.Context, q querier, playerID, id uuid.UUID) (Character, error) {
	c, err := scanCharacter(q.QueryRow(ctx, `SELECT `+characterCols+` FROM game.characters
		WHERE id = $1 AND player_id = $2`, id, playerID))
	return c, postgres.Translate(err, "character")
}

// lockCharacter reads a character and holds its row until q's transaction
// ends, so a read-modify-write of it cannot lose a concurrent one.
func (s *Store) lockCharacter(ctx context.Context, q querier, playerID, id uuid.UUID) (Character, error) {
	c, err := scanCharacter(q.QueryRow(ctx, `SELECT `+characterCols+` FROM game.characters
		WHERE id = $1 AND player_id = $2 FOR UPDATE`, id, playerID))
	return c, postgres.Translate(err, "character")
}

// updateCharacter writes a character. A sheet that changed bumps its
// version, so a turn in flight re-resolves on the new sheet. With
// guardField set (the patch changes fields the engine owns), nothing is
// written while a turn of the player is in flight in a session this
// character plays: a conflict naming the field.
func (s *Store) updateCharacter(ctx context.Context, q querier, c Character, guardField string) (Character, error) {
	sheet, err := json.Marshal(c.Sheet)
	if err != nil {
		return c, err
	}
	out, err := scanCharacter(q.QueryRow(ctx, `
		UPDATE game.characters SET name = $3, class = $4, level = $5, sheet = $6, portrait_asset_id = $7, updated_at = clock_timestamp(),
			sheet_version = sheet_version + CASE WHEN sheet IS DISTINCT FROM $6::jsonb THEN 1 ELSE 0 END
		WHERE id = $1 AND player_id = $2
		  AND NOT ($8::bool AND EXISTS (SELECT 1 FROM game.turns t JOIN game.sessions s ON s.id = t.session_id
			WHERE s.character_id = $1 AND t.player_id = $2 AND t.status IN ('queued', 'embedding', 'retrieving', 'generating')))
		RETURNING `+characterCols, c.ID, c.PlayerID, c.Name, c.Class, c.Level, string(sheet), c.PortraitAssetID, guardField != ""))
	if err == pgx.ErrNoRows && guardField != "" {
		return out, apperr.New(apperr.Conflict, "%s: is owned by the rules engine while a turn of yours is in flight; try again when it ends", guardField)
	}
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

const sessionCols = `s.id, s.owner_id, s.title, s.character_id, s.created_at, s.updated_at,
	(SELECT ds.commitment FROM game.dice_seeds ds WHERE ds.session_id = s.id AND ds.revealed_at IS NULL),
	s.forked_from_session_id, s.forked_at_message_id, s.mode, s.round_timeout`

func scanSession(row pgx.Row) (Session, error) {
	var s Session
	err := row.Scan(&s.ID, &s.OwnerID, &s.Title, &s.CharacterID, &s.CreatedAt, &s.UpdatedAt, &s.DiceCommitment,
		&s.ForkedFrom, &s.ForkedAtMessageID, &s.Mode, &s.RoundTimeout)
	return s, err
}

func (s *Store) insertSession(ctx context.Context, in Session, seed openSeed, max int) (Session, error) {
	var out Session
	err := s.Tx(ctx, func(q querier) error {
		if err := underCap(ctx, q, "game.sessions", "owner_id", in.OwnerID, max, apperr.TooManySessions, "sessions"); err != nil {
			return err
		}
		var err error
		out, err = scanSession(q.QueryRow(ctx, `
			INSERT INTO game.sessions AS s (id, owner_id, title, character_id) VALUES ($1, $2, $3, $4)
			RETURNING `+sessionCols, in.ID, in.OwnerID, in.Title, in.CharacterID))
		if err != nil {
			return err
		}
		if _, err = q.Exec(ctx, `INSERT INTO game.session_members (session_id, player_id, role, character_id) VALUES ($1, $2, 'owner', $3)`, in.ID, in.OwnerID, in.CharacterID); err != nil {
			return err
		}
		// The first open seed of player rolls, so its commitment is public
		// before any roll is drawn from it (docs/DICE.md).
		_, err = q.Exec(ctx, `INSERT INTO game.dice_seeds (id, session_id, seed, commitment) VALUES ($1, $2, $3, $4)`,
			seed.ID, in.ID, seed.Seed[:], seed.Seed.Commitment())
		if err == nil && in.CharacterID != nil {
			err = copyCharacterLore(ctx, q, in.ID, *in.CharacterID)
		}
		if err == nil {
			c := seed.Seed.Commitment()
			out.DiceCommitment = &c
		}
		return err
	})
	return out, postgres.Translate(err, "session")
}

// listSessions reads up to limit of the sessions the player is in, newest
// first, created before the session `before` (nil: from the newest).
func (s *Store) listSessions(ctx context.Context, playerID uuid.UUID, before *uuid.UUID, limit int) ([]Session, error) {
	at, err := s.cursorAt(ctx, before, "is not one of your sessions", `SELECT s.created_at FROM game.sessions s
		JOIN game.session_members m ON m.session_id = s.id AND m.player_id = $2 WHERE s.id = $1`, playerID)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM game.sessions s
		JOIN game.session_members m ON m.session_id = s.id AND m.player_id = $1
		WHERE ($2::timestamptz IS NULL OR (s.created_at, s.id) < ($2, $3))
		ORDER BY s.created_at DESC, s.id DESC LIMIT $4`, playerID, at, before, limit)
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

// deleteSession deletes a session its owner deletes, in one transaction:
// the turns still in flight end cancelled (returned, for their final
// events), then the row goes and Postgres cascades to everything of the
// session (messages and their vectors, turns, rolls, lore, summary, …).
// It also returns the members the session had besides the owner.
func (s *Store) deleteSession(ctx context.Context, playerID, id uuid.UUID) (cancelled []Turn, members []uuid.UUID, err error) {
	err = s.Tx(ctx, func(q querier) error {
		if err := requireOwner(ctx, q, id, playerID); err != nil {
			return err
		}
		var one int
		if err := q.QueryRow(ctx, `SELECT 1 FROM game.sessions WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return postgres.Translate(err, "session")
		}
		rows, err := q.Query(ctx, `UPDATE game.turns t SET status = 'cancelled', cancel_requested_at = now(),
				finished_at = now(), updated_at = now()
			WHERE t.session_id = $1 AND t.status NOT IN ('completed', 'failed', 'cancelled')
			RETURNING `+turnCols, id)
		if err != nil {
			return postgres.Translate(err, "turns")
		}
		cancelled, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Turn, error) { return scanTurn(r) })
		if err != nil {
			return postgres.Translate(err, "turns")
		}
		rows, err = q.Query(ctx, `SELECT player_id FROM game.session_members WHERE session_id = $1 AND role <> 'owner'`, id)
		if err != nil {
			return postgres.Translate(err, "session")
		}
		if members, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
			return postgres.Translate(err, "session")
		}
		_, err = q.Exec(ctx, `DELETE FROM game.sessions WHERE id = $1`, id)
		return postgres.Translate(err, "session")
	})
	err = s.afterWrite(ctx, err, id, hotMembers, hotSession)
	return cancelled, members, postgres.Translate(err, "session")
}

// --- messages

const messageCols = `id, session_id, role, content, turn_id, author_id, created_at, seq, visibility, private_to`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(m.dest()...)
	return m, err
}

// dest are the scan destinations of messageCols.
func (m *Message) dest() []any {
	return []any{&m.ID, &m.SessionID, &m.Role, &m.Content, &m.TurnID, &m.AuthorID, &m.CreatedAt, &m.Seq, &m.Visibility, &m.PrivateTo}
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
// Only the messages viewer may see are listed (public ones and whispers
// to them).
func (s *Store) listMessages(ctx context.Context, sessionID, viewer uuid.UUID, before *uuid.UUID, limit int) ([]Message, error) {
	if before == nil {
		return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages m
			WHERE session_id = $1 AND `+visibleTo("m", "$3")+` ORDER BY seq DESC LIMIT $2`, sessionID, limit, viewer))
	}
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT seq FROM game.messages m WHERE id = $1 AND session_id = $2 AND `+visibleTo("m", "$3"),
		*before, sessionID, viewer).Scan(&seq)
	if err != nil {
		if err == pgx.ErrNoRows {
			return nil, apperr.Invalidf("before", "is not a message of this session")
		}
		return nil, postgres.Translate(err, "message")
	}
	return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages m
		WHERE session_id = $1 AND seq < $2 AND `+visibleTo("m", "$4")+` ORDER BY seq DESC LIMIT $3`, sessionID, seq, limit, viewer))
}

// GetMessage returns one message by id.
func (s *Store) GetMessage(ctx context.Context, id uuid.UUID) (Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM game.messages WHERE id = $1`, id))
	return m, postgres.Translate(err, "message")
}

// --- turns

const turnCols = `t.id, t.session_id, t.player_id, t.player_message_id, t.dm_message_id, t.status,
	t.error_code, t.error_message, t.provider, t.model, t.seed, t.attempts, t.context,
	t.prompt_tokens, t.completion_tokens, t.idempotency_key, t.created_at, t.updated_at,
	t.embed_started_at, t.embed_ended_at, t.retrieve_started_at, t.retrieve_ended_at,
	t.generate_started_at, t.generate_ended_at, t.finished_at, t.dice_seed, t.dice_commitment, t.private_to`

func scanTurn(row pgx.Row) (Turn, error) {
	var t Turn
	var code, msg, provider, model *string
	var ctxJSON []byte
	var commitment *string
	err := row.Scan(&t.ID, &t.SessionID, &t.PlayerID, &t.PlayerMessageID, &t.DMMessageID, &t.Status,
		&code, &msg, &provider, &model, &t.Seed, &t.Attempts, &ctxJSON,
		&t.PromptTokens, &t.CompletionTokens, &t.IdempotencyKey, &t.CreatedAt, &t.UpdatedAt,
		&t.Timings.EmbedStartedAt, &t.Timings.EmbedEndedAt, &t.Timings.RetrieveStartedAt, &t.Timings.RetrieveEndedAt,
		&t.Timings.GenerateStartedAt, &t.Timings.GenerateEndedAt, &t.Timings.FinishedAt, &t.diceSeed, &commitment, &t.PrivateTo)
	if err != nil {
		return t, err
	}
	if commitment != nil {
		t.DiceCommitment = *commitment
	}
	if Final(t.Status) && len(t.diceSeed) > 0 {
		t.DiceSeed = hex.EncodeToString(t.diceSeed) // revealed once the turn is over (API.md)
	}
	if code != nil {
		t.Error = &TurnError{Code: FailureCode(*code)}
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
		WHERE t.id = $1 AND (t.private_to IS NULL OR t.private_to = $2)`, id, playerID))
	return t, postgres.Translate(err, "turn")
}

func (s *Store) turnByIdempotencyKey(ctx context.Context, q querier, sessionID, playerID uuid.UUID, key string) (Turn, error) {
	t, err := scanTurn(q.QueryRow(ctx, `SELECT `+turnCols+` FROM game.turns t
		WHERE t.session_id = $1 AND t.player_id = $2 AND t.idempotency_key = $3`, sessionID, playerID, key))
	return t, postgres.Translate(err, "turn")
}

// insertTurn writes the player message and its turn, all or nothing, in
// one round trip (a batch: one implicit transaction, see store_stages.go), if the
// player is a member of the session (not_found otherwise). With
// a limit on turns in flight, the player's turns are counted under a
// transaction-scoped lock on the player, and nothing is written when the
// limit is reached. A concurrent duplicate Idempotency-Key loses with a
// conflict.
func (s *Store) insertTurn(ctx context.Context, m Message, t Turn, next openSeed, maxInFlight int) (Message, Turn, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT EXISTS (SELECT 1 FROM game.session_members WHERE session_id = $1 AND player_id = $2)`, m.SessionID, t.PlayerID)
	if maxInFlight > 0 {
		b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('game.turns:' || $1::text, 0))`, t.PlayerID)
	}
	b.Queue(`WITH room AS (
			SELECT EXISTS (SELECT 1 FROM game.session_members WHERE session_id = $2 AND player_id = $4)
				AND ($7::int <= 0 OR count(*) < $7::int) AS ok
			FROM game.turns WHERE player_id = $4 AND status IN ('queued', 'embedding', 'retrieving', 'generating'))
		INSERT INTO game.messages (id, session_id, turn_id, role, author_id, content, token_count, visibility, private_to)
		SELECT $1::uuid, $2::uuid, $3::uuid, 'player', $4::uuid, $5::text, $6::int, $8::text, $9::uuid FROM room WHERE room.ok
		RETURNING `+messageCols, m.ID, m.SessionID, m.TurnID, m.AuthorID, m.Content, 0, maxInFlight, m.Visibility, m.PrivateTo)
	b.Queue(`INSERT INTO game.turns AS t (id, session_id, player_id, player_message_id, idempotency_key, seed, status, dice_seed, dice_commitment, private_to)
		SELECT $1::uuid, $2::uuid, $3::uuid, m.id, $5::text, $6::bigint, 'queued', $7::bytea, $8::text, m.private_to FROM game.messages m WHERE m.id = $4
		RETURNING `+turnCols, t.ID, t.SessionID, t.PlayerID, m.ID, t.IdempotencyKey, t.Seed, t.diceSeed, t.DiceCommitment)
	b.Queue(`UPDATE game.sessions SET updated_at = now() WHERE id = $1 AND EXISTS (SELECT 1 FROM game.turns WHERE id = $2)`,
		m.SessionID, t.ID)
	// A turn reveals the session's used player-roll seed and opens the next
	// (docs/DICE.md), in the same round trip.
	b.Queue(`UPDATE game.dice_seeds SET revealed_at = now()
		WHERE session_id = $1 AND revealed_at IS NULL AND next_roll > 0 AND EXISTS (SELECT 1 FROM game.turns WHERE id = $2)`,
		m.SessionID, t.ID)
	b.Queue(`INSERT INTO game.dice_seeds (id, session_id, seed, commitment)
		SELECT $3::uuid, $1::uuid, $4::bytea, $5::text
		WHERE EXISTS (SELECT 1 FROM game.turns WHERE id = $2)
		  AND NOT EXISTS (SELECT 1 FROM game.dice_seeds WHERE session_id = $1 AND revealed_at IS NULL)`,
		m.SessionID, t.ID, next.ID, next.Seed[:], next.Seed.Commitment())
	br := s.pool.SendBatch(ctx, b)
	outM, outT, err := func() (Message, Turn, error) {
		var isMember bool
		if err := br.QueryRow().Scan(&isMember); err != nil {
			return Message{}, Turn{}, err
		}
		if !isMember {
			return Message{}, Turn{}, apperr.NotFoundf("session")
		}
		if maxInFlight > 0 {
			if _, err := br.Exec(); err != nil {
				return Message{}, Turn{}, err
			}
		}
		outM, err := scanMessage(br.QueryRow())
		if err == pgx.ErrNoRows {
			return Message{}, Turn{}, errTooManyInFlight
		}
		if err != nil {
			return Message{}, Turn{}, err
		}
		outT, err := scanTurn(br.QueryRow())
		return outM, outT, err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Message{}, Turn{}, postgres.Translate(err, "turn")
	}
	return outM, outT, nil
}

// rowWith scans a row's leading columns into the caller's destinations
// (scanTurn's) and the columns after them into extra.
type rowWith struct {
	row   pgx.Row
	extra []any
}

func (r rowWith) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }

// Complete stores the DM's reply and ends the turn `completed`, in one
// statement, only if the turn is still generating: a cancel that won the
// race leaves no DM message behind, and a second run writes nothing. The
// same statement stores the turn's rolls and, when eff.Apply, writes the
// character's new sheet and its changes, but only onto the sheet version
// the engine read (the character row is locked first): otherwise nothing
// is written and errStaleSheet says so, for the caller to re-resolve.
func (s *Store) Complete(ctx context.Context, t Turn, reply Message, provider, model string, promptTokens, completionTokens int, eff Effects) (Message, Turn, bool, error) {
	var m Message
	sheet, changes, rolls, err := eff.encode()
	if err != nil {
		return Message{}, Turn{}, false, err
	}
	out, err := scanTurn(rowWith{s.pool.QueryRow(ctx, `WITH c0 AS (
			SELECT sheet_version FROM game.characters WHERE id = $8::uuid AND $9::bool FOR UPDATE
		), t AS (
			UPDATE game.turns t SET status = 'completed', dm_message_id = $2,
				provider = $3, model = $4, prompt_tokens = $5, completion_tokens = $6,
				generate_ended_at = now(), finished_at = now(), updated_at = now()
			WHERE t.id = $1 AND t.status = 'generating'
			  AND (NOT $9::bool OR (SELECT sheet_version FROM c0) = $10::bigint)
			RETURNING `+turnCols+`
		), m AS (
			INSERT INTO game.messages (id, session_id, turn_id, role, content, token_count, visibility, private_to)
			SELECT $2::uuid, t.session_id, t.id, 'dm', $7::text, $6::int,
				CASE WHEN t.private_to IS NULL THEN 'public' ELSE 'private' END, t.private_to FROM t
			RETURNING `+messageCols+`
		), c AS (
			UPDATE game.characters ch SET sheet = $11::jsonb, level = $12::int,
				sheet_version = ch.sheet_version + 1, updated_at = now()
			FROM t WHERE ch.id = $8::uuid AND $9::bool
			RETURNING ch.id
		), ch AS (
			INSERT INTO game.character_changes (id, character_id, turn_id, session_id, path, from_value, to_value, reason)
			SELECT x.id, c.id, t.id, t.session_id, x.path, x."from", x."to", coalesce(x.reason, '')
			FROM t, c, jsonb_to_recordset($13::jsonb) AS x(id uuid, ord int, path text, "from" int, "to" int, reason text)
			ORDER BY x.ord
		), r AS (
			INSERT INTO game.rolls (id, session_id, turn_id, actor, player_id, character_id, idx, roll)
			SELECT x.id, t.session_id, t.id, 'dm', t.player_id, $8::uuid, x.idx, x.roll
			FROM t, jsonb_to_recordset($14::jsonb) AS x(id uuid, idx int, roll jsonb)
		)
		SELECT `+turnCols+`, `+prefixed("m", messageCols)+` FROM t, m`,
		t.ID, reply.ID, provider, model, promptTokens, completionTokens, reply.Content,
		eff.CharacterID, eff.Apply, eff.SheetVersion, sheet, eff.Sheet.Level, changes, rolls),
		m.dest()})
	if err == pgx.ErrNoRows {
		if !eff.Apply {
			return Message{}, Turn{}, false, nil
		}
		// Not generating any more (nothing to do), or the sheet moved on.
		cur, gerr := s.GetTurn(ctx, t.ID)
		if gerr != nil {
			return Message{}, Turn{}, false, gerr
		}
		if cur.Status == StatusGenerating {
			return Message{}, Turn{}, false, errStaleSheet
		}
		return Message{}, Turn{}, false, nil
	}
	if err != nil {
		return Message{}, Turn{}, false, postgres.Translate(err, "turn")
	}
	out.Rolls, out.Changes = eff.records(out)
	return m, out, true, nil
}

// prefixed qualifies each column of a comma-separated list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// Finish ends a turn as failed or cancelled if it is not final yet.
func (s *Store) Finish(ctx context.Context, id uuid.UUID, status string, terr *TurnError) (Turn, bool, error) {
	var code, msg *string
	if terr != nil {
		c := string(terr.Code)
		code, msg = &c, &terr.Message
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

// charSheet converts a stored character for the DM.
func (c *Character) forDM() *dm.Character {
	if c == nil {
		return nil
	}
	sh := c.Sheet
	abilities := make(map[string]int, len(rules.AbilityNames))
	for _, a := range rules.AbilityNames {
		abilities[a] = sh.Abilities.Score(a)
	}
	inv := make([]string, 0, len(sh.Inventory))
	for _, it := range sh.Inventory {
		if it.Qty > 1 {
			inv = append(inv, fmt.Sprintf("%s (%d)", it.Name, it.Qty))
		} else {
			inv = append(inv, it.Name)
		}
	}
	hp := dm.HP{Current: sh.HP.Current, Max: sh.HP.Max}
	return &dm.Character{Name: c.Name, Class: c.Class, Level: c.Level, Sheet: dm.Sheet{
		Abilities: abilities, HP: &hp, Inventory: inv, Notes: sh.Notes, Gold: sh.Gold, Conditions: sh.Conditions}}
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
