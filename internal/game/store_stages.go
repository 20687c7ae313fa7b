package game

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Stage reads and writes in one round trip each.
//
// A turn's stages ran about 25 SQL statements before the model was asked,
// each a round trip; on PGlite, which executes one statement at a time
// behind one socket, every round trip has a fixed cost before any work
// (docs/PERFORMANCE.md "Figures behind the code"). Here each stage starts with
// one batch (its status change and everything it reads) and ends with one
// (everything it writes). pgx sends a batch as one multi-statement query
// (simple protocol) or one pipeline ending in a single Sync (extended
// protocol); either way Postgres runs it as one implicit transaction, so a
// batch of writes is all or nothing, and each statement sees the ones
// before it. The reads are keyed by the turn id, so they need nothing from
// the status change's result; when the turn was elsewhere (OK false), what
// they read is not used.

// The writes of a turn's stages (each start, the player message's vector,
// the retrieved context) commit asynchronously: Postgres answers before
// the commit's WAL reaches the disk, and flushes it within a few hundred
// milliseconds (wal_writer_delay). A synchronous commit's flush is a
// visible share of a turn's time before its first token (docs/PERFORMANCE.md
// "Figures behind the code"). What a crash of the
// database itself (not of the app, not a clean restart) can lose is only
// that last moment of progress, never a promise: the player's message and
// the DM's reply still commit synchronously (insertTurn, Complete), and a
// synchronous commit flushes every earlier one. A turn whose progress was
// lost is back in an earlier status and the sweeper runs that stage
// again, as after a dead worker; a player message whose vector was lost
// gets it from the retrieve stage, which stores the vector it had to
// compute (Pipeline.Retrieve). Postgres documents the setting for exactly
// this: transactions "where the loss of the most recent few transactions
// is acceptable".
const asyncCommitSQL = `SELECT set_config('synchronous_commit', 'off', true)`

// turnStart is what a stage reads as it starts: the want fields say what,
// beyond the turn and its player message, startStage fills in.
type turnStart struct {
	// What to read.
	wantRecent    int    // the last n messages before the player's
	wantVector    string // the player message's vector of this model
	wantCharacter bool
	wantContext   bool // the messages the turn's recorded context names
	wantSummary   bool // the session's rolling summary
	wantRound     bool // the actions of the round the turn answers

	// What was read.
	Turn        Turn
	OK, Changed bool // the turn moved into the stage; its status changed (false on a retry of the stage)
	Player      Message
	Recent      []Message // oldest first
	Vector      string    // "" if the message has no vector of that model
	Character   *Character
	ContextByID map[uuid.UUID]Message
	Summary     *Summary      // nil when the session has none
	Round       []ContextItem // a round turn's actions (SourceRound), oldest first
}

// advanceSQL moves a turn into status `to` from one of the statuses given as
// $3, stamping the stage's start time once, and returns the turn and its
// status before ($1 turn id, $2 to).
func advanceSQL(to string) (string, error) {
	col := map[string]string{
		StatusEmbedding:  "embed_started_at",
		StatusRetrieving: "retrieve_started_at",
		StatusGenerating: "generate_started_at",
	}[to]
	if col == "" {
		return "", fmt.Errorf("advance: no stage %q", to)
	}
	return `WITH old AS (SELECT status FROM game.turns WHERE id = $1 FOR UPDATE)
		UPDATE game.turns t SET status = $2,
			` + col + ` = coalesce(t.` + col + `, now()), updated_at = now(),
			attempts = t.attempts + CASE WHEN $2 = 'generating' THEN 1 ELSE 0 END
		FROM old
		WHERE t.id = $1 AND t.status = ANY($3)
		RETURNING ` + turnCols + `, old.status`, nil
}

const (
	playerMessageSQL = `SELECT ` + messageCols + ` FROM game.messages
		WHERE id = (SELECT player_message_id FROM game.turns WHERE id = $1)`
	// A turn's prompt holds the public messages and, for a whisper's turn,
	// its author's whispers: never another player's.
	// The messages before a turn are those older than its player message
	// and the replies to the turns that arrived before it (answered first:
	// free mode's order), whatever their own seq. A round turn's own
	// actions are not among them: its prompt presents them as the round.
	recentSQL = `WITH me AS (
			SELECT t.session_id AS me_session, t.private_to AS me_private, m.seq AS me_seq
			FROM game.turns t JOIN game.messages m ON m.id = t.player_message_id WHERE t.id = $1
		)
		SELECT ` + messageCols + ` FROM game.messages, me
		WHERE session_id = me_session
		  AND (visibility = 'public' OR private_to = me_private)
		  AND (round_id IS NULL OR round_id IS DISTINCT FROM (` + turnRoundSQL + `))
		  AND (seq < me_seq OR turn_id IN (
			SELECT o.id FROM game.turns o JOIN game.messages om ON om.id = o.player_message_id
			WHERE o.session_id = me_session AND om.seq < me_seq))
		ORDER BY seq DESC LIMIT $2`
	playerVectorSQL = `SELECT embedding::text FROM game.message_embeddings
		WHERE model = $2 AND message_id = (SELECT player_message_id FROM game.turns WHERE id = $1)`
	turnCharacterSQL = `SELECT c.id, c.player_id, c.name, c.class, c.level, c.sheet, c.portrait_asset_id, c.created_at, c.updated_at, c.sheet_version
		FROM game.turns t JOIN game.session_members m ON m.session_id = t.session_id AND m.player_id = t.player_id
		JOIN game.characters c ON c.id = m.character_id
		WHERE t.id = $1`
	turnSummarySQL = `SELECT content, through_message_id, updated_at, edited FROM game.session_summaries
		WHERE session_id = (SELECT session_id FROM game.turns WHERE id = $1)`
	contextMessagesSQL = `SELECT ` + messageCols + ` FROM game.messages
		WHERE session_id = (SELECT session_id FROM game.turns WHERE id = $1)
		  AND id IN (SELECT (e->>'message_id')::uuid FROM game.turns t, jsonb_array_elements(t.context) e WHERE t.id = $1)`
)

// startStage advances the turn into `to` (from one of `from`) and reads,
// in the same round trip, the player's message and what st asks for.
func (s *Store) startStage(ctx context.Context, id uuid.UUID, st *turnStart, to string, from ...string) error {
	adv, err := advanceSQL(to)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(asyncCommitSQL)
	b.Queue(adv, id, to, from)
	b.Queue(playerMessageSQL, id)
	if st.wantRecent > 0 {
		b.Queue(recentSQL, id, st.wantRecent)
	}
	if st.wantVector != "" {
		b.Queue(playerVectorSQL, id, st.wantVector)
	}
	if st.wantCharacter {
		b.Queue(turnCharacterSQL, id)
	}
	if st.wantContext {
		b.Queue(contextMessagesSQL, id)
	}
	if st.wantSummary {
		b.Queue(turnSummarySQL, id)
	}
	if st.wantRound {
		b.Queue(roundActionsSQL, id)
	}
	br := s.pool.SendBatch(ctx, b)
	err = st.read(br, to)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return postgres.Translate(err, "turn")
}

func (st *turnStart) read(br pgx.BatchResults, to string) error {
	if _, err := br.Exec(); err != nil {
		return err
	}
	var prev string
	t, err := scanTurn(rowWith{br.QueryRow(), []any{&prev}})
	switch {
	case err == pgx.ErrNoRows:
		st.OK = false
	case err != nil:
		return err
	default:
		st.Turn, st.OK, st.Changed = t, true, prev != to
	}
	st.Player, err = scanMessage(br.QueryRow())
	if err != nil {
		if err == pgx.ErrNoRows && !st.OK {
			return nil // the turn is gone or elsewhere: nothing to do
		}
		return err
	}
	if st.wantRecent > 0 {
		if st.Recent, err = collectMessages(br.Query()); err != nil {
			return err
		}
		for i, j := 0, len(st.Recent)-1; i < j; i, j = i+1, j-1 {
			st.Recent[i], st.Recent[j] = st.Recent[j], st.Recent[i]
		}
	}
	if st.wantVector != "" {
		if err := br.QueryRow().Scan(&st.Vector); err != nil && err != pgx.ErrNoRows {
			return err
		}
	}
	if st.wantCharacter {
		c, err := scanCharacter(br.QueryRow())
		switch {
		case err == pgx.ErrNoRows:
		case err != nil:
			return err
		default:
			st.Character = &c
		}
	}
	if st.wantContext {
		msgs, err := collectMessages(br.Query())
		if err != nil {
			return err
		}
		st.ContextByID = make(map[uuid.UUID]Message, len(msgs))
		for _, m := range msgs {
			st.ContextByID[m.ID] = m
		}
	}
	if st.wantSummary {
		var sum Summary
		err := br.QueryRow().Scan(&sum.Content, &sum.ThroughMessageID, &sum.UpdatedAt, &sum.Edited)
		switch {
		case err == pgx.ErrNoRows:
		case err != nil:
			return err
		default:
			st.Summary = &sum
		}
	}
	if st.wantRound {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		st.Round, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ContextItem, error) {
			it := ContextItem{Source: SourceRound, Role: RolePlayer}
			err := row.Scan(&it.MessageID, &it.Content, &it.Title)
			it.Tokens = embed.CountTokens(it.Content)
			return it, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// StoreVectors writes a message's vectors (one per model), its token count
// and, when endStage is set, the end of that turn's embed stage (then
// committed asynchronously, as a stage's write), all or nothing in one
// round trip.
func (s *Store) StoreVectors(ctx context.Context, m Message, vectors map[string][]float32, tokens int, endStage *uuid.UUID) error {
	b := &pgx.Batch{}
	if endStage != nil {
		b.Queue(asyncCommitSQL)
	}
	for model, v := range vectors {
		sql, args := embeddingsInsertSQL(model, []VectorRow{{MessageID: m.ID, SessionID: m.SessionID, Vector: v}})
		b.Queue(sql, args...)
	}
	b.Queue(`UPDATE game.messages SET token_count = $2 WHERE id = $1 AND token_count <> $2`, m.ID, tokens)
	if endStage != nil {
		b.Queue(`UPDATE game.turns SET embed_ended_at = now(), updated_at = now() WHERE id = $1`, *endStage)
	}
	return postgres.Translate(s.pool.SendBatch(ctx, b).Close(), "embedding")
}

// SetContext records the turn's retrieved context and the end of its
// retrieve stage, and, when fresh is set, the player message's vector of
// model that the stage had to compute (fresh.Vector: it was missing),
// committed asynchronously in one round trip.
func (s *Store) SetContext(ctx context.Context, id uuid.UUID, items []ContextItem, model string, fresh *VectorRow) error {
	js, err := json.Marshal(items)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(asyncCommitSQL)
	if fresh != nil {
		sql, args := embeddingsInsertSQL(model, []VectorRow{*fresh})
		b.Queue(sql, args...)
	}
	b.Queue(`UPDATE game.turns SET context = $2, retrieve_ended_at = now(), updated_at = now() WHERE id = $1`, id, string(js))
	return postgres.Translate(s.pool.SendBatch(ctx, b).Close(), "turn")
}

// replyOf returns the DM's reply of a turn; false when it has none.
func (s *Store) replyOf(ctx context.Context, turnID uuid.UUID) (Message, bool, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE id = (SELECT dm_message_id FROM game.turns WHERE id = $1)`, turnID))
	if err == pgx.ErrNoRows {
		return Message{}, false, nil
	}
	return m, err == nil, postgres.Translate(err, "message")
}
