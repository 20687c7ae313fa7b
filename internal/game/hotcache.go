package game

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/lore"
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
