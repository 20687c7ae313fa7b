package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// LiveChannel is the pub/sub channel a session's events are announced on.
// An API process subscribes to the channels of the sessions its clients
// watch (see Hub). It shares its stream's hash tag, so that on a Redis
// Cluster the publish script's SPUBLISH goes to the node that owns the
// stream (a script may only touch its own slot).
func LiveChannel(sessionID uuid.UUID) string { return "events:live:{" + sessionID.String() + "}" }

// sessionOfChannel reads the session back from a LiveChannel name.
func sessionOfChannel(ch string) (uuid.UUID, bool) {
	const prefix = "events:live:{"
	if len(ch) != len(prefix)+36+1 || ch[:len(prefix)] != prefix || ch[len(ch)-1] != '}' {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(ch[len(prefix) : len(ch)-1])
	return id, err == nil
}

// StreamTTL is how long a session stream outlives its last event. It is
// refreshed on every publish, so only abandoned sessions expire.
const StreamTTL = 7 * 24 * time.Hour

// StreamKey is the Redis Stream of one session. The hash tag {session}
// keeps it in the slot of its LiveChannel on a Redis Cluster.
func StreamKey(sessionID uuid.UUID) string { return "events:session:{" + sessionID.String() + "}" }

// publishScript appends to the session stream and announces the entry on
// the session's live channel (PUBLISH, or SPUBLISH on a Cluster: ARGV[9];
// ARGV[10] is session.deleted, the tombstone that refuses more events;
// ARGV[11] and ARGV[12] the audience, "to" one player / "except" one)
// in one atomic step, so a subscriber that replays the
// stream and then follows the channel can neither miss nor reorder events.
//
// Each entry also records "prev", the id of the entry before it. Trimming
// removes a prefix of the stream, so the first retained entry's prev is the
// last id trimmed away: a reader knows exactly whether anything after its
// position is gone. (XINFO's max-deleted-entry-id cannot tell: Redis 7.0
// updates it on XDEL only, not when MAXLEN trims.)
//
// The announcement is built by Go around the id only Redis knows:
// ARGV[6] .. id .. ARGV[7] is the compact JSON {"id", "session", "type",
// "turn", "data"}; Lua never re-encodes the data.
//
// A stream whose last entry is session.deleted (see EndSession) takes no
// more events: the script fails with GONE, and so does Publish
// (ErrSessionDeleted).
var publishScript = redis.NewScript(`
local prev = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  prev = last[1][1]
  if last[1][2][2] == ARGV[10] then return redis.error_reply('GONE the session was deleted') end
end
local fields = {'type', ARGV[2], 'turn', ARGV[3], 'data', ARGV[4], 'prev', prev}
if ARGV[11] ~= '' then table.insert(fields, 'to'); table.insert(fields, ARGV[11]) end
if ARGV[12] ~= '' then table.insert(fields, 'except'); table.insert(fields, ARGV[12]) end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call(ARGV[9], ARGV[8], ARGV[6] .. id .. ARGV[7])
return id
`)

// Publisher appends events to session streams. It is safe for concurrent use.
type Publisher struct {
	rdb     redis.UniversalClient
	maxLen  int64
	ttl     time.Duration
	publish string // PUBLISH, or SPUBLISH on a Redis Cluster
	observe PublishObserver
}

// PublishObserver is told the outcome of every publish to Redis (metrics).
// It must be cheap and safe for concurrent use.
type PublishObserver func(eventType string, err error)

// WithObserver sets the publisher's observer; call it at construction,
// before the publisher is shared.
func (p *Publisher) WithObserver(o PublishObserver) *Publisher {
	p.observe = o
	return p
}

// NewPublisher returns a publisher that bounds every session stream to
// about maxLen entries (MAXLEN ~, trimmed by whole radix-tree nodes, so a
// stream may briefly hold up to one node — 100 entries by default — more).
func NewPublisher(rdb redis.UniversalClient, maxLen int64) *Publisher {
	if maxLen < 1 {
		maxLen = 1
	}
	publish := "PUBLISH"
	if _, ok := rdb.(*redis.ClusterClient); ok {
		publish = "SPUBLISH" // sharded: only the channel's node hears it, not the whole cluster
	}
	return &Publisher{rdb: rdb, maxLen: maxLen, ttl: StreamTTL, publish: publish}
}

// Publish appends e to the session's stream and notifies live subscribers,
// atomically, and returns the new entry's id. e.ID is ignored.
func (p *Publisher) Publish(ctx context.Context, sessionID uuid.UUID, e Event) (string, error) {
	if sessionID == uuid.Nil {
		return "", fmt.Errorf("events: publish %s: no session", e.Type)
	}
	data, err := e.normalize()
	if err != nil {
		return "", err
	}
	if err := checkAudience(e); err != nil {
		return "", err
	}
	prefix, suffix := liveEnvelope(sessionID, e, data)
	if e.Ephemeral {
		err := p.announce(ctx, LiveChannel(sessionID), prefix+suffix)
		if p.observe != nil {
			p.observe(e.Type, err)
		}
		if err != nil {
			return "", apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
		}
		return "", nil
	}
	id, err := publishScript.Run(ctx, p.rdb,
		[]string{StreamKey(sessionID)},
		p.maxLen, e.Type, e.TurnID, data, p.ttl.Milliseconds(), prefix, suffix, LiveChannel(sessionID), p.publish, TypeSessionDeleted, e.To, e.Except,
	).Text()
	if isGone(err) {
		return "", ErrSessionDeleted
	}
	if p.observe != nil {
		p.observe(e.Type, err)
	}
	if err != nil {
		return "", apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
	}
	return id, nil
}

// announce publishes a live-only message on a session's channel the way
// the scripts do: PUBLISH, or SPUBLISH on a Cluster.
func (p *Publisher) announce(ctx context.Context, channel, msg string) error {
	if p.publish == "SPUBLISH" {
		return p.rdb.SPublish(ctx, channel, msg).Err()
	}
	return p.rdb.Publish(ctx, channel, msg).Err()
}

// PublishTurn builds an event of a turn (NewEvent) and publishes it: the
// transport behind the game's Publisher.
func (p *Publisher) PublishTurn(ctx context.Context, sessionID, turnID uuid.UUID, typ string, data any) (string, error) {
	e, err := NewEvent(typ, turnID, data)
	if err != nil {
		return "", err
	}
	return p.Publish(ctx, sessionID, e)
}

// PublishAudience publishes an event of a turn (or of the session, with
// uuid.Nil) to an audience: one player, everybody but one, and/or live only.
func (p *Publisher) PublishAudience(ctx context.Context, sessionID, turnID uuid.UUID, a game.Audience, typ string, data any) (string, error) {
	e, err := NewEvent(typ, turnID, data)
	if err != nil {
		return "", err
	}
	if a.To != uuid.Nil {
		e.To = a.To.String()
	}
	if a.Except != uuid.Nil {
		e.Except = a.Except.String()
	}
	e.Ephemeral = a.Ephemeral
	return p.Publish(ctx, sessionID, e)
}

func checkAudience(e Event) error {
	for _, s := range []string{e.To, e.Except} {
		if s == "" {
			continue
		}
		if u, err := uuid.Parse(s); err != nil || u.String() != s {
			return fmt.Errorf("events: audience %q is not a canonical UUID", s)
		}
	}
	return nil
}

var (
	_ game.Publisher         = (*Publisher)(nil)
	_ game.AudiencePublisher = (*Publisher)(nil)
)

// ErrSessionDeleted is returned by Publish for a session whose stream was
// ended by EndSession: a generation still running for a deleted session
// stops at its next delta, whether or not its cancel signal arrived.
var ErrSessionDeleted = apperr.NotFoundf("session")

// DeletedStreamTTL is how long the tombstone of a deleted session's stream
// (its one session.deleted entry) stays in Redis: long enough to refuse
// what a generation still running for the session might publish (its
// heartbeat stops it within seconds), short enough to leave nothing behind.
const DeletedStreamTTL = time.Hour

// endScript ends a session's stream: every entry is trimmed away (XTRIM
// keeps the stream's last id, so the new entry's id is above every id a
// client holds), one session.deleted entry is added, announced like any
// event, and the key expires after DeletedStreamTTL. Running it twice
// changes nothing.
var endScript = redis.NewScript(`
local prev = '0-0'
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if last[1] then
  prev = last[1][1]
  if last[1][2][2] == ARGV[1] then return prev end
end
redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
local id = redis.call('XADD', KEYS[1], '*', 'type', ARGV[1], 'turn', '', 'data', ARGV[2], 'prev', prev)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call(ARGV[7], ARGV[6], ARGV[4] .. id .. ARGV[5])
return id
`)

// EndSession ends the stream of a deleted session: its history is
// dropped, and every open stream of the session, on every API replica,
// receives session.deleted and ends (implements game.SessionEnder).
func (p *Publisher) EndSession(ctx context.Context, sessionID uuid.UUID) error {
	e, err := NewEvent(TypeSessionDeleted, uuid.Nil, map[string]any{"session_id": sessionID})
	if err != nil {
		return err
	}
	data, err := e.normalize()
	if err != nil {
		return err
	}
	prefix, suffix := liveEnvelope(sessionID, e, data)
	err = endScript.Run(ctx, p.rdb, []string{StreamKey(sessionID)},
		TypeSessionDeleted, data, DeletedStreamTTL.Milliseconds(), prefix, suffix, LiveChannel(sessionID), p.publish).Err()
	if p.observe != nil {
		p.observe(e.Type, err)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Unavailable, "event stream unavailable")
	}
	return nil
}

var _ game.SessionEnder = (*Publisher)(nil)

func isGone(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "GONE")
}

// liveEnvelope returns the JSON around the entry id of a live announcement:
// prefix + id + suffix = {"id":"…","session":"…","type":"…","turn":"…",
// ["to":"…",]["except":"…",]["eph":true,]"data":{…}}. An ephemeral event
// has the id "". Every piece is already safe to embed: uuids, a validated
// type, compact JSON.
func liveEnvelope(sessionID uuid.UUID, e Event, data []byte) (prefix, suffix string) {
	var b bytes.Buffer
	b.Grow(160 + len(e.Type) + len(data))
	b.WriteString(`","session":"`)
	b.WriteString(sessionID.String())
	b.WriteString(`","type":`)
	b.WriteString(strconv.Quote(e.Type))
	b.WriteString(`,"turn":"`)
	b.WriteString(e.TurnID)
	b.WriteString(`",`)
	if e.To != "" {
		b.WriteString(`"to":"` + e.To + `",`)
	}
	if e.Except != "" {
		b.WriteString(`"except":"` + e.Except + `",`)
	}
	if e.Ephemeral {
		b.WriteString(`"eph":true,`)
	}
	b.WriteString(`"data":`)
	b.Write(data)
	b.WriteByte('}')
	return `{"id":"`, b.String()
}
