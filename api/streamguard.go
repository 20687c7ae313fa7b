package api

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/auth"
)

// StreamGuard keeps account of this replica's open SSE streams:
//
//   - it ends a stream when the login that opened it is revoked (Revoke,
//     fed by auth's revocation announcements from every replica) and when
//     the access token behind its credential expires, so a stream never
//     outlives what authorised it (the web client reconnects with a fresh
//     ticket);
//   - it ends a player's streams of a session when the player is removed
//     from it (EndMember, fed by the party's removal announcements);
//   - it caps the open streams per player and per client IP (429).
//
// The counts are this replica's: see config.StreamLimits for why.
type StreamGuard struct {
	maxPerPlayer, maxPerIP int

	mu        sync.Mutex
	open      map[*guardedStream]struct{}
	perPlayer map[uuid.UUID]int
	perIP     map[string]int
}

// NewStreamGuard returns a guard with the given caps (0: no cap).
func NewStreamGuard(maxPerPlayer, maxPerIP int) *StreamGuard {
	return &StreamGuard{
		maxPerPlayer: maxPerPlayer, maxPerIP: maxPerIP,
		open:      make(map[*guardedStream]struct{}),
		perPlayer: make(map[uuid.UUID]int),
		perIP:     make(map[string]int),
	}
}

// streamRetryAfter is the Retry-After of a refused stream: streams end on
// their own (a turn stream with its turn, any stream at its token's expiry).
const streamRetryAfter = 10 * time.Second

// guardedStream is one open stream.
type guardedStream struct {
	g       *StreamGuard
	p       auth.Principal
	ip      string
	session uuid.UUID // the session the stream belongs to (a turn's, for a turn stream)
	stop    chan struct{}
	timer   *time.Timer
	ended   sync.Once
	freed   sync.Once
}

// admit counts a new stream of p from ip, or refuses it over a cap.
func (g *StreamGuard) admit(p auth.Principal, ip string, session uuid.UUID) (*guardedStream, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.maxPerPlayer > 0 && g.perPlayer[p.PlayerID] >= g.maxPerPlayer {
		return nil, apperr.Limited(streamRetryAfter, "too many open event streams for this player")
	}
	if g.maxPerIP > 0 && g.perIP[ip] >= g.maxPerIP {
		return nil, apperr.Limited(streamRetryAfter, "too many open event streams from this address")
	}
	s := &guardedStream{g: g, p: p, ip: ip, session: session, stop: make(chan struct{})}
	g.open[s] = struct{}{}
	g.perPlayer[p.PlayerID]++
	g.perIP[ip]++
	if !p.AccessExpiresAt.IsZero() {
		s.timer = time.AfterFunc(time.Until(p.AccessExpiresAt), s.end)
	}
	return s, nil
}

// end makes the stream finish (its Stop channel closes).
func (s *guardedStream) end() { s.ended.Do(func() { close(s.stop) }) }

// release uncounts the stream once it has ended; safe to call twice.
func (s *guardedStream) release() {
	s.freed.Do(func() {
		if s.timer != nil {
			s.timer.Stop()
		}
		g := s.g
		g.mu.Lock()
		defer g.mu.Unlock()
		delete(g.open, s)
		if g.perPlayer[s.p.PlayerID]--; g.perPlayer[s.p.PlayerID] <= 0 {
			delete(g.perPlayer, s.p.PlayerID)
		}
		if g.perIP[s.ip]--; g.perIP[s.ip] <= 0 {
			delete(g.perIP, s.ip)
		}
	})
}

// Revoke ends every open stream whose credential r revokes.
func (g *StreamGuard) Revoke(r auth.Revocation) {
	g.mu.Lock()
	var hit []*guardedStream
	for s := range g.open {
		if s.p.PlayerID == r.PlayerID && r.Covers(s.p) {
			hit = append(hit, s)
		}
	}
	g.mu.Unlock()
	for _, s := range hit {
		s.end()
	}
}

// EndMember ends every open stream of a player's in a session: the player
// was removed from it (announced by the replica that removed them).
func (g *StreamGuard) EndMember(sessionID, playerID uuid.UUID) {
	g.mu.Lock()
	var hit []*guardedStream
	for s := range g.open {
		if s.session == sessionID && s.p.PlayerID == playerID {
			hit = append(hit, s)
		}
	}
	g.mu.Unlock()
	for _, s := range hit {
		s.end()
	}
}
