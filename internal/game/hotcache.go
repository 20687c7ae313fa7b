package game

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/lore"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// HotCache keeps reads every turn makes of a session out of the database
// (internal/hotcache, on Redis). Get answers the data or, on a miss, the
// generation to Put what the caller then reads under; Invalidate, called
// after a write of that data commits and before the write is acknowledged,
// makes every earlier read unusable.
type HotCache interface {
	Get(ctx context.Context, sessionID uuid.UUID, name string) (data []byte, gen string, hit bool, err error)
	Put(ctx context.Context, sessionID uuid.UUID, name, gen string, data []byte) error
	Invalidate(ctx context.Context, sessionID uuid.UUID, name string) error
}

// hotLore names a session's enabled lore entries (SessionLore) in the cache.
// Its writers: insertLore, updateLore, deleteLore. A new session's lore
// (a character's book, a fork, an import) is written before the session
// has a turn, so nothing of it can be cached yet.
const hotLore = "lore"

// hotMembers names a session's member list (SessionAccess, which every
// turn's stream asks) in the cache. Its writers: joinByInvite,
// removeMember, deleteSession (the members go with the session); a new
// session's owner is its member before anybody can ask.
const hotMembers = "members"

// invalidateTimeout bounds an invalidation; it runs even when the request
// was cancelled after its write committed.
const invalidateTimeout = 5 * time.Second

// WithHotCache makes the store serve hot reads from c (nil: none).
func (s *Store) WithHotCache(c HotCache) *Store {
	s.hot = c
	return s
}

// invalidate replaces the cached read `name` of a session after a write of
// it; an error means the write must not be acknowledged as done.
func (s *Store) invalidate(ctx context.Context, sessionID uuid.UUID, name string) error {
	if s.hot == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), invalidateTimeout)
	defer cancel()
	if err := s.hot.Invalidate(ctx, sessionID, name); err != nil {
		return fmt.Errorf("hot cache: invalidate %s of session %s: %w", name, sessionID, err)
	}
	return nil
}

// afterWrite invalidates a cached read after a write of it was tried
// (committed or not: an error of the commit may hide a commit); it returns
// the write's error, else the invalidation's.
func (s *Store) afterWrite(ctx context.Context, werr error, sessionID uuid.UUID, name string) error {
	ierr := s.invalidate(ctx, sessionID, name)
	if werr != nil {
		return werr
	}
	return ierr
}

// sessionAccess answers nil when the player is a member of the session
// and not_found ("session") otherwise, as getSession does.
func (s *Store) sessionAccess(ctx context.Context, playerID, sessionID uuid.UUID) error {
	if s.hot == nil {
		_, err := s.getSession(ctx, s.pool, playerID, sessionID)
		return err
	}
	var members []uuid.UUID
	data, gen, hit, err := s.hot.Get(ctx, sessionID, hotMembers)
	if err != nil || !hit || json.Unmarshal(data, &members) != nil {
		rows, rerr := s.pool.Query(ctx, `SELECT m.player_id FROM game.session_members m
			JOIN game.sessions s ON s.id = m.session_id WHERE m.session_id = $1`, sessionID)
		if rerr == nil {
			members, rerr = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		}
		if rerr != nil {
			return postgres.Translate(rerr, "session")
		}
		if err == nil {
			if js, jerr := json.Marshal(members); jerr == nil {
				_ = s.hot.Put(ctx, sessionID, hotMembers, gen, js) // a failed Put only costs the next read
			}
		}
	}
	if slices.Contains(members, playerID) {
		return nil
	}
	return postgres.Translate(pgx.ErrNoRows, "session")
}

// cachedLore is SessionLore through the cache: a hit, or a database read
// stored under the generation seen before it. When the cache cannot be
// reached the database answers alone.
func (s *Store) cachedLore(ctx context.Context, sessionID uuid.UUID) ([]lore.Entry, error) {
	data, gen, hit, err := s.hot.Get(ctx, sessionID, hotLore)
	if err == nil && hit {
		var out []lore.Entry
		if json.Unmarshal(data, &out) == nil {
			return out, nil
		}
	}
	out, rerr := s.sessionLoreFromDB(ctx, sessionID)
	if rerr != nil || err != nil {
		return out, rerr
	}
	if js, jerr := json.Marshal(out); jerr == nil {
		_ = s.hot.Put(ctx, sessionID, hotLore, gen, js) // a failed Put only costs the next read
	}
	return out, nil
}
