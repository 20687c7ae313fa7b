package events

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// Presence turns this replica's session streams into the party's presence:
// a player's first open stream of a session takes a lease in Redis (Party)
// and, if nobody on any replica had one, publishes `presence` online; the
// lease is renewed while a stream is open; when the last one closes and
// none reopens within the grace period (a page reload), the lease is
// dropped and, if no other replica holds one, `presence` offline goes out.
// A replica that dies stops renewing: its leases expire (the members list
// shows the player offline), without an event.
type Presence struct {
	party *Party
	pub   *Publisher
	grace time.Duration

	mu      sync.Mutex
	local   map[presenceKeyT]int
	leaving map[presenceKeyT]*time.Timer
}

type presenceKeyT struct{ session, player uuid.UUID }

// NewPresence returns the presence of this replica's streams.
func NewPresence(party *Party, pub *Publisher, grace time.Duration) *Presence {
	if grace <= 0 {
		grace = 5 * time.Second
	}
	return &Presence{party: party, pub: pub, grace: grace,
		local: make(map[presenceKeyT]int), leaving: make(map[presenceKeyT]*time.Timer)}
}

// Join counts an open stream of a player in a session; the returned leave
// uncounts it (call it once, when the stream ends).
func (pr *Presence) Join(sessionID, playerID uuid.UUID) (leave func()) {
	k := presenceKeyT{sessionID, playerID}
	pr.mu.Lock()
	pr.local[k]++
	first := pr.local[k] == 1
	if t := pr.leaving[k]; t != nil {
		t.Stop() // back within the grace period: no offline, no online
		delete(pr.leaving, k)
		first = false
	}
	pr.mu.Unlock()
	if first {
		go pr.set(k, true)
	}
	var once sync.Once
	return func() { once.Do(func() { pr.leave(k) }) }
}

func (pr *Presence) leave(k presenceKeyT) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.local[k]--; pr.local[k] > 0 {
		return
	}
	delete(pr.local, k)
	pr.leaving[k] = time.AfterFunc(pr.grace, func() {
		pr.mu.Lock()
		if pr.local[k] > 0 {
			pr.mu.Unlock()
			return
		}
		delete(pr.leaving, k)
		pr.mu.Unlock()
		pr.set(k, false)
	})
}

// set takes or drops the lease and publishes the change, if any.
func (pr *Presence) set(k presenceKeyT, online bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	changed, err := pr.party.SetPresence(ctx, k.session, k.player, online)
	if err != nil {
		pr.party.log.Warn("party: presence update failed", "session_id", k.session, "err", err)
		return
	}
	if changed {
		// To the others: a player's own presence is no news to them.
		if _, err := pr.pub.PublishAudience(ctx, k.session, uuid.Nil, game.Audience{Except: k.player}, game.EventPresence,
			map[string]any{"player_id": k.player, "online": online}); err != nil {
			pr.party.log.Warn("party: presence event failed", "session_id", k.session, "err", err)
		}
	}
}

// Run renews the leases of this replica's open streams until ctx ends.
func (pr *Presence) Run(ctx context.Context) {
	t := time.NewTicker(pr.party.Lease() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pr.mu.Lock()
		keys := make([]presenceKeyT, 0, len(pr.local)+len(pr.leaving))
		for k := range pr.local {
			keys = append(keys, k)
		}
		for k := range pr.leaving {
			keys = append(keys, k) // still online during the grace period
		}
		pr.mu.Unlock()
		for _, k := range keys {
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if _, err := pr.party.SetPresence(rctx, k.session, k.player, true); err != nil && ctx.Err() == nil {
				pr.party.log.Warn("party: presence renewal failed", "session_id", k.session, "err", err)
			}
			cancel()
		}
	}
}
