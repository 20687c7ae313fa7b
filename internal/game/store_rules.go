package game

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// The SQL of the rules engine's storage (schema/007_rules.sql): a turn's
// rolls and changes, a character's history, and player rolls.

// errStaleSheet: the character's sheet changed since the turn's engine read
// it (another turn, a PATCH); Complete wrote nothing.
var errStaleSheet = errors.New("game: the character's sheet changed during the turn")

// Effects are what a turn's engine did, written by Complete with the DM's
// message: its rolls always, and, when Apply, the character's new sheet
// (onto SheetVersion) with the changes that made it.
type Effects struct {
	CharacterID  *uuid.UUID
	Apply        bool
	SheetVersion int64
	Sheet        rules.Sheet
	Changes      []rules.Change
	Rolls        []dice.Roll
	// RollIDs are the ids already given (published) to the first rolls;
	// the others get new ones.
	RollIDs []uuid.UUID

	changeIDs, rollIDs []uuid.UUID
}

func (e *Effects) encode() (sheet *string, changes, rolls string, err error) {
	type change struct {
		ID  uuid.UUID `json:"id"`
		Ord int       `json:"ord"`
		rules.Change
	}
	type roll struct {
		ID   uuid.UUID `json:"id"`
		Idx  int       `json:"idx"`
		Roll dice.Roll `json:"roll"`
	}
	cs := make([]change, 0, len(e.Changes))
	rs := make([]roll, 0, len(e.Rolls))
	e.changeIDs, e.rollIDs = e.changeIDs[:0], e.rollIDs[:0]
	if e.Apply {
		b, err := json.Marshal(e.Sheet)
		if err != nil {
			return nil, "", "", err
		}
		str := string(b)
		sheet = &str
		for i, c := range e.Changes {
			id := uuid.Must(uuid.NewV7())
			e.changeIDs = append(e.changeIDs, id)
			cs = append(cs, change{id, i, c})
		}
	}
	for i, r := range e.Rolls {
		id := uuid.Must(uuid.NewV7())
		if i < len(e.RollIDs) {
			id = e.RollIDs[i]
		}
		e.rollIDs = append(e.rollIDs, id)
		rs = append(rs, roll{id, r.Index, r})
	}
	cb, err := json.Marshal(cs)
	if err != nil {
		return nil, "", "", err
	}
	rb, err := json.Marshal(rs)
	if err != nil {
		return nil, "", "", err
	}
	return sheet, string(cb), string(rb), nil
}

// records are the stored forms of what encode wrote for turn t.
func (e *Effects) records(t Turn) ([]Roll, []ChangeRecord) {
	var rolls []Roll
	for i, r := range e.Rolls {
		rolls = append(rolls, Roll{ID: e.rollIDs[i], TurnID: &t.ID, Actor: RollActor{DM: true}, Roll: r})
	}
	var changes []ChangeRecord
	at := finishedAt(t)
	for i, c := range e.changeIDs {
		changes = append(changes, ChangeRecord{ID: c, CharacterID: *e.CharacterID, TurnID: &t.ID, SessionID: &t.SessionID, At: at, Change: e.Changes[i]})
	}
	return rolls, changes
}

// storedSheet reads a stored sheet. Sheets stored before the rules engine
// (round 1: abilities as a map, plain-string items, no hp) are read the way
// a player's input is (the default pack's Normalize, which fills in the
// defaults); a sheet that does not normalise (a condition only a custom pack
// knows) is read as it is.
func storedSheet(b []byte) (rules.Sheet, error) {
	if s, err := rules.Default().Normalize(b); err == nil {
		return s, nil
	}
	var s rules.Sheet
	if err := json.Unmarshal(b, &s); err != nil {
		return s, err
	}
	s.HP.Current = max(0, min(s.HP.Current, s.HP.Max))
	return s, nil
}

// characterByID returns a character (no access check: for workers).
func (s *Store) characterByID(ctx context.Context, id uuid.UUID) (Character, error) {
	c, err := scanCharacter(s.pool.QueryRow(ctx, `SELECT `+characterCols+` FROM game.characters WHERE id = $1`, id))
	return c, postgres.Translate(err, "character")
}

const (
	rollCols   = `r.id, r.turn_id, r.actor, r.player_id, r.character_id, r.roll`
	changeCols = `cc.id, cc.character_id, cc.turn_id, cc.session_id, cc.at, cc.path, cc.from_value, cc.to_value, cc.reason, cc.seq`
)

func scanRoll(row pgx.Row) (Roll, error) {
	var r Roll
	var actor string
	var body []byte
	if err := row.Scan(&r.ID, &r.TurnID, &actor, &r.Actor.PlayerID, &r.Actor.CharacterID, &body); err != nil {
		return r, err
	}
	r.Actor.DM = actor == "dm"
	if r.Actor.DM {
		r.Actor.PlayerID, r.Actor.CharacterID = nil, nil
	}
	return r, json.Unmarshal(body, &r.Roll)
}

func scanChange(row pgx.Row) (ChangeRecord, error) {
	var c ChangeRecord
	err := row.Scan(&c.ID, &c.CharacterID, &c.TurnID, &c.SessionID, &c.At, &c.Path, &c.From, &c.To, &c.Reason, &c.Seq)
	return c, err
}

func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error), what string) ([]T, error) {
	if err != nil {
		return nil, postgres.Translate(err, what)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, postgres.Translate(err, what)
		}
		out = append(out, v)
	}
	return out, postgres.Translate(rows.Err(), what)
}

// turnEffects fills in a turn's rolls and changes, in one round trip.
func (s *Store) turnEffects(ctx context.Context, t *Turn) error {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+rollCols+` FROM game.rolls r WHERE r.turn_id = $1 ORDER BY r.idx`, t.ID)
	b.Queue(`SELECT `+changeCols+` FROM game.character_changes cc WHERE cc.turn_id = $1 ORDER BY cc.seq`, t.ID)
	br := s.pool.SendBatch(ctx, b)
	var err error
	if t.Rolls, err = collectRolls(br.Query()); err == nil {
		t.Changes, err = collectChanges(br.Query())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return postgres.Translate(err, "turn")
}

func collectRolls(rows pgx.Rows, err error) ([]Roll, error) {
	return collect(rows, err, scanRoll, "rolls")
}

func collectChanges(rows pgx.Rows, err error) ([]ChangeRecord, error) {
	return collect(rows, err, scanChange, "changes")
}

// listChanges pages backwards through a character's changes (newest
// first), before the change `before` (nil: the newest).
func (s *Store) listChanges(ctx context.Context, characterID uuid.UUID, before *uuid.UUID, limit int) ([]ChangeRecord, error) {
	seq := int64(1 << 62)
	if before != nil {
		err := s.pool.QueryRow(ctx, `SELECT seq FROM game.character_changes WHERE id = $1 AND character_id = $2`, *before, characterID).Scan(&seq)
		if err == pgx.ErrNoRows {
			return nil, apperr.Invalidf("before", "is not a change of this character")
		}
		if err != nil {
			return nil, postgres.Translate(err, "changes")
		}
	}
	return collectChanges(s.pool.Query(ctx, `SELECT `+changeCols+` FROM game.character_changes cc
		WHERE cc.character_id = $1 AND cc.seq < $2 ORDER BY cc.seq DESC LIMIT $3`, characterID, seq, limit))
}

// openSeed is a fresh seed for a session's player rolls.
type openSeed struct {
	ID   uuid.UUID
	Seed dice.Seed
}

func newOpenSeed() (openSeed, error) {
	seed, err := dice.NewSeed()
	if err != nil {
		return openSeed{}, err
	}
	return openSeed{ID: uuid.Must(uuid.NewV7()), Seed: seed}, nil
}

// insertPlayerRoll draws a player's roll from the session's open seed
// (opening fresh when the session has none), under a lock on that seed so
// concurrent rolls take consecutive dice, and stores it with a system
// message that puts it in the story (and so in the DM's next prompt), if
// the player is a member of the session (not_found otherwise).
func (s *Store) insertPlayerRoll(ctx context.Context, sessionID, playerID uuid.UUID, fresh openSeed, draw func(*dice.Roller) dice.Roll, describe func(dice.Roll) string) (Roll, Message, error) {
	var out Roll
	var msg Message
	err := s.Tx(ctx, func(q querier) error {
		// Each member rolls for their own character.
		var character *uuid.UUID
		err := q.QueryRow(ctx, `SELECT m.character_id FROM game.session_members m
			WHERE m.session_id = $1 AND m.player_id = $2`, sessionID, playerID).Scan(&character)
		if err == pgx.ErrNoRows {
			return apperr.NotFoundf("session")
		}
		if err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO game.dice_seeds (id, session_id, seed, commitment) VALUES ($1, $2, $3, $4)
			ON CONFLICT (session_id) WHERE revealed_at IS NULL DO NOTHING`, fresh.ID, sessionID, fresh.Seed[:], fresh.Seed.Commitment()); err != nil {
			return err
		}
		var seedID uuid.UUID
		var raw []byte
		var commitment string
		var nextDie, nextRoll int
		if err := q.QueryRow(ctx, `SELECT id, seed, commitment, next_die, next_roll FROM game.dice_seeds
			WHERE session_id = $1 AND revealed_at IS NULL FOR UPDATE`, sessionID).Scan(&seedID, &raw, &commitment, &nextDie, &nextRoll); err != nil {
			return err
		}
		var seed dice.Seed
		if copy(seed[:], raw) != dice.SeedSize {
			return fmt.Errorf("dice seed %s: %d bytes", seedID, len(raw))
		}
		roller := dice.ResumeRoller(seed, nextDie, nextRoll)
		r := draw(roller)
		body, err := json.Marshal(r)
		if err != nil {
			return err
		}
		out = Roll{ID: uuid.Must(uuid.NewV7()), Actor: RollActor{PlayerID: &playerID, CharacterID: character}, SeedCommitment: commitment, Roll: r}
		if _, err := q.Exec(ctx, `UPDATE game.dice_seeds SET next_die = $2, next_roll = next_roll + 1 WHERE id = $1`, seedID, roller.Dice()); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO game.rolls (id, session_id, seed_id, actor, player_id, character_id, idx, roll)
			VALUES ($1, $2, $3, 'player', $4, $5, $6, $7)`, out.ID, sessionID, seedID, playerID, character, r.Index, string(body)); err != nil {
			return err
		}
		msg, err = scanMessage(q.QueryRow(ctx, `INSERT INTO game.messages (id, session_id, role, author_id, content, created_at)
			VALUES ($1, $2, 'system', $3, $4, now()) RETURNING `+messageCols, uuid.Must(uuid.NewV7()), sessionID, playerID, describe(r)))
		return err
	})
	return out, msg, postgres.Translate(err, "roll")
}

// sessionSeed is the session's seed of player rolls with that commitment
// and its rolls in order; the seed bytes only once revealed.
func (s *Store) sessionSeed(ctx context.Context, sessionID uuid.UUID, commitment string) (SessionSeed, error) {
	var out SessionSeed
	var id uuid.UUID
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT id, commitment, opened_at, revealed_at, CASE WHEN revealed_at IS NULL THEN NULL ELSE seed END
		FROM game.dice_seeds WHERE session_id = $1 AND commitment = $2`, sessionID, commitment).
		Scan(&id, &out.Commitment, &out.OpenedAt, &out.RevealedAt, &raw)
	if err == pgx.ErrNoRows {
		return out, apperr.NotFoundf("seed")
	}
	if err != nil {
		return out, postgres.Translate(err, "seed")
	}
	if raw != nil {
		out.DiceSeed = hex.EncodeToString(raw)
	}
	out.Rolls, err = collectRolls(s.pool.Query(ctx, `SELECT `+rollCols+` FROM game.rolls r WHERE r.seed_id = $1 ORDER BY r.idx`, id))
	if err != nil {
		return out, postgres.Translate(err, "seed")
	}
	for i := range out.Rolls {
		out.Rolls[i].SeedCommitment = out.Commitment
	}
	if out.Rolls == nil {
		out.Rolls = []Roll{}
	}
	return out, nil
}

// finishedAt is when a final turn ended, for its records.
func finishedAt(t Turn) time.Time {
	if t.Timings.FinishedAt != nil {
		return *t.Timings.FinishedAt
	}
	return t.UpdatedAt
}
