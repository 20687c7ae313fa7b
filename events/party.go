package events

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

// RemovalsChannel is the Redis pub/sub channel on which a member's removal
// from a session is announced to every API replica, whose open streams of
// that player and session then end at once (WatchRemovals).
const RemovalsChannel = "party:removals"

// Party is the Redis side of party play: removals announced to every API
// replica, and presence (which players have a stream of a session open on
// any replica). It is safe for concurrent use.
type Party struct {
	rdb     redis.UniversalClient
	log     *slog.Logger
	replica string
	lease   time.Duration
}

// NewParty returns the party's Redis side. Presence leases last lease
// (default 30 s): a replica that dies takes its players offline after it.
func NewParty(rdb redis.UniversalClient, log *slog.Logger, lease time.Duration) *Party {
	if log == nil {
		log = slog.Default()
	}
	if lease <= 0 {
		lease = 30 * time.Second
	}
	return &Party{rdb: rdb, log: log, replica: uuid.NewString(), lease: lease}
}

var _ game.Party = (*Party)(nil)

// Removal is one announced removal.
type Removal struct {
	SessionID uuid.UUID `json:"session_id"`
	PlayerID  uuid.UUID `json:"player_id"`
}

// MemberRemoved announces a removal to every replica.
func (p *Party) MemberRemoved(ctx context.Context, sessionID, playerID uuid.UUID) error {
	msg, err := json.Marshal(Removal{SessionID: sessionID, PlayerID: playerID})
	if err != nil {
		return err
	}
	return p.rdb.Publish(ctx, RemovalsChannel, msg).Err()
}

// WatchRemovals calls fn with every removal announced by any replica until
// ctx ends, resubscribing after a pause when the subscription breaks. A
// removal announced while it is broken is not replayed: the removed
// player's stream then ends with its access token (every request and
// reconnect is refused at once: membership is checked in Postgres).
func (p *Party) WatchRemovals(ctx context.Context, fn func(Removal)) error {
	for ctx.Err() == nil {
		err := p.watchRemovals(ctx, fn)
		if ctx.Err() != nil {
			break
		}
		p.log.Warn("party: removal subscription lost, resubscribing", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (p *Party) watchRemovals(ctx context.Context, fn func(Removal)) error {
	return redisconn.WatchJSON(ctx, p.rdb, RemovalsChannel, p.log, "party removal", fn)
}

// presenceKey is a session's sorted set of "<player>|<replica>" members
// scored by the lease's end (unix ms): a player is online while one of
// their entries is unexpired.
func presenceKey(sessionID uuid.UUID) string { return "party:presence:" + sessionID.String() }

// Online returns the players with an unexpired presence lease.
func (p *Party) Online(ctx context.Context, sessionID uuid.UUID) (map[uuid.UUID]bool, error) {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	vals, err := p.rdb.ZRangeByScore(ctx, presenceKey(sessionID), &redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]bool, len(vals))
	for _, v := range vals {
		pid, _, _ := strings.Cut(v, "|")
		if id, err := uuid.Parse(pid); err == nil {
			out[id] = true
		}
	}
	return out, nil
}

// presenceScript sets or clears this replica's lease of a player and says
// whether the player's online state changed: it returns 1 when the player
// was offline before a set, or is offline after a clear, else 0. Expired
// leases of the session are dropped on the way.
var presenceScript = redis.NewScript(`
local key, now, member, player = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[4]
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local function online()
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if string.sub(m, 1, #player + 1) == player .. '|' then return true end
  end
  return false
end
if ARGV[3] == 'set' then
  local was = online()
  redis.call('ZADD', key, ARGV[5], member)
  redis.call('PEXPIRE', key, ARGV[6])
  if was then return 0 end
  return 1
end
redis.call('ZREM', key, member)
if online() then return 0 end
return 1
`)

// SetPresence takes (online) or drops this replica's lease of a player's
// presence in a session; changed reports whether the player's online
// state changed for the party (then a presence event is due).
func (p *Party) SetPresence(ctx context.Context, sessionID, playerID uuid.UUID, online bool) (changed bool, err error) {
	now := time.Now()
	op := "clear"
	if online {
		op = "set"
	}
	n, err := presenceScript.Run(ctx, p.rdb, []string{presenceKey(sessionID)},
		now.UnixMilli(), playerID.String()+"|"+p.replica, op, playerID.String(),
		now.Add(p.lease).UnixMilli(), (2 * p.lease).Milliseconds()).Int()
	return n == 1, err
}

// Lease is how long a presence lease lasts; a replica renews the leases
// of its open streams well within it.
func (p *Party) Lease() time.Duration { return p.lease }

// AllowTyping spends the player's typing signal of a session for interval
// (SET NX PX: shared by every replica).
func (p *Party) AllowTyping(ctx context.Context, sessionID, playerID uuid.UUID, interval time.Duration) (bool, error) {
	return p.rdb.SetNX(ctx, "party:typing:"+sessionID.String()+":"+playerID.String(), 1, interval).Result()
}
