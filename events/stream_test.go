package events

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/r3labs/sse/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/cenkalti/backoff.v1"
)

func TestResume(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	h := startHub(t, HubOptions{})
	srv := newServer(t, h, time.Minute)
	p := NewPublisher(rdb, 100000)

	t.Run("a client that reconnects with Last-Event-ID gets exactly the rest, in order", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		// r3labs' client remembers the last id and sends it on the next subscribe.
		client := sse.NewClient(srv.sessionURL(sid))
		client.ReconnectStrategy = &backoff.StopBackOff{}
		got := make(chan *sse.Event, 100)
		ctx, cancel := context.WithCancel(context.Background())
		subscribed := make(chan error, 1)
		client.OnConnect(func(*sse.Client) {})
		go func() {
			subscribed <- client.SubscribeRawWithContext(ctx, func(m *sse.Event) {
				if len(m.Data) > 0 {
					got <- m
				}
			})
		}()
		// The opening block (retry and id) marks the connection as live.
		require.Eventually(t, func() bool { return h.Stats().Subscribers > 0 && client.LastEventID.Load() != nil }, patience, 5*time.Millisecond)

		const k = 4
		first := publishN(t, p, sid, turn, 0, k)
		for i := range k {
			select {
			case m := <-got:
				assert.Equal(t, first[i], string(m.ID))
				assert.Equal(t, TypeDMDelta, string(m.Event))
			case <-time.After(patience):
				t.Fatalf("event %d not received", i)
			}
		}
		cancel()
		<-subscribed
		require.Equal(t, first[k-1], string(client.LastEventID.Load().([]byte)))

		rest := publishN(t, p, sid, turn, k, 6)
		c := dial(t, srv.sessionURL(sid), first[k-1])
		for i, id := range rest {
			e := c.next(t)
			assert.Equal(t, id, e.ID)
			assert.Equal(t, k+i, num(t, e))
		}
		c.quiet(t, 100*time.Millisecond)
		// And it goes on live.
		live := publish(t, p, sid, TypeTurnStatus, turn, map[string]any{"status": "completed"})
		assert.Equal(t, live, c.next(t).ID)
	})

	t.Run("a new session stream starts live and tells the client where it is", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		before := publishN(t, p, sid, turn, 0, 3)
		resp := get(t, t.Context(), srv.sessionURL(sid), "")
		defer resp.Body.Close()
		raw := &rawStream{resp: resp, rd: bufio.NewReader(resp.Body)}
		assert.Equal(t, "retry: 1500\n", raw.line(t))
		assert.Equal(t, "id: "+before[2]+"\n", raw.line(t))
		assert.Equal(t, "\n", raw.line(t))
		after := publish(t, p, sid, TypeDMDelta, turn, map[string]any{"text": "x"})
		assert.Equal(t, "id: "+after+"\n", raw.line(t))
	})

	t.Run("resuming while a publisher runs gives every id once, in order", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		head := publishN(t, p, sid, turn, 0, 200)
		const total = 3000
		var published atomic.Int64
		finalID := make(chan string, 1)
		go func() {
			var last string
			for i := range total {
				e, _ := NewEvent(TypeDMDelta, turn, map[string]any{"n": 200 + i, "final": i == total-1})
				id, err := p.Publish(context.Background(), sid, e)
				if err != nil {
					t.Errorf("publish: %v", err)
					break
				}
				last = id
				published.Add(1)
			}
			finalID <- last
		}()

		// Clients join at different moments, from different points.
		starts := []string{head[0], head[50], head[199]}
		var wg sync.WaitGroup
		results := make([][]string, len(starts)+1)
		reconnects := make([]int, len(starts)+1)
		follow := func(i int, from string) {
			defer wg.Done()
			results[i], reconnects[i] = followUntilFinal(t, srv.sessionURL(sid), from)
		}
		for i, from := range starts {
			wg.Add(1)
			go follow(i, from)
		}
		require.Eventually(t, func() bool { return published.Load() > total/2 }, patience, time.Millisecond)
		wg.Add(1)
		go follow(len(starts), head[100])
		wg.Wait()
		last := <-finalID

		for i, from := range append(starts, head[100]) {
			want := xrangeIDs(t, rdb, sid, from)
			require.Equal(t, last, want[len(want)-1])
			assert.Equal(t, want, results[i], "client starting after %s (%d reconnects)", from, reconnects[i])
		}
	})
}

// followUntilFinal reads a session stream from Last-Event-ID from until an
// event with "final": true, reconnecting with the last id whenever the
// server ends the response (a slow subscriber is dropped, by design).
func followUntilFinal(t *testing.T, url, from string) (got []string, reconnects int) {
	last := from
	deadline := time.Now().Add(4 * patience)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Last-Event-ID", last)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Errorf("GET: %v", err)
			return got, reconnects
		}
		final := false
		_ = Read(ctx, resp.Body, func(e Event) bool {
			got = append(got, e.ID)
			last = e.ID
			var d struct {
				Final bool `json:"final"`
			}
			_ = json.Unmarshal(e.Data, &d)
			final = d.Final
			return !final
		})
		resp.Body.Close()
		cancel()
		if final {
			return got, reconnects
		}
		reconnects++
	}
	t.Error("final event never came")
	return got, reconnects
}

func TestReset(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	h := startHub(t, HubOptions{})
	srv := newServer(t, h, time.Minute)
	small := NewPublisher(rdb, 10)

	type resetData struct {
		Reason string `json:"reason"`
	}
	expectReset := func(t *testing.T, c *sseConn, reason, id string) {
		t.Helper()
		e := c.next(t)
		require.Equal(t, TypeReset, e.Type, "data %s", e.Data)
		var d resetData
		require.NoError(t, json.Unmarshal(e.Data, &d))
		assert.Equal(t, reason, d.Reason)
		assert.Equal(t, id, e.ID)
	}

	t.Run("an id older than the retained history gets a reset, then live events", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		all := publishN(t, small, sid, turn, 0, 300)
		c := dial(t, srv.sessionURL(sid), all[0])
		expectReset(t, c, ResetTrimmed, all[len(all)-1])
		c.quiet(t, 100*time.Millisecond)
		next := publish(t, small, sid, TypeDMDelta, turn, map[string]any{"text": "after"})
		assert.Equal(t, next, c.next(t).ID)

		t.Run("and reconnecting with the reset's id resumes normally", func(t *testing.T) {
			c := dial(t, srv.sessionURL(sid), all[len(all)-1])
			assert.Equal(t, next, c.next(t).ID)
		})
	})

	t.Run("an id still within the retained history is not a reset", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		all := publishN(t, small, sid, turn, 0, 300)
		c := dial(t, srv.sessionURL(sid), all[295])
		for _, id := range all[296:] {
			assert.Equal(t, id, c.next(t).ID)
		}
	})

	t.Run("an id ahead of the stream gets a reset", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		all := publishN(t, small, sid, turn, 0, 3)
		c := dial(t, srv.sessionURL(sid), "99999999999999-0")
		expectReset(t, c, ResetUnknownID, all[2])
	})

	t.Run("an id for a stream that is gone gets a reset", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		c := dial(t, srv.sessionURL(sid), "1700000000000-0")
		expectReset(t, c, ResetExpired, "0-0")
		id := publish(t, small, sid, TypeTurnStatus, turn, map[string]any{"status": "queued"})
		assert.Equal(t, id, c.next(t).ID)
	})

	t.Run("a malformed Last-Event-ID is refused before any streaming", func(t *testing.T) {
		for _, bad := range []string{"abc", "1-", "-1", "01-1", "1-2-3", strings.Repeat("9", 42)} {
			resp := get(t, t.Context(), srv.sessionURL(uuid.New()), bad)
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%q", bad)
			assert.Contains(t, string(body[:n]), "Last-Event-ID")
		}
	})

	t.Run("a turn stream whose start was trimmed gets a reset and ends", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		from := TurnFrom(time.Now())
		publishN(t, small, sid, turn, 0, 300)
		c := dial(t, srv.turnURL(sid, turn, from), "")
		rest := c.rest(t)
		require.Len(t, rest, 1)
		assert.Equal(t, TypeReset, rest[0].Type)
	})
}

func TestTurnStream(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	h := startHub(t, HubOptions{})
	srv := newServer(t, h, time.Minute)
	p := NewPublisher(rdb, 10000)

	status := func(sid, turn uuid.UUID, s string) string {
		return publish(t, p, sid, TypeTurnStatus, turn, map[string]any{"status": s})
	}

	t.Run("it replays from the turn's start, skips other turns, follows live and ends after dm.done", func(t *testing.T) {
		sid, turn, other := uuid.New(), uuid.New(), uuid.New()
		publishN(t, p, sid, other, 0, 3) // an earlier turn
		from := TurnFrom(time.Now())
		var want []string
		want = append(want, status(sid, turn, "embedding"))
		publishN(t, p, sid, other, 3, 2) // interleaved
		want = append(want, status(sid, turn, "generating"))
		want = append(want, publishN(t, p, sid, turn, 0, 5)...)

		c := dial(t, srv.turnURL(sid, turn, from), "")
		for _, id := range want[:2] {
			assert.Equal(t, id, c.next(t).ID)
		}
		want = append(want, publishN(t, p, sid, turn, 5, 5)...)
		publishN(t, p, sid, other, 5, 2)
		want = append(want, status(sid, turn, "completed"))
		want = append(want, publish(t, p, sid, TypeDMDone, turn, map[string]any{"message": map[string]any{"content": "…"}}))
		rest := c.rest(t) // the response ends by itself
		got := append(want[:2:2], ids(rest)...)
		assert.Equal(t, want, got)
		for _, e := range rest {
			assert.Equal(t, turn.String(), e.TurnID)
		}
		publishN(t, p, sid, turn, 99, 1) // nothing after the end reaches anybody

		t.Run("a late subscriber gets the whole turn and the response ends", func(t *testing.T) {
			c := dial(t, srv.turnURL(sid, turn, from), "")
			assert.Equal(t, want, ids(c.rest(t)))
		})
		t.Run("a plain GET returns the whole turn", func(t *testing.T) {
			resp := get(t, t.Context(), srv.turnURL(sid, turn, from), "")
			defer resp.Body.Close()
			var got []string
			require.NoError(t, Read(t.Context(), resp.Body, func(e Event) bool { got = append(got, e.ID); return true }))
			assert.Equal(t, want, got)
		})
		t.Run("resuming in the middle gets the rest of the turn", func(t *testing.T) {
			c := dial(t, srv.turnURL(sid, turn, from), want[4])
			assert.Equal(t, want[5:], ids(c.rest(t)))
		})
		t.Run("resuming with the final event's id answers 204", func(t *testing.T) {
			resp := get(t, t.Context(), srv.turnURL(sid, turn, from), want[len(want)-1])
			resp.Body.Close()
			assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		})
	})

	t.Run("turn.failed and turn.cancelled end the stream too", func(t *testing.T) {
		for _, final := range []string{TypeTurnFailed, TypeTurnCancelled} {
			sid, turn := uuid.New(), uuid.New()
			from := TurnFrom(time.Now())
			c := dial(t, srv.turnURL(sid, turn, from), "")
			a := status(sid, turn, "generating")
			b := publish(t, p, sid, final, turn, map[string]any{"error": map[string]any{"code": "x", "message": "y"}})
			assert.Equal(t, []string{a, b}, ids(c.rest(t)), final)
		}
	})

	t.Run("a turn stream opened before any event waits for them", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		c := dial(t, srv.turnURL(sid, turn, TurnFrom(time.Now())), "")
		c.quiet(t, 50*time.Millisecond)
		a := status(sid, turn, "queued")
		b := publish(t, p, sid, TypeTurnCancelled, turn, nil)
		assert.Equal(t, []string{a, b}, ids(c.rest(t)))
	})
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	h := startHub(t, HubOptions{})
	srv := newServer(t, h, 20*time.Millisecond)

	t.Run("an idle stream gets ping comments and the SSE headers", func(t *testing.T) {
		resp := get(t, t.Context(), srv.sessionURL(uuid.New()), "")
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
		assert.Equal(t, "no-cache", resp.Header.Get("Cache-Control"))
		assert.Equal(t, "no", resp.Header.Get("X-Accel-Buffering"))
		raw := &rawStream{resp: resp, rd: bufio.NewReader(resp.Body)}
		pings := 0
		for pings < 2 {
			if raw.line(t) == ": ping\n" {
				pings++
			}
		}
	})
}

func TestKeepAlive(t *testing.T) {
	t.Parallel()
	rdb := testRedis(t)
	h := startHub(t, HubOptions{WriteTimeout: 100 * time.Millisecond})
	srv := newServer(t, h, time.Minute)
	p := NewPublisher(rdb, 1000)

	// Serve sets a write deadline per write; net/http must not carry it over
	// to the next answer on the same keep-alive connection.
	t.Run("a connection reused after a finished stream is not broken by its write deadline", func(t *testing.T) {
		sid, turn := uuid.New(), uuid.New()
		from := TurnFrom(time.Now())
		publish(t, p, sid, TypeDMDone, turn, map[string]any{"message": map[string]any{"content": "x"}})
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		defer client.CloseIdleConnections()

		do := func(url string) (body string, reused bool) {
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
			ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(t.Context(), trace), patience)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return string(b), reused
		}
		stream, _ := do(srv.turnURL(sid, turn, from))
		assert.Contains(t, stream, "event: dm.done")
		time.Sleep(300 * time.Millisecond) // past the stream's write deadline
		body, reused := do(srv.URL + "/plain")
		assert.True(t, reused, "the connection was reused")
		assert.Equal(t, "ok", body)
	})
}
