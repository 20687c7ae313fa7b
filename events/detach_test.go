package events

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Detached streams (detach.go): the same events, resumes and endings as
// the ordinary path, with the handler released as soon as the response
// starts.

// withMiddlewareHeader sets a header before Serve, as the API's middleware
// does (X-Request-ID): it must reach the client of a detached stream.
func withMiddlewareHeader(w http.ResponseWriter) http.ResponseWriter {
	w.Header().Set("X-Request-ID", "req-detached")
	return w
}

func TestDetachedStreams(t *testing.T) {
	rdb := testRedis(t)
	p := NewPublisher(rdb, 1000)

	t.Run("a session stream is served on its own connection and resumes exactly", func(t *testing.T) {
		h := startHub(t, HubOptions{Detach: true})
		srv := newWrappedServer(t, h, time.Minute, withMiddlewareHeader)
		sid, turn := uuid.New(), uuid.New()
		t.Cleanup(func() { rdb.Del(t.Context(), StreamKey(sid)) })

		c := dial(t, srv.sessionURL(sid), "")
		assert.Equal(t, "text/event-stream", c.resp.Header.Get("Content-Type"))
		assert.Equal(t, "req-detached", c.resp.Header.Get("X-Request-ID"), "headers set before Serve go out")
		assert.True(t, c.resp.Close, "the body ends with the connection")
		require.Eventually(t, func() bool { return len(srv.served()) == 1 }, patience, time.Millisecond,
			"the handler returned while the stream goes on")
		assert.NoError(t, srv.served()[0])

		want := publishN(t, p, sid, turn, 0, 20)
		var last string
		for i, id := range want[:10] {
			e := c.next(t)
			require.Equal(t, id, e.ID, "event %d", i)
			last = e.ID
		}
		c.close()
		resumed := dial(t, srv.sessionURL(sid), last)
		for i, id := range want[10:] {
			require.Equal(t, id, resumed.next(t).ID, "resumed event %d", i)
		}
		more := publishN(t, p, sid, turn, 20, 3)
		for _, id := range more {
			require.Equal(t, id, resumed.next(t).ID)
		}
	})

	t.Run("a turn stream ends after the turn's final event", func(t *testing.T) {
		h := startHub(t, HubOptions{Detach: true})
		srv := newServer(t, h, time.Minute)
		sid, turn := uuid.New(), uuid.New()
		t.Cleanup(func() { rdb.Del(t.Context(), StreamKey(sid)) })
		from := TurnFrom(time.Now())
		want := publishN(t, p, sid, turn, 0, 5)
		want = append(want, publish(t, p, sid, TypeDMDone, turn, map[string]any{"message": map[string]any{"content": "x"}}))
		c := dial(t, srv.turnURL(sid, turn, from), "")
		require.Equal(t, want, ids(c.rest(t)))
		require.Eventually(t, func() bool { return h.Stats().Subscribers == 0 }, patience, time.Millisecond)

		t.Run("and resumed after its end it answers 204 through the handler", func(t *testing.T) {
			resp := get(t, t.Context(), srv.turnURL(sid, turn, from), want[len(want)-1])
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
		})
	})

	t.Run("behind a writer that cannot hijack it streams the ordinary way", func(t *testing.T) {
		h := startHub(t, HubOptions{Detach: true})
		srv := newWrappedServer(t, h, time.Minute, func(w http.ResponseWriter) http.ResponseWriter { return noHijack{w} })
		sid, turn := uuid.New(), uuid.New()
		t.Cleanup(func() { rdb.Del(t.Context(), StreamKey(sid)) })
		c := dial(t, srv.sessionURL(sid), "")
		want := publishN(t, p, sid, turn, 0, 5)
		for _, id := range want {
			require.Equal(t, id, c.next(t).ID)
		}
		assert.Empty(t, srv.served(), "the handler still serves it")
		c.close()
		require.Eventually(t, func() bool { return len(srv.served()) == 1 }, patience, time.Millisecond)
	})

	t.Run("a stalled client is dropped and its connection closed", func(t *testing.T) {
		h := startHub(t, HubOptions{Detach: true, ClientBuffer: 16, WriteTimeout: 2 * time.Second})
		srv := newServer(t, h, time.Minute)
		sid, turn := uuid.New(), uuid.New()
		t.Cleanup(func() { rdb.Del(t.Context(), StreamKey(sid)) })
		conn := neverReads(t, srv.sessionURL(sid))
		good := dial(t, srv.sessionURL(sid), "")
		require.Eventually(t, func() bool { return h.Stats().Subscribers == 2 }, patience, time.Millisecond)
		big := strings.Repeat("x", 64<<10)
		var want []string
		for i := 0; h.Stats().Subscribers == 2; i++ {
			require.Less(t, i, 1000, "the stalled client was never disconnected")
			want = append(want, publish(t, p, sid, TypeDMDelta, turn, map[string]any{"text": big, "n": i}))
		}
		for i, id := range want {
			require.Equal(t, id, good.next(t).ID, "event %d", i)
		}
		// Its connection is closed: reading drains what the kernel held,
		// then ends.
		_ = conn.SetReadDeadline(time.Now().Add(patience))
		buf := make([]byte, 64<<10)
		for {
			if _, err := conn.Read(buf); err != nil {
				var ne net.Error
				require.False(t, errors.As(err, &ne) && ne.Timeout(), "closed, not timed out: %v", err)
				break
			}
		}
	})

	t.Run("shutdown ends detached streams with a retry hint and waits for them", func(t *testing.T) {
		h := startHub(t, HubOptions{Detach: true})
		srv := newServer(t, h, time.Minute)
		sid := uuid.New()
		c := dial(t, srv.sessionURL(sid), "")
		require.Eventually(t, func() bool { return h.Stats().Subscribers == 1 }, patience, time.Millisecond)
		h.Shutdown()
		require.Empty(t, c.rest(t), "no event, only the retry hint")
	})
}
