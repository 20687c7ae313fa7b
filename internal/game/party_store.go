package game

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Member roles.
const (
	RoleOwner  = "owner"
	RoleMember = "player"
)

// memberRole returns the player's role in a session: not_found when the
// player is not a member (a stranger or a removed member never learns the
// session exists).
func memberRole(ctx context.Context, q querier, sessionID, playerID uuid.UUID) (string, error) {
	var role string
	err := q.QueryRow(ctx, `SELECT role FROM game.session_members WHERE session_id = $1 AND player_id = $2`,
		sessionID, playerID).Scan(&role)
	return role, postgres.Translate(err, "session")
}

// requireOwner answers not_found for a non-member and forbidden for a
// member who is not the owner.
func requireOwner(ctx context.Context, q querier, sessionID, playerID uuid.UUID) error {
	role, err := memberRole(ctx, q, sessionID, playerID)
	if err != nil {
		return err
	}
	if role != RoleOwner {
		return apperr.New(apperr.Forbidden, "only the session's owner may do this")
	}
	return nil
}

// openInviteCond is the SQL condition of an invite that can still be used.
const openInviteCond = `i.revoked_at IS NULL AND i.expires_at > now() AND (i.max_uses IS NULL OR i.uses < i.max_uses)`

const inviteCols = `i.id, i.session_id, i.max_uses, i.uses, i.expires_at, i.created_at`

func scanInvite(row pgx.Row) (Invite, error) {
	var in Invite
	err := row.Scan(&in.ID, &in.SessionID, &in.MaxUses, &in.Uses, &in.ExpiresAt, &in.CreatedAt)
	return in, err
}

// insertInvite stores an invite of a session the player owns, refusing
// to go past maxOpen open invites (the session row is locked so two
// concurrent creates cannot both pass the count).
func (s *Store) insertInvite(ctx context.Context, playerID uuid.UUID, in Invite, codeHash []byte, maxOpen int) (Invite, error) {
	var out Invite
	err := s.Tx(ctx, func(q querier) error {
		if err := requireOwner(ctx, q, in.SessionID, playerID); err != nil {
			return err
		}
		var open int
		if err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM game.invites i WHERE i.session_id = s.id AND `+openInviteCond+`)
			FROM game.sessions s WHERE s.id = $1 FOR UPDATE`, in.SessionID).Scan(&open); err != nil {
			return err
		}
		if maxOpen > 0 && open >= maxOpen {
			return apperr.New(apperr.Conflict, "a session may have at most %d open invites; revoke one first", maxOpen)
		}
		var err error
		out, err = scanInvite(q.QueryRow(ctx, `INSERT INTO game.invites AS i (id, session_id, code_hash, created_by, max_uses, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+inviteCols,
			in.ID, in.SessionID, codeHash, playerID, in.MaxUses, in.ExpiresAt))
		return err
	})
	return out, postgres.Translate(err, "invite")
}

// revokeInvite ends an invite of a session the player owns.
func (s *Store) revokeInvite(ctx context.Context, playerID, sessionID uuid.UUID, codeHash []byte) error {
	return postgres.Translate(s.Tx(ctx, func(q querier) error {
		if err := requireOwner(ctx, q, sessionID, playerID); err != nil {
			return err
		}
		tag, err := q.Exec(ctx, `UPDATE game.invites SET revoked_at = now()
			WHERE session_id = $1 AND code_hash = $2 AND revoked_at IS NULL`, sessionID, codeHash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return apperr.NotFoundf("invite")
		}
		return nil
	}), "invite")
}

// joinByInvite makes the player a member of the invite's session, playing
// characterID (one of the player's own). An unknown, revoked, used up or
// expired code is not_found. A player who is already a member gets the
// membership back (nothing is used up; joined is false). The invite row
// and then the session row are locked, so concurrent joins can neither
// overuse the invite nor pass the member cap.
func (s *Store) joinByInvite(ctx context.Context, playerID uuid.UUID, codeHash []byte, characterID uuid.UUID, maxMembers int) (Session, Member, bool, error) {
	var sess Session
	var mem Member
	var joined bool
	var sessionID uuid.UUID // known once the invite is read
	err := s.Tx(ctx, func(q querier) error {
		var inviteID uuid.UUID
		err := q.QueryRow(ctx, `SELECT i.id, i.session_id FROM game.invites i
			WHERE i.code_hash = $1 AND `+openInviteCond+` FOR UPDATE`, codeHash).Scan(&inviteID, &sessionID)
		if err == pgx.ErrNoRows {
			return apperr.NotFoundf("invite")
		}
		if err != nil {
			return err
		}
		if _, err := s.getCharacter(ctx, q, playerID, characterID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.Invalidf("character_id", "is not one of your characters")
			}
			return err
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM game.session_members m WHERE m.session_id = s.id)
			FROM game.sessions s WHERE s.id = $1 FOR UPDATE`, sessionID).Scan(&n); err != nil {
			return err
		}
		if _, err := memberRole(ctx, q, sessionID, playerID); err == nil {
			mem, err = s.member(ctx, q, sessionID, playerID)
			if err == nil {
				sess, err = s.getSession(ctx, q, playerID, sessionID)
			}
			return err
		} else if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		if maxMembers > 0 && n >= maxMembers {
			return apperr.New(apperr.Conflict, "the session is full (%d members)", maxMembers)
		}
		if _, err := q.Exec(ctx, `INSERT INTO game.session_members (session_id, player_id, role, character_id)
			VALUES ($1, $2, 'player', $3)`, sessionID, playerID, characterID); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `UPDATE game.invites SET uses = uses + 1 WHERE id = $1`, inviteID); err != nil {
			return err
		}
		joined = true
		if mem, err = s.member(ctx, q, sessionID, playerID); err != nil {
			return err
		}
		sess, err = s.getSession(ctx, q, playerID, sessionID)
		return err
	})
	if sessionID != uuid.Nil {
		err = s.afterWrite(ctx, err, sessionID, hotMembers)
	}
	return sess, mem, joined, postgres.Translate(err, "session")
}

// memberCols reads a member with their display name. The auth schema's
// players are read here, as the export does (exports_store.go), for the
// one column a party shows about each other.
const memberCols = `m.player_id, coalesce(p.display_name, ''), m.character_id, m.role, m.joined_at`

const memberFrom = ` FROM game.session_members m LEFT JOIN auth.players p ON p.id = m.player_id `

func scanMember(row pgx.Row) (Member, error) {
	var m Member
	err := row.Scan(&m.PlayerID, &m.DisplayName, &m.CharacterID, &m.Role, &m.JoinedAt)
	return m, err
}

func (s *Store) member(ctx context.Context, q querier, sessionID, playerID uuid.UUID) (Member, error) {
	m, err := scanMember(q.QueryRow(ctx, `SELECT `+memberCols+memberFrom+`WHERE m.session_id = $1 AND m.player_id = $2`, sessionID, playerID))
	return m, postgres.Translate(err, "member")
}

// listMembers returns a session's members, the owner first, if the player
// is one of them.
func (s *Store) listMembers(ctx context.Context, playerID, sessionID uuid.UUID) ([]Member, error) {
	if _, err := memberRole(ctx, s.pool, sessionID, playerID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+memberCols+memberFrom+`WHERE m.session_id = $1
		ORDER BY m.role = 'owner' DESC, m.joined_at, m.player_id LIMIT 200`, sessionID)
	if err != nil {
		return nil, postgres.Translate(err, "members")
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, postgres.Translate(err, "members")
		}
		out = append(out, m)
	}
	return out, postgres.Translate(rows.Err(), "members")
}

// removeMember ends target's membership: the owner removes anybody but
// themself, a member removes (leaves) only themself. The owner cannot
// leave (a session always has its owner; deleting it is the way out).
func (s *Store) removeMember(ctx context.Context, actorID, sessionID, targetID uuid.UUID) (Member, error) {
	var out Member
	err := s.Tx(ctx, func(q querier) error {
		role, err := memberRole(ctx, q, sessionID, actorID)
		if err != nil {
			return err
		}
		if actorID != targetID && role != RoleOwner {
			return apperr.New(apperr.Forbidden, "only the session's owner may remove another member")
		}
		if out, err = s.member(ctx, q, sessionID, targetID); err != nil {
			return err
		}
		if out.Role == RoleOwner {
			return apperr.New(apperr.Conflict, "the owner cannot leave the session; delete it instead")
		}
		_, err = q.Exec(ctx, `DELETE FROM game.session_members WHERE session_id = $1 AND player_id = $2`, sessionID, targetID)
		return err
	})
	err = s.afterWrite(ctx, err, sessionID, hotMembers)
	return out, postgres.Translate(err, "member")
}

// inviteLifetime bounds of an invite.
const (
	DefaultInviteTTL = 7 * 24 * time.Hour
	MinInviteTTL     = time.Minute
	MaxInviteTTL     = 30 * 24 * time.Hour
	MaxInviteUses    = 100
)

// visibleTo is the SQL condition of a message (alias a) that the player
// whose id is the parameter p may see: public, or whispered to them.
func visibleTo(a, p string) string {
	return `(` + a + `.visibility = 'public' OR ` + a + `.private_to = ` + p + `::uuid)`
}

// ErrAwaitTurn says a stage cannot run yet: an earlier turn of the same
// session is still being answered. The runner runs the stage again a
// little later (workers), which is not a failure. The error returned is an
// *AwaitTurnError (errors.Is it ErrAwaitTurn).
var ErrAwaitTurn = errors.New("game: an earlier turn of the session is still being answered")

// AwaitTurnError is ErrAwaitTurn with how many earlier turns of the
// session are still open: a turn far back in line need not look as often
// as the next one (its predecessor's end hands the next one on at once).
type AwaitTurnError struct{ Ahead int }

func (e *AwaitTurnError) Error() string        { return ErrAwaitTurn.Error() }
func (e *AwaitTurnError) Is(target error) bool { return target == ErrAwaitTurn }

// earlierTurnsOpen counts the turns of the same session that arrived
// before this one (their player message is older) and are not final yet.
func (s *Store) earlierTurnsOpen(ctx context.Context, turnID uuid.UUID) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM game.turns t
			JOIN game.messages pm ON pm.id = t.player_message_id
			JOIN game.turns o ON o.session_id = t.session_id AND o.id <> t.id
				AND o.status IN ('queued', 'embedding', 'retrieving', 'generating')
			JOIN game.messages om ON om.id = o.player_message_id AND om.seq < pm.seq
			WHERE t.id = $1`, turnID).Scan(&n)
	return n, postgres.Translate(err, "turn")
}

// nextAwaiting returns the session's oldest turn that waits for its turn
// (embedded, not yet retrieving), after the turn turnID ended.
func (s *Store) nextAwaiting(ctx context.Context, turnID uuid.UUID) (uuid.UUID, bool, error) {
	var id uuid.UUID
	err := s.pool.QueryRow(ctx, `SELECT o.id FROM game.turns t
		JOIN game.turns o ON o.session_id = t.session_id AND o.status = 'embedding' AND o.embed_ended_at IS NOT NULL
		JOIN game.messages om ON om.id = o.player_message_id
		WHERE t.id = $1 ORDER BY om.seq LIMIT 1`, turnID).Scan(&id)
	if err == pgx.ErrNoRows {
		return uuid.Nil, false, nil
	}
	return id, err == nil, postgres.Translate(err, "turn")
}

// memberCharacters fills in the members' characters.
func (s *Store) memberCharacters(ctx context.Context, ms []Member) error {
	var ids []uuid.UUID
	for _, m := range ms {
		if m.CharacterID != nil {
			ids = append(ids, *m.CharacterID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+characterCols+` FROM game.characters WHERE id = ANY($1::text[]::uuid[])`, uuidTexts(ids))
	if err != nil {
		return postgres.Translate(err, "characters")
	}
	defer rows.Close()
	byID := map[uuid.UUID]*Character{}
	for rows.Next() {
		c, err := scanCharacter(rows)
		if err != nil {
			return postgres.Translate(err, "characters")
		}
		byID[c.ID] = &c
	}
	if err := rows.Err(); err != nil {
		return postgres.Translate(err, "characters")
	}
	for i := range ms {
		if ms[i].CharacterID != nil {
			ms[i].Character = byID[*ms[i].CharacterID]
		}
	}
	return nil
}

// sessionMembersFromDB lists a session's members (the hot cache's
// hotMembers read).
func (s *Store) sessionMembersFromDB(ctx context.Context, sessionID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.player_id FROM game.session_members m
		JOIN game.sessions s ON s.id = m.session_id WHERE m.session_id = $1`, sessionID)
	if err == nil {
		var members []uuid.UUID
		members, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err == nil {
			return members, nil
		}
	}
	return nil, postgres.Translate(err, "session")
}
