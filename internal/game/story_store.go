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

// The SQL of story control (schema/008_story.sql, docs/STORY.md). Every
// operation runs in one transaction that first locks the session's row, so
// undo, regenerate, select, fork and a new message of one session (whose
// insert updates that row) happen one after another, never interleaved.

// errTurnInFlight: a turn of the session is still being answered.
var errTurnInFlight = apperr.New(apperr.Conflict, "a turn of this session is in flight; wait for it or cancel it")

// lockStorySession locks a session the player owns (not_found otherwise)
// and refuses while one of its turns is in flight.
func lockStorySession(ctx context.Context, q querier, playerID, sessionID uuid.UUID) error {
	var inFlight bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM game.turns t WHERE t.session_id = s.id
			AND t.status IN ('queued', 'embedding', 'retrieving', 'generating'))
		FROM game.sessions s WHERE s.id = $1 AND s.owner_id = $2 FOR UPDATE`, sessionID, playerID).Scan(&inFlight)
	if err == pgx.ErrNoRows {
		return apperr.NotFoundf("session")
	}
	if err != nil {
		return err
	}
	if inFlight {
		return errTurnInFlight
	}
	return nil
}

// latestExchange returns the session's latest player message that a turn
// answers; false when the session has none.
func latestExchange(ctx context.Context, q querier, sessionID uuid.UUID) (Message, bool, error) {
	m, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE session_id = $1 AND role = 'player' AND turn_id IS NOT NULL ORDER BY seq DESC LIMIT 1`, sessionID))
	if err == pgx.ErrNoRows {
		return Message{}, false, nil
	}
	return m, err == nil, err
}

// lockLatestExchange locks the session (lockStorySession) and returns its
// latest exchange's player message, which must be pmID (else conflict,
// saying refusal).
func lockLatestExchange(ctx context.Context, q querier, playerID, sessionID, pmID uuid.UUID, refusal string) (Message, error) {
	if err := lockStorySession(ctx, q, playerID, sessionID); err != nil {
		return Message{}, err
	}
	pm, ok, err := latestExchange(ctx, q, sessionID)
	if err != nil {
		return Message{}, err
	}
	if !ok || pm.ID != pmID {
		return Message{}, apperr.New(apperr.Conflict, "%s", refusal)
	}
	return pm, nil
}

// rewriteSheet changes a character's sheet under a row lock and returns
// the new sheet.
func rewriteSheet(ctx context.Context, q querier, characterID uuid.UUID, change func(rules.Sheet) rules.Sheet) (rules.Sheet, error) {
	c, err := scanCharacter(q.QueryRow(ctx, `SELECT `+characterCols+` FROM game.characters WHERE id = $1 FOR UPDATE`, characterID))
	if err == pgx.ErrNoRows {
		return rules.Sheet{}, nil // deleted since: nothing to change
	}
	if err != nil {
		return rules.Sheet{}, err
	}
	sheet := change(c.Sheet)
	b, err := json.Marshal(sheet)
	if err != nil {
		return rules.Sheet{}, err
	}
	_, err = q.Exec(ctx, `UPDATE game.characters SET sheet = $2, level = greatest(1, least(20, $3::int)),
		sheet_version = sheet_version + 1, updated_at = now() WHERE id = $1`, characterID, string(b), sheet.Level)
	return sheet, err
}

// SheetEdit is what a story operation did to a character's sheet: the
// changes it undid or redid, and the sheet after.
type SheetEdit struct {
	TurnID      uuid.UUID
	CharacterID uuid.UUID
	Changes     []rules.Change
	Sheet       rules.Sheet
}

// revertTurnChanges restores the sheet from before the changes of turns
// (last first), deletes those changes and returns what was undone, by
// character.
func revertTurnChanges(ctx context.Context, q querier, turns []uuid.UUID) ([]SheetEdit, error) {
	changes, err := collectChanges(q.Query(ctx, `SELECT `+changeCols+` FROM game.character_changes cc
		WHERE cc.turn_id = ANY($1::uuid[]) ORDER BY cc.seq`, uuidTexts(turns)))
	if err != nil {
		return nil, err
	}
	byChar := map[uuid.UUID][]rules.Change{}
	turnOf := map[uuid.UUID]uuid.UUID{}
	var order []uuid.UUID
	for _, c := range changes {
		if _, ok := byChar[c.CharacterID]; !ok {
			order = append(order, c.CharacterID)
		}
		byChar[c.CharacterID] = append(byChar[c.CharacterID], c.Change)
		turnOf[c.CharacterID] = *c.TurnID
	}
	var edits []SheetEdit
	for _, id := range order {
		cs := byChar[id]
		sheet, err := rewriteSheet(ctx, q, id, func(s rules.Sheet) rules.Sheet { return rules.Restore(s, cs) })
		if err != nil {
			return nil, err
		}
		edits = append(edits, SheetEdit{TurnID: turnOf[id], CharacterID: id, Changes: inverse(cs), Sheet: sheet})
	}
	if len(changes) > 0 {
		if _, err := q.Exec(ctx, `DELETE FROM game.character_changes WHERE turn_id = ANY($1::uuid[])`, uuidTexts(turns)); err != nil {
			return nil, err
		}
	}
	return edits, nil
}

// inverse is what undoing changes does, in the order it does it.
func inverse(cs []rules.Change) []rules.Change {
	out := make([]rules.Change, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		out = append(out, rules.Change{Path: c.Path, From: c.To, To: c.From, Reason: "undone"})
	}
	return out
}

// exchangeTurns returns the ids of the turns answering a player message.
func exchangeTurns(ctx context.Context, q querier, playerMessageID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := q.Query(ctx, `SELECT id FROM game.turns WHERE player_message_id = $1 ORDER BY created_at, id`, playerMessageID)
	return collect(rows, err, func(row pgx.Row) (uuid.UUID, error) {
		var id uuid.UUID
		return id, row.Scan(&id)
	}, "turns")
}

// shelveSelected moves the selected DM reply of an exchange (if any) out
// of the history into game.shelved_replies, with its vectors and its
// sheet changes, which it reverts.
func shelveSelected(ctx context.Context, q querier, pm Message) ([]SheetEdit, *Message, error) {
	turns, err := exchangeTurns(ctx, q, pm.ID)
	if err != nil {
		return nil, nil, err
	}
	reply, err := scanMessage(q.QueryRow(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE role = 'dm' AND turn_id = ANY($1::uuid[]) ORDER BY seq DESC LIMIT 1`, uuidTexts(turns)))
	if err == pgx.ErrNoRows {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if _, err := q.Exec(ctx, `INSERT INTO game.shelved_replies
			(message_id, session_id, turn_id, player_message_id, content, token_count, created_at, embeddings, changes)
		SELECT m.id, m.session_id, m.turn_id, $2, m.content, m.token_count, m.created_at,
			coalesce((SELECT jsonb_agg(jsonb_build_object('model', e.model, 'embedding', e.embedding::text))
				FROM game.message_embeddings e WHERE e.message_id = m.id), '[]'::jsonb),
			coalesce((SELECT jsonb_agg(jsonb_build_object('character_id', cc.character_id, 'path', cc.path,
					'from', cc.from_value, 'to', cc.to_value, 'reason', cc.reason) ORDER BY cc.seq)
				FROM game.character_changes cc WHERE cc.turn_id = m.turn_id), '[]'::jsonb)
		FROM game.messages m WHERE m.id = $1`, reply.ID, pm.ID); err != nil {
		return nil, nil, err
	}
	edits, err := revertTurnChanges(ctx, q, []uuid.UUID{*reply.TurnID})
	if err != nil {
		return nil, nil, err
	}
	// The vectors go with the message (ON DELETE CASCADE); the turn's
	// dm_message_id becomes NULL until the reply is selected again.
	_, err = q.Exec(ctx, `DELETE FROM game.messages WHERE id = $1`, reply.ID)
	return edits, &reply, err
}

// unshelve brings a shelved reply back into the history as the latest
// message, with its vectors, and reapplies its changes to the sheet.
func unshelve(ctx context.Context, q querier, messageID uuid.UUID) (_ Message, _ []SheetEdit, vectors int64, err error) {
	var turnID uuid.UUID
	var changesJSON []byte
	err = q.QueryRow(ctx, `SELECT turn_id, changes FROM game.shelved_replies WHERE message_id = $1`, messageID).Scan(&turnID, &changesJSON)
	if err != nil {
		return Message{}, nil, 0, err
	}
	// created_at is now(), as the changes' `at`: a fork compares the two
	// to tell which changes happened up to its message (forkSheet).
	// A whisper's reply goes back as private as it was (its turn says to whom).
	m, err := scanMessage(q.QueryRow(ctx, `INSERT INTO game.messages (id, session_id, turn_id, role, content, token_count, visibility, private_to)
		SELECT sr.message_id, sr.session_id, sr.turn_id, 'dm', sr.content, sr.token_count,
			CASE WHEN t.private_to IS NULL THEN 'public' ELSE 'private' END, t.private_to
		FROM game.shelved_replies sr JOIN game.turns t ON t.id = sr.turn_id WHERE sr.message_id = $1
		RETURNING `+messageCols, messageID))
	if err != nil {
		return Message{}, nil, 0, err
	}
	tag, err := q.Exec(ctx, `INSERT INTO game.message_embeddings (model, message_id, session_id, embedding)
		SELECT x.model, r.message_id, r.session_id, x.embedding::vector
		FROM game.shelved_replies r, jsonb_to_recordset(r.embeddings) AS x(model text, embedding text)
		WHERE r.message_id = $1 AND EXISTS (SELECT 1 FROM game.embedding_models em WHERE em.model = x.model)`, messageID)
	if err != nil {
		return Message{}, nil, 0, err
	}
	vectors = tag.RowsAffected()
	var changes []struct {
		CharacterID uuid.UUID `json:"character_id"`
		rules.Change
	}
	if err := json.Unmarshal(changesJSON, &changes); err != nil {
		return Message{}, nil, 0, err
	}
	byChar := map[uuid.UUID][]rules.Change{}
	var order []uuid.UUID
	for _, c := range changes {
		if _, ok := byChar[c.CharacterID]; !ok {
			order = append(order, c.CharacterID)
		}
		byChar[c.CharacterID] = append(byChar[c.CharacterID], c.Change)
	}
	var edits []SheetEdit
	for _, id := range order {
		cs := byChar[id]
		sheet, err := rewriteSheet(ctx, q, id, func(s rules.Sheet) rules.Sheet { return rules.Reapply(s, cs) })
		if err != nil {
			return Message{}, nil, 0, err
		}
		edits = append(edits, SheetEdit{TurnID: turnID, CharacterID: id, Changes: cs, Sheet: sheet})
	}
	if _, err := q.Exec(ctx, `INSERT INTO game.character_changes (id, character_id, turn_id, session_id, path, from_value, to_value, reason)
		SELECT gen_random_uuid(), (x.c->>'character_id')::uuid, r.turn_id, r.session_id, x.c->>'path',
			(x.c->>'from')::int, (x.c->>'to')::int, coalesce(x.c->>'reason', '')
		FROM game.shelved_replies r, jsonb_array_elements(r.changes) WITH ORDINALITY AS x(c, ord)
		WHERE r.message_id = $1 AND EXISTS (SELECT 1 FROM game.characters ch WHERE ch.id = (x.c->>'character_id')::uuid)
		ORDER BY x.ord`, messageID); err != nil {
		return Message{}, nil, 0, err
	}
	if _, err := q.Exec(ctx, `UPDATE game.turns SET dm_message_id = $1, updated_at = now() WHERE id = $2`, messageID, turnID); err != nil {
		return Message{}, nil, 0, err
	}
	_, err = q.Exec(ctx, `DELETE FROM game.shelved_replies WHERE message_id = $1`, messageID)
	return m, edits, vectors, err
}

// Undone is what an undo removed.
type Undone struct {
	// Removed are the removed messages with the turn each belonged to.
	Removed []Message
	Edits   []SheetEdit
}

// undo removes the latest exchange of a session the player owns: its
// player message, every reply (selected or shelved), its turns with their
// rolls, its sheet changes (the sheet goes back) and, with the messages,
// their vectors.
func (s *Store) undo(ctx context.Context, playerID, sessionID uuid.UUID) (Undone, error) {
	var out Undone
	err := s.Tx(ctx, func(q querier) error {
		if err := lockStorySession(ctx, q, playerID, sessionID); err != nil {
			return err
		}
		pm, ok, err := latestExchange(ctx, q, sessionID)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.New(apperr.Conflict, "nothing to undo: the session has no turn")
		}
		turns, err := exchangeTurns(ctx, q, pm.ID)
		if err != nil {
			return err
		}
		replies, err := collectMessages(q.Query(ctx, `SELECT `+messageCols+` FROM game.messages
			WHERE role = 'dm' AND turn_id = ANY($1::uuid[]) ORDER BY seq`, uuidTexts(turns)))
		if err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT message_id, turn_id FROM game.shelved_replies WHERE player_message_id = $1`, pm.ID)
		shelved, err := collect(rows, err, func(row pgx.Row) (Message, error) {
			m := Message{SessionID: sessionID, Role: RoleDM, PrivateTo: pm.PrivateTo}
			return m, row.Scan(&m.ID, &m.TurnID)
		}, "replies")
		if err != nil {
			return err
		}
		if out.Edits, err = revertTurnChanges(ctx, q, turns); err != nil {
			return err
		}
		out.Removed = append(append([]Message{pm}, replies...), shelved...)
		ids := make([]uuid.UUID, 0, len(out.Removed))
		for _, m := range out.Removed {
			ids = append(ids, m.ID)
		}
		// A summary that covers a removed message would keep telling it: it
		// is emptied and covers nothing, so the summary task writes it again
		// from the history (any text of the owner's own stays).
		if _, err := q.Exec(ctx, `UPDATE game.session_summaries SET content = '', through_message_id = NULL, updated_at = now()
			WHERE session_id = $1 AND through_message_id = ANY($2::uuid[])`, sessionID, uuidTexts(ids)); err != nil {
			return err
		}
		// The replies first, then the player message, whose turns (with
		// their rolls and shelved replies) go with it.
		if _, err := q.Exec(ctx, `DELETE FROM game.messages WHERE role = 'dm' AND turn_id = ANY($1::uuid[])`, uuidTexts(turns)); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM game.messages WHERE id = $1`, pm.ID)
		return err
	})
	return out, postgres.Translate(err, "session")
}

// regenerate shelves the selected reply of the turn's exchange, which must
// be the session's latest, and inserts a new turn answering the same
// player message.
func (s *Store) regenerate(ctx context.Context, playerID, turnID uuid.UUID, nt Turn) (Turn, []SheetEdit, error) {
	var out Turn
	var edits []SheetEdit
	err := s.Tx(ctx, func(q querier) error {
		var sessionID, pmID uuid.UUID
		err := q.QueryRow(ctx, `SELECT t.session_id, t.player_message_id FROM game.turns t
			JOIN game.sessions s ON s.id = t.session_id AND s.owner_id = $2 WHERE t.id = $1`, turnID, playerID).Scan(&sessionID, &pmID)
		if err == pgx.ErrNoRows {
			return apperr.NotFoundf("turn")
		}
		if err != nil {
			return err
		}
		pm, err := lockLatestExchange(ctx, q, playerID, sessionID, pmID, "only the session's latest turn can be regenerated")
		if err != nil {
			return err
		}
		if edits, _, err = shelveSelected(ctx, q, pm); err != nil {
			return err
		}
		// A whisper's regeneration stays a whisper (private_to of its message).
		out, err = scanTurn(q.QueryRow(ctx, `INSERT INTO game.turns AS t (id, session_id, player_id, player_message_id, seed, status, dice_seed, dice_commitment, private_to)
			VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, (SELECT private_to FROM game.messages WHERE id = $4))
			RETURNING `+turnCols, nt.ID, sessionID, playerID, pm.ID, nt.Seed, nt.diceSeed, nt.DiceCommitment))
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE game.sessions SET updated_at = now() WHERE id = $1`, sessionID)
		return err
	})
	return out, edits, postgres.Translate(err, "turn")
}

// Selection is what selecting an alternative reply did.
type Selection struct {
	Message  Message
	Previous *Message // the reply it replaced, now shelved
	Edits    []SheetEdit
	Changed  bool // false: it was selected already
	// Unembedded: the reply was shelved before its vectors were written.
	Unembedded bool
}

// selectReply makes a reply of the session's latest exchange the one the
// story continues from. Selecting the selected one changes nothing.
func (s *Store) selectReply(ctx context.Context, playerID, messageID uuid.UUID) (Selection, error) {
	var out Selection
	err := s.Tx(ctx, func(q querier) error {
		var sessionID, pmID uuid.UUID
		var shelved bool
		err := q.QueryRow(ctx, `SELECT x.session_id, x.player_message_id, x.shelved FROM (
				SELECT r.session_id, r.player_message_id, true AS shelved FROM game.shelved_replies r WHERE r.message_id = $1
				UNION ALL
				SELECT m.session_id, t.player_message_id, false FROM game.messages m JOIN game.turns t ON t.id = m.turn_id
				WHERE m.id = $1 AND m.role = 'dm'
			) x JOIN game.sessions s ON s.id = x.session_id AND s.owner_id = $2`, messageID, playerID).Scan(&sessionID, &pmID, &shelved)
		if err == pgx.ErrNoRows {
			return apperr.NotFoundf("message")
		}
		if err != nil {
			return err
		}
		pm, err := lockLatestExchange(ctx, q, playerID, sessionID, pmID, "only a reply of the session's latest turn can be selected")
		if err != nil {
			return err
		}
		if !shelved {
			out.Message, err = scanMessage(q.QueryRow(ctx, `SELECT `+messageCols+` FROM game.messages WHERE id = $1`, messageID))
			return err
		}
		edits, prev, err := shelveSelected(ctx, q, pm)
		if err != nil {
			return err
		}
		out.Previous = prev
		m, redo, vectors, err := unshelve(ctx, q, messageID)
		if err != nil {
			return err
		}
		out.Message, out.Edits, out.Changed, out.Unembedded = m, append(edits, redo...), true, vectors == 0
		return nil
	})
	return out, postgres.Translate(err, "message")
}

// Alternative is one DM reply of an exchange.
type Alternative struct {
	Message
	Selected bool `json:"selected"`
}

// alternatives lists the replies to a turn's player message, in the order
// they were written.
func (s *Store) alternatives(ctx context.Context, t Turn) ([]Alternative, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, session_id, turn_id, content, created_at, selected FROM (
			SELECT m.id, m.session_id, m.turn_id, m.content, m.created_at, true AS selected, t.created_at AS turn_at
			FROM game.turns t JOIN game.messages m ON m.turn_id = t.id AND m.role = 'dm'
			WHERE t.player_message_id = $1
			UNION ALL
			SELECT r.message_id, r.session_id, r.turn_id, r.content, r.created_at, false, t.created_at
			FROM game.shelved_replies r JOIN game.turns t ON t.id = r.turn_id
			WHERE r.player_message_id = $1
		) x ORDER BY turn_at, id`, t.PlayerMessageID)
	return collect(rows, err, func(row pgx.Row) (Alternative, error) {
		a := Alternative{Message: Message{Role: RoleDM}}
		return a, row.Scan(&a.ID, &a.SessionID, &a.TurnID, &a.Content, &a.CreatedAt, &a.Selected)
	}, "alternatives")
}
