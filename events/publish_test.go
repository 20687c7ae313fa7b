package events

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublish(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	h := startHub(t, HubOptions{})
	p := NewPublisher(rdb, 1000)
	ctx := context.Background()

	t.Run("a subscriber receives the published events in order", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		sub := subscribed(t, h, sid)
		defer sub.Close()
		require.NoError(t, sub.Err())
		other := subscribed(t, h, uuid.New())
		defer other.Close()

		want := publishN(t, p, sid, turn, 0, 20)
		for i, id := range want {
			select {
			case f := <-sub.C():
				require.NotNil(t, f)
				assert.Equal(t, id, f.Event.ID)
				assert.Equal(t, TypeDMDelta, f.Event.Type)
				assert.Equal(t, turn.String(), f.Event.TurnID)
				assert.Equal(t, i, num(t, f.Event))
			case <-time.After(patience):
				t.Fatalf("event %d not received", i)
			}
		}
		assert.Empty(t, other.C(), "another session's subscriber got events")
	})

	t.Run("the stream holds the entry with its fields and an expiry", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		id := publish(t, p, sid, TypeTurnStatus, turn, map[string]any{"status": "queued"})
		msgs, err := rdb.XRange(ctx, StreamKey(sid), "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, msgs, 1)
		assert.Equal(t, id, msgs[0].ID)
		assert.Equal(t, TypeTurnStatus, msgs[0].Values["type"])
		assert.Equal(t, turn.String(), msgs[0].Values["turn"])
		assert.Equal(t, "0-0", msgs[0].Values["prev"], "the first entry has no predecessor")
		assert.JSONEq(t, `{"turn_id":"`+turn.String()+`","status":"queued"}`, msgs[0].Values["data"].(string))
		ttl, err := rdb.PTTL(ctx, StreamKey(sid)).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, StreamTTL-time.Minute)
	})

	t.Run("MAXLEN keeps the stream bounded", func(t *testing.T) {
		sid := uuid.New()
		small := NewPublisher(rdb, 10)
		publishN(t, small, sid, uuid.New(), 0, 350)
		n, err := rdb.XLen(ctx, StreamKey(sid)).Result()
		require.NoError(t, err)
		// MAXLEN ~ trims whole nodes of (by default) 100 entries.
		assert.LessOrEqual(t, n, int64(10+100))
		// The first retained entry names the last trimmed one.
		info, err := rdb.XInfoStream(ctx, StreamKey(sid)).Result()
		require.NoError(t, err)
		prev, err := ParseID(info.FirstEntry.Values["prev"].(string))
		require.NoError(t, err)
		assert.False(t, prev.IsZero())
		assert.True(t, prev.Less(StreamID{Ms: 1 << 62}))
	})

	t.Run("an event without a session or with bad data is refused before Redis", func(t *testing.T) {
		e, err := NewEvent(TypeDMDelta, uuid.New(), map[string]any{"text": "x"})
		require.NoError(t, err)
		_, err = p.Publish(ctx, uuid.Nil, e)
		assert.Error(t, err)
		e.Data = json.RawMessage(`[1]`)
		_, err = p.Publish(ctx, uuid.New(), e)
		assert.Error(t, err)
	})
}

func TestEndSession(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	h := startHub(t, HubOptions{})
	srv := newServer(t, h, time.Minute)
	p := NewPublisher(rdb, 1000)
	ctx := context.Background()
	sid, turn := uuid.New(), uuid.New()
	ids := publishN(t, p, sid, turn, 0, 5)

	live := dial(t, srv.sessionURL(sid), "")
	turnStream := dial(t, srv.turnURL(sid, turn, "0-0"), "")
	for range ids {
		turnStream.next(t) // replayed from the turn's start
	}
	require.NoError(t, p.EndSession(ctx, sid))

	t.Run("open streams, session and turn, get session.deleted and end", func(t *testing.T) {
		for _, c := range []*sseConn{live, turnStream} {
			rest := c.rest(t)
			require.Len(t, rest, 1)
			require.Equal(t, TypeSessionDeleted, rest[0].Type)
			require.JSONEq(t, `{"session_id":"`+sid.String()+`"}`, string(rest[0].Data))
			require.True(t, mustParse(t, ids[len(ids)-1]).Less(mustParse(t, rest[0].ID)), "its id is above every earlier one")
		}
	})
	t.Run("the history is gone but for that entry, which expires", func(t *testing.T) {
		entries, err := rdb.XRange(ctx, StreamKey(sid), "-", "+").Result()
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Equal(t, TypeSessionDeleted, entries[0].Values["type"])
		ttl := rdb.PTTL(ctx, StreamKey(sid)).Val()
		require.Positive(t, ttl)
		require.LessOrEqual(t, ttl, DeletedStreamTTL)
	})
	t.Run("publishing to it fails and adds nothing", func(t *testing.T) {
		e, err := NewEvent(TypeDMDelta, turn, map[string]any{"text": "late"})
		require.NoError(t, err)
		_, err = p.Publish(ctx, sid, e)
		require.ErrorIs(t, err, ErrSessionDeleted)
		require.Equal(t, int64(1), rdb.XLen(ctx, StreamKey(sid)).Val())
	})
	t.Run("ending it again changes nothing", func(t *testing.T) {
		before, err := rdb.XRange(ctx, StreamKey(sid), "-", "+").Result()
		require.NoError(t, err)
		require.NoError(t, p.EndSession(ctx, sid))
		after, err := rdb.XRange(ctx, StreamKey(sid), "-", "+").Result()
		require.NoError(t, err)
		require.Equal(t, before, after)
	})
	t.Run("a stream opened or resumed afterwards gets the entry and ends", func(t *testing.T) {
		for _, last := range []string{"", ids[1]} {
			rest := dial(t, srv.sessionURL(sid), last).rest(t)
			require.Len(t, rest, 1, "last id %q", last)
			require.Equal(t, TypeSessionDeleted, rest[0].Type)
		}
	})
}

func mustParse(t *testing.T, id string) StreamID {
	t.Helper()
	s, err := ParseID(id)
	require.NoError(t, err)
	return s
}
