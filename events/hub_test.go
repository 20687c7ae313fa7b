package events

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	p := NewPublisher(rdb, 100000)

	t.Run("a subscriber that never reads is dropped while another gets every event", func(t *testing.T) {
		h := startHub(t, HubOptions{ClientBuffer: 8})
		sid, turn := uuid.New(), uuid.New()
		stalled := subscribed(t, h, sid)
		reader := subscribed(t, h, sid)
		defer stalled.Close()
		defer reader.Close()

		// The reader takes each event before the next is published, so it
		// can never be the slow one, however busy the machine is.
		for i := range 100 {
			id := publishN(t, p, sid, turn, i, 1)[0]
			select {
			case f, ok := <-reader.C():
				require.True(t, ok, "the reading subscriber was dropped: %v", reader.Err())
				require.Equal(t, id, f.Event.ID)
			case <-time.After(patience):
				t.Fatalf("event %d not received", i)
			}
		}

		assert.True(t, stalled.Dropped())
		assert.ErrorIs(t, stalled.Err(), ErrSlowConsumer)
		buffered := 0
		for range stalled.C() { // closed after what fitted
			buffered++
		}
		assert.Equal(t, 8, buffered)
		assert.False(t, reader.Dropped())
		st := h.Stats()
		assert.Equal(t, uint64(1), st.Dropped)
		assert.Equal(t, 1, st.Subscribers)
	})

	for name, wrap := range map[string]func(http.ResponseWriter) http.ResponseWriter{
		"": nil,
		" behind a writer that cannot hijack (like gin's)": func(w http.ResponseWriter) http.ResponseWriter { return noHijack{w} },
	} {
		t.Run("a stalled SSE client is disconnected without delaying another"+name, func(t *testing.T) {
			stalledClient(t, rdb, wrap)
		})
	}
}

// stalledClient: a client that never reads is cut off (dropped or timed
// out) while a reading client of the same session gets every event.
func stalledClient(t *testing.T, rdb redis.UniversalClient, wrap func(http.ResponseWriter) http.ResponseWriter) {
	t.Helper()
	h := startHub(t, HubOptions{ClientBuffer: 16, WriteTimeout: 2 * time.Second})
	srv := newWrappedServer(t, h, time.Minute, wrap)
	sid, turn := uuid.New(), uuid.New()

	conn := neverReads(t, srv.sessionURL(sid))
	good := dial(t, srv.sessionURL(sid), "")
	require.Eventually(t, func() bool { return h.Stats().Subscribers == 2 }, patience, time.Millisecond)

	// Big events fill the stalled client's socket, then its buffer.
	// (A short stream: the good client reads live, not from history.)
	p := NewPublisher(rdb, 100)
	t.Cleanup(func() { rdb.Del(context.Background(), StreamKey(sid)) })
	big := strings.Repeat("x", 64<<10)
	var want []string
	// It is cut off either when its buffer overflows (dropped) or, if
	// its handler's blocked write times out first, by the write deadline.
	for i := 0; h.Stats().Subscribers == 2; i++ {
		require.Less(t, i, 1000, "the stalled client was never disconnected")
		want = append(want, publish(t, p, sid, TypeDMDelta, turn, map[string]any{"text": big, "n": i}))
	}
	want = append(want, publishN(t, p, sid, turn, len(want), 5)...)
	for i, id := range want {
		e := good.next(t)
		require.Equal(t, id, e.ID, "event %d", i)
	}
	t.Logf("the stalled client was disconnected after %d events of 64 KiB (dropped: %d)", len(want)-5, h.Stats().Dropped)
	assert.Equal(t, 1, h.Stats().Subscribers)
	assert.Eventually(t, func() bool {
		served := srv.served()
		return len(served) == 1 && served[0] != nil
	}, patience, 10*time.Millisecond, "the stalled client's handler returns with an error")
	// Its connection is cut: draining what it holds ends.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(patience)))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		assert.NotErrorIs(t, err, os.ErrDeadlineExceeded)
	}
}

// neverReads opens a raw connection that sends a stream request to streamURL
// and never reads a byte; it is closed when the test ends.
func neverReads(t *testing.T, streamURL string) net.Conn {
	t.Helper()
	u, err := url.Parse(streamURL)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", u.RequestURI(), u.Host)
	require.NoError(t, err)
	return conn
}

func TestTwoHubs(t *testing.T) {
	t.Parallel()
	p := NewPublisher(testRedis(t), 1000)

	t.Run("two processes both receive the same events", func(t *testing.T) {
		// Each hub has its own Redis client, like two API replicas.
		srvA := newServer(t, startHub(t, HubOptions{}), time.Minute)
		srvB := newServer(t, startHub(t, HubOptions{}), time.Minute)
		sid, turn := uuid.New(), uuid.New()
		a := dial(t, srvA.sessionURL(sid), "")
		b := dial(t, srvB.sessionURL(sid), "")
		want := publishN(t, p, sid, turn, 0, 25)
		for _, c := range []*sseConn{a, b} {
			for _, id := range want {
				assert.Equal(t, id, c.next(t).ID)
			}
		}
	})
}

func TestHubInterruption(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	p := NewPublisher(rdb, 1000)

	t.Run("a broken Redis subscription ends live streams and clients resume without a gap", func(t *testing.T) {
		name := "events-test-" + uuid.NewString()[:8]
		h := startHub(t, HubOptions{}, name)
		srv := newServer(t, h, time.Minute)
		sid, turn := uuid.New(), uuid.New()
		c := dial(t, srv.sessionURL(sid), "")
		first := publishN(t, p, sid, turn, 0, 3)
		for _, id := range first {
			assert.Equal(t, id, c.next(t).ID)
		}

		killPubSub(t, rdb, name)
		missed := publishN(t, p, sid, turn, 3, 3) // possibly while disconnected
		assert.Empty(t, ids(c.rest(t)), "the stream ends")
		assert.ErrorIs(t, srv.served()[0], ErrInterrupted)

		require.Eventually(t, func() bool { return h.Connected() }, patience, 5*time.Millisecond)
		assert.GreaterOrEqual(t, h.Stats().Reconnects, uint64(1))
		c = dial(t, srv.sessionURL(sid), first[2])
		for _, id := range missed {
			assert.Equal(t, id, c.next(t).ID)
		}
		live := publishN(t, p, sid, turn, 6, 1)
		assert.Equal(t, live[0], c.next(t).ID)
	})

	t.Run("shutdown ends every stream and refuses new ones", func(t *testing.T) {
		h := startHub(t, HubOptions{})
		srv := newServer(t, h, time.Minute)
		sid := uuid.New()
		c := dial(t, srv.sessionURL(sid), "")
		require.Eventually(t, func() bool { return h.Stats().Subscribers == 1 }, patience, time.Millisecond)
		h.Shutdown()
		assert.Empty(t, c.rest(t))
		assert.NoError(t, srv.served()[0])
		resp := get(t, t.Context(), srv.sessionURL(sid), "")
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	})

	t.Run("a hub that is not connected refuses subscribers", func(t *testing.T) {
		h := NewHub(rdb, HubOptions{ConnectWait: 10 * time.Millisecond})
		sub := h.Subscribe(uuid.New())
		assert.ErrorIs(t, sub.Err(), ErrNotConnected)
		_, ok := <-sub.C()
		assert.False(t, ok)
		srv := newServer(t, h, time.Minute)
		resp := get(t, t.Context(), srv.sessionURL(uuid.New()), "")
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	})
}

// killPubSub kills the pub/sub connection of the Redis client named name,
// as a network failure would.
func killPubSub(t *testing.T, rdb redis.UniversalClient, name string) {
	t.Helper()
	ctx := context.Background()
	var id string
	require.Eventually(t, func() bool {
		list, err := rdb.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
		require.NoError(t, err)
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, " name="+name+" ") {
				id = strings.TrimPrefix(strings.Fields(line)[0], "id=")
				return true
			}
		}
		return false
	}, patience, 5*time.Millisecond, "the hub's pub/sub connection")
	require.NoError(t, rdb.Do(ctx, "CLIENT", "KILL", "ID", id).Err())
}

func TestPerSessionFanOut(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	p := NewPublisher(rdb, 1000)

	t.Run("a process hears only the sessions its clients watch", func(t *testing.T) {
		h := startHub(t, HubOptions{})
		watched, other, turn := uuid.New(), uuid.New(), uuid.New()
		sub := subscribed(t, h, watched)
		defer sub.Close()
		publishN(t, p, other, turn, 0, 5)
		want := publishN(t, p, watched, turn, 0, 1)
		require.Equal(t, want[0], nextFrame(t, sub).Event.ID)
		// Redis orders the publishes: the other session's five came before
		// the watched one's and would have been counted first.
		assert.Equal(t, uint64(1), h.Stats().Received)
		assert.Equal(t, 1, h.Stats().Sessions)
	})

	t.Run("a session nobody watches is unsubscribed after the linger", func(t *testing.T) {
		h := startHub(t, HubOptions{Linger: 20 * time.Millisecond})
		sid, turn := uuid.New(), uuid.New()
		sub := subscribed(t, h, sid)
		sub.Close()
		require.Eventually(t, func() bool { return h.Stats().Unsubscribes == 1 }, patience, 5*time.Millisecond)
		require.Eventually(t, func() bool { return h.Stats().Sessions == 0 }, patience, 5*time.Millisecond)
		// Resubscribing works, after the unsubscription's reply or before it.
		again := subscribed(t, h, sid)
		defer again.Close()
		want := publishN(t, p, sid, turn, 0, 1)
		require.Equal(t, want[0], nextFrame(t, again).Event.ID)
	})

	t.Run("reconnecting clients within the linger cost Redis nothing", func(t *testing.T) {
		h := startHub(t, HubOptions{Linger: time.Minute})
		sid := uuid.New()
		for range 50 {
			subscribed(t, h, sid).Close()
		}
		st := h.Stats()
		assert.Equal(t, uint64(1), st.Subscribes)
		assert.Equal(t, uint64(0), st.Unsubscribes)
	})

	t.Run("subscribing and leaving in a hurry never confirms a stale subscription", func(t *testing.T) {
		h := startHub(t, HubOptions{Linger: -1})
		sid, turn := uuid.New(), uuid.New()
		for i := range 30 {
			h.Subscribe(sid).Close() // SUBSCRIBE then UNSUBSCRIBE, replies pending
			sub := subscribed(t, h, sid)
			want := publishN(t, p, sid, turn, i, 1)
			require.Equal(t, want[0], nextFrame(t, sub).Event.ID)
			sub.Close()
		}
	})
}

// nextFrame is the subscription's next frame, failing the test when none
// comes in time or the subscription ends.
func nextFrame(t *testing.T, s *Subscription) *Frame {
	t.Helper()
	select {
	case f, ok := <-s.C():
		require.True(t, ok, "subscription ended: %v", s.Err())
		return f
	case <-time.After(patience):
		t.Fatal("no event received")
		return nil
	}
}
