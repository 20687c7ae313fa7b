package game

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

const roundCols = `r.id, r.session_id, r.status, r.opened_at, r.closes_at, r.closed_at, r.turn_id,
	coalesce((SELECT array_agg(a.author_id ORDER BY a.seq) FROM game.messages a WHERE a.round_id = r.id AND a.author_id IS NOT NULL), '{}')`

func scanRound(row pgx.Row) (Round, error) {
	var r Round
	err := row.Scan(&r.ID, &r.SessionID, &r.Status, &r.OpenedAt, &r.ClosesAt, &r.ClosedAt, &r.TurnID, &r.Acted)
	if r.Acted == nil {
		r.Acted = []uuid.UUID{}
	}
	return r, err
}

// sessionModeFromDB reads a session's mode for one of its members
// (not_found for anybody else): sessionMode without the hot cache.
func (s *Store) sessionModeFromDB(ctx context.Context, sessionID, playerID uuid.UUID) (string, error) {
	var mode string
	err := s.pool.QueryRow(ctx, `SELECT s.mode FROM game.sessions s
		JOIN game.session_members m ON m.session_id = s.id AND m.player_id = $2
		WHERE s.id = $1`, sessionID, playerID).Scan(&mode)
	return mode, postgres.Translate(err, "session")
}

// sessionStateFromDB reads what hotSession caches of a session.
func (s *Store) sessionStateFromDB(ctx context.Context, sessionID uuid.UUID) (sessionState, error) {
	var st sessionState
	err := s.pool.QueryRow(ctx, `SELECT mode, round_timeout FROM game.sessions WHERE id = $1`, sessionID).Scan(&st.Mode, &st.RoundTimeout)
	return st, postgres.Translate(err, "session")
}

// lockRoundsSession locks a session's row for a member: actions and
// closes of one session's rounds happen one at a time. It returns the
// session's mode and round timeout (seconds).
func lockRoundsSession(ctx context.Context, q querier, sessionID, playerID uuid.UUID) (mode string, timeout int, err error) {
	err = q.QueryRow(ctx, `SELECT s.mode, s.round_timeout FROM game.sessions s
		WHERE s.id = $1 AND EXISTS (SELECT 1 FROM game.session_members m WHERE m.session_id = s.id AND m.player_id = $2)
		FOR UPDATE OF s`, sessionID, playerID).Scan(&mode, &timeout)
	return mode, timeout, postgres.Translate(err, "session")
}

// roundTurn is what closing a round needs to create its turn.
type roundTurn struct {
	Turn Turn // ID, Seed, diceSeed, DiceCommitment set by the caller
	Next openSeed
}

// closedRound is a round that was closed, with the turn answering it
// (nil when it had no action left).
type closedRound struct {
	Round Round
	Turn  *Turn
}

// addAction stores a player message as an action of the session's open
// round, opening one if there is none (a round past its time is closed
// first). When every member has acted, the round closes with its turn.
func (s *Store) addAction(ctx context.Context, m Message, now time.Time, newTurn func() (roundTurn, error)) (act RoundAction, err error) {
	err = s.Tx(ctx, func(q querier) error {
		mode, timeout, err := lockRoundsSession(ctx, q, m.SessionID, *m.AuthorID)
		if err != nil {
			return err
		}
		if mode != ModeRounds {
			return errNotRounds
		}
		r, err := scanRound(q.QueryRow(ctx, `SELECT `+roundCols+` FROM game.rounds r
			WHERE r.session_id = $1 AND r.status = 'open'`, m.SessionID))
		switch {
		case err == pgx.ErrNoRows:
		case err != nil:
			return err
		case !r.ClosesAt.After(now):
			rt, err := newTurn()
			if err != nil {
				return err
			}
			c, err := closeRoundTx(ctx, q, r, rt, RoundTimedOut)
			if err != nil {
				return err
			}
			act.Closed = append(act.Closed, c)
		default:
			act.Round = r
		}
		if act.Round.ID == uuid.Nil {
			act.Round, err = scanRound(q.QueryRow(ctx, `INSERT INTO game.rounds AS r (id, session_id, closes_at)
				VALUES ($1, $2, now() + make_interval(secs => $3)) RETURNING `+roundCols,
				uuid.Must(uuid.NewV7()), m.SessionID, timeout))
			if err != nil {
				return err
			}
			act.Opened = true
		}
		for _, p := range act.Round.Acted {
			if p == *m.AuthorID {
				return apperr.New(apperr.Conflict, "you have already acted in this round; wait for the Dungeon Master")
			}
		}
		if act.Message, err = scanMessage(q.QueryRow(ctx, `INSERT INTO game.messages (id, session_id, role, author_id, content, visibility, round_id)
			VALUES ($1, $2, 'player', $3, $4, 'public', $5) RETURNING `+messageCols,
			m.ID, m.SessionID, m.AuthorID, m.Content, act.Round.ID)); err != nil {
			return err
		}
		act.Round.Acted = append(act.Round.Acted, *m.AuthorID)
		var all bool
		if err := q.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM game.session_members sm WHERE sm.session_id = $1
			AND NOT EXISTS (SELECT 1 FROM game.messages a WHERE a.round_id = $2 AND a.author_id = sm.player_id))`,
			m.SessionID, act.Round.ID).Scan(&all); err != nil {
			return err
		}
		if !all {
			return nil
		}
		rt, err := newTurn()
		if err != nil {
			return err
		}
		c, err := closeRoundTx(ctx, q, act.Round, rt, RoundAllActed)
		if err != nil {
			return err
		}
		act.Round = c.Round
		act.Closed = append(act.Closed, c)
		return nil
	})
	return act, postgres.Translate(err, "round")
}

// closeOpenRound closes the session's open round (the owner's close, or a
// switch back to free mode); errNoOpenRound when there is none.
func (s *Store) closeOpenRound(ctx context.Context, q querier, sessionID uuid.UUID, rt roundTurn, reason string) (closedRound, error) {
	r, err := scanRound(q.QueryRow(ctx, `SELECT `+roundCols+` FROM game.rounds r
		WHERE r.session_id = $1 AND r.status = 'open'`, sessionID))
	if err == pgx.ErrNoRows {
		return closedRound{}, errNoOpenRound
	}
	if err != nil {
		return closedRound{}, err
	}
	return closeRoundTx(ctx, q, r, rt, reason)
}

// closeRound closes the open round of a session the player owns.
func (s *Store) closeRound(ctx context.Context, playerID, sessionID uuid.UUID, rt roundTurn) (c closedRound, err error) {
	err = s.Tx(ctx, func(q querier) error {
		if err := requireOwner(ctx, q, sessionID, playerID); err != nil {
			return err
		}
		if _, _, err := lockRoundsSession(ctx, q, sessionID, playerID); err != nil {
			return err
		}
		c, err = s.closeOpenRound(ctx, q, sessionID, rt, RoundClosedByOwner)
		return err
	})
	return c, postgres.Translate(err, "round")
}

// dueRounds lists open rounds whose time passed at now, oldest first.
func (s *Store) dueRounds(ctx context.Context, now time.Time, limit int) ([]Round, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+roundCols+` FROM game.rounds r
		WHERE r.status = 'open' AND r.closes_at <= $1 ORDER BY r.closes_at LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Round, error) { return scanRound(row) })
}

// closeDueRound closes a round past its time at now, if it is still open
// (a concurrent action or close may have won: then ok is false).
func (s *Store) closeDueRound(ctx context.Context, r Round, now time.Time, rt roundTurn) (c closedRound, ok bool, err error) {
	err = s.Tx(ctx, func(q querier) error {
		if _, err := q.Exec(ctx, `SELECT 1 FROM game.sessions WHERE id = $1 FOR UPDATE`, r.SessionID); err != nil {
			return err
		}
		cur, err := scanRound(q.QueryRow(ctx, `SELECT `+roundCols+` FROM game.rounds r
			WHERE r.id = $1 AND r.status = 'open' AND r.closes_at <= $2`, r.ID, now))
		if err == pgx.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		c, err = closeRoundTx(ctx, q, cur, rt, RoundTimedOut)
		ok = err == nil
		return err
	})
	return c, ok, postgres.Translate(err, "round")
}

// closeRoundTx closes an open round (its session's row locked by the
// caller) and creates the ONE turn that answers its actions: its player
// message is the round's last action (the turn is ordered after it), its
// player the session's owner, and its prompt presents every action
// (Pipeline.Retrieve, roundActionsSQL).
func closeRoundTx(ctx context.Context, q querier, r Round, rt roundTurn, reason string) (closedRound, error) {
	out := closedRound{Round: r}
	out.Round.Reason = reason
	var last uuid.UUID
	err := q.QueryRow(ctx, `SELECT id FROM game.messages WHERE round_id = $1 ORDER BY seq DESC LIMIT 1`, r.ID).Scan(&last)
	if err != nil && err != pgx.ErrNoRows {
		return out, err
	}
	var turnID *uuid.UUID
	if err == nil {
		t := rt.Turn
		if _, err := q.Exec(ctx, `UPDATE game.messages SET turn_id = $2 WHERE id = $1`, last, t.ID); err != nil {
			return out, err
		}
		nt, err := scanTurn(q.QueryRow(ctx, `INSERT INTO game.turns AS t (id, session_id, player_id, player_message_id, seed, status, dice_seed, dice_commitment)
			SELECT $1::uuid, m.session_id, m.author_id, m.id, $4::bigint, 'queued', $5::bytea, $6::text
			FROM game.messages m WHERE m.id = $3 AND m.session_id = $2
			RETURNING `+turnCols, t.ID, r.SessionID, last, t.Seed, t.diceSeed, t.DiceCommitment))
		if err != nil {
			return out, err
		}
		out.Turn, turnID = &nt, &nt.ID
		// As every turn: reveal the used seed of player rolls and open the
		// next (docs/DICE.md).
		if _, err := q.Exec(ctx, `UPDATE game.dice_seeds SET revealed_at = now()
			WHERE session_id = $1 AND revealed_at IS NULL AND next_roll > 0`, r.SessionID); err != nil {
			return out, err
		}
		if _, err := q.Exec(ctx, `INSERT INTO game.dice_seeds (id, session_id, seed, commitment)
			SELECT $2::uuid, $1::uuid, $3::bytea, $4::text
			WHERE NOT EXISTS (SELECT 1 FROM game.dice_seeds WHERE session_id = $1 AND revealed_at IS NULL)`,
			r.SessionID, rt.Next.ID, rt.Next.Seed[:], rt.Next.Seed.Commitment()); err != nil {
			return out, err
		}
		if _, err := q.Exec(ctx, `UPDATE game.sessions SET updated_at = now() WHERE id = $1`, r.SessionID); err != nil {
			return out, err
		}
	}
	if err := q.QueryRow(ctx, `UPDATE game.rounds SET status = 'closed', closed_at = now(), turn_id = $2
		WHERE id = $1 RETURNING closed_at`, r.ID, turnID).Scan(&out.Round.ClosedAt); err != nil {
		return out, err
	}
	out.Round.Status, out.Round.TurnID = RoundClosed, turnID
	return out, nil
}

// updateSession applies a patch to a session the player owns; switching
// to free mode closes the open round (rt answers it).
func (s *Store) updateSession(ctx context.Context, playerID, id uuid.UUID, title, mode *string, timeout *int, rt func() (roundTurn, error)) (out Session, closed *closedRound, err error) {
	err = s.Tx(ctx, func(q querier) error {
		if err := requireOwner(ctx, q, id, playerID); err != nil {
			return err
		}
		var err error
		out, err = scanSession(q.QueryRow(ctx, `UPDATE game.sessions s SET title = coalesce($2, s.title),
			mode = coalesce($3, s.mode), round_timeout = coalesce($4, s.round_timeout), updated_at = now()
			WHERE s.id = $1 RETURNING `+sessionCols, id, title, mode, timeout))
		if err != nil || out.Mode != ModeFree {
			return err
		}
		t, err := rt()
		if err != nil {
			return err
		}
		c, err := s.closeOpenRound(ctx, q, id, t, RoundModeChanged)
		if err == errNoOpenRound {
			return nil
		}
		closed = &c
		return err
	})
	err = s.afterWrite(ctx, err, id, hotSession)
	return out, closed, postgres.Translate(err, "session")
}

// turnRoundSQL is the round a turn answers ($1 the turn): its player
// message's round (NULL for a turn that is not a round's). Reading it
// through the player message, a regenerated turn answers the same round.
const turnRoundSQL = `SELECT pm.round_id FROM game.turns t JOIN game.messages pm ON pm.id = t.player_message_id WHERE t.id = $1`

// roundActionsSQL reads the actions of the round a turn answers, oldest
// first, each with who acted: the member's character's name, else the
// player's display name.
const roundActionsSQL = `SELECT m.id, m.content, coalesce(c.name, p.display_name, 'a player')
	FROM game.messages m
	LEFT JOIN game.session_members sm ON sm.session_id = m.session_id AND sm.player_id = m.author_id
	LEFT JOIN game.characters c ON c.id = sm.character_id
	LEFT JOIN auth.players p ON p.id = m.author_id
	WHERE m.round_id = (` + turnRoundSQL + `)
	ORDER BY m.seq`

// openRound reads a session's open round with who acted (in order) and
// which members are still awaited (the owner first, then by joining);
// nil when the session has none. The caller checked membership.
func (s *Store) openRound(ctx context.Context, sessionID uuid.UUID) (*OpenRound, error) {
	var r OpenRound
	err := s.pool.QueryRow(ctx, `SELECT r.id, r.opened_at, r.closes_at,
			coalesce((SELECT array_agg(a.author_id ORDER BY a.seq) FROM game.messages a
				WHERE a.round_id = r.id AND a.author_id IS NOT NULL), '{}'),
			coalesce((SELECT array_agg(m.player_id ORDER BY m.role = 'owner' DESC, m.joined_at, m.player_id)
				FROM game.session_members m WHERE m.session_id = r.session_id
				AND NOT EXISTS (SELECT 1 FROM game.messages a WHERE a.round_id = r.id AND a.author_id = m.player_id)), '{}')
		FROM game.rounds r WHERE r.session_id = $1 AND r.status = 'open'`, sessionID).
		Scan(&r.RoundID, &r.OpenedAt, &r.ClosesAt, &r.Acted, &r.Awaiting)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, postgres.Translate(err, "round")
	}
	return &r, nil
}
