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

// hotSession names a session's settings (sessionState: what PATCH
// /sessions/{id} changes and what every posted message asks, its mode) in
// the cache. Its writers: updateSession (title, mode, round timeout) and
// deleteSession. The session row's other columns that change (updated_at,
// the open dice seed's commitment) are not part of it: they change with
// every turn and roll, so GET /sessions/{id} reads the database.
const hotSession = "session"

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

// afterWrite invalidates cached reads after a write of them was tried
// (committed or not: an error of the commit may hide a commit); it returns
// the write's error, else the first invalidation's.
func (s *Store) afterWrite(ctx context.Context, werr error, sessionID uuid.UUID, names ...string) error {
	var ierr error
	for _, name := range names {
		if err := s.invalidate(ctx, sessionID, name); err != nil && ierr == nil {
			ierr = err
		}
	}
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
	members, err := readThrough(ctx, s, sessionID, hotMembers, s.sessionMembersFromDB)
	if err != nil {
		return err
	}
	if slices.Contains(members, playerID) {
		return nil
	}
	return postgres.Translate(pgx.ErrNoRows, "session")
}

// cachedLore is SessionLore through the cache.
func (s *Store) cachedLore(ctx context.Context, sessionID uuid.UUID) ([]lore.Entry, error) {
	return readThrough(ctx, s, sessionID, hotLore, s.sessionLoreFromDB)
}

// readThrough is a session's cached read `name`: a hit, or what load reads
// from the database, stored under the generation seen before reading it
// (hotcache.Cache.Get, Put). When the cache cannot be reached the database
// answers alone; a failed Put only costs the next read.
func readThrough[T any](ctx context.Context, s *Store, sessionID uuid.UUID, name string, load func(context.Context, uuid.UUID) (T, error)) (T, error) {
	data, gen, hit, err := s.hot.Get(ctx, sessionID, name)
	if err == nil && hit {
		var out T
		if json.Unmarshal(data, &out) == nil {
			return out, nil
		}
	}
	out, rerr := load(ctx, sessionID)
	if rerr != nil || err != nil {
		return out, rerr
	}
	if js, jerr := json.Marshal(out); jerr == nil {
		_ = s.hot.Put(ctx, sessionID, name, gen, js)
	}
	return out, nil
}

// sessionState is the part of a session row that hotSession caches.
type sessionState struct {
	Mode         string `json:"mode"`
	RoundTimeout int    `json:"round_timeout"`
}

// sessionMode reads a session's mode for one of its members (not_found
// "session" otherwise): the members and the settings through the cache
// when there is one, else one statement.
func (s *Store) sessionMode(ctx context.Context, sessionID, playerID uuid.UUID) (string, error) {
	if s.hot == nil {
		return s.sessionModeFromDB(ctx, sessionID, playerID)
	}
	if err := s.sessionAccess(ctx, playerID, sessionID); err != nil {
		return "", err
	}
	st, err := readThrough(ctx, s, sessionID, hotSession, s.sessionStateFromDB)
	return st.Mode, err
}
