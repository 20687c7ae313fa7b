package events

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// patience bounds every wait of a test so that a bug hangs nothing; it is
// never an assertion about speed.
const patience = 15 * time.Second

// testRedis connects to the Redis of the test stack. Each caller gets its
// own client, like a separate process would.
func testRedis(t testing.TB, name ...string) redis.UniversalClient {
	t.Helper()
	testkit.SkipShort(t, "Redis")
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Fatal("REDIS_URL is not set: run the tests with `go tool task test`, which starts the test stack " +
			"(or point REDIS_URL at a disposable redis-server)")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	if len(name) > 0 {
		opt.ClientName = name[0]
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	require.NoError(t, rdb.Ping(ctx).Err(), "redis at REDIS_URL")
	return rdb
}

// startHub runs a hub on its own Redis client until the test ends and
// waits until it is subscribed.
func startHub(t testing.TB, opts HubOptions, name ...string) *Hub {
	t.Helper()
	h := NewHub(testRedis(t, name...), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hub.Run: %v", err)
			}
		case <-time.After(patience):
			t.Error("hub.Run did not return after cancel")
		}
	})
	select {
	case <-h.Ready():
	case <-time.After(patience):
		t.Fatal("hub not ready")
	}
	return h
}

// server wraps Hub.Serve the way the API handler does.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	errs []error // what Serve returned
}

func newServer(t testing.TB, h *Hub, heartbeat time.Duration) *server {
	t.Helper()
	return newWrappedServer(t, h, heartbeat, nil)
}

// noHijack wraps a ResponseWriter the way gin's does once a body was
// written: Flush and Unwrap work, Hijack fails.
type noHijack struct{ http.ResponseWriter }

func (w noHijack) Flush()                      { w.ResponseWriter.(http.Flusher).Flush() }
func (w noHijack) Unwrap() http.ResponseWriter { return w.ResponseWriter }
func (noHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return nil, nil, errors.New("hijack refused")
}

func newWrappedServer(t testing.TB, h *Hub, heartbeat time.Duration, wrap func(http.ResponseWriter) http.ResponseWriter) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" { // an ordinary answer, as the API also gives
			_, _ = w.Write([]byte("ok"))
			return
		}
		if wrap != nil {
			w = wrap(w)
		}
		q := r.URL.Query()
		req := StreamRequest{
			LastEventID: r.Header.Get("Last-Event-ID"),
			From:        q.Get("from"),
			Heartbeat:   heartbeat,
			Retry:       1500 * time.Millisecond,
		}
		req.SessionID, _ = uuid.Parse(q.Get("session"))
		if v := q.Get("turn"); v != "" {
			req.TurnID, _ = uuid.Parse(v)
		}
		if err := ValidateRequest(req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		err := h.Serve(r.Context(), w, req)
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		if errors.Is(err, ErrTurnEnded) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if e, ok := apperr.As(err); ok {
			status := http.StatusServiceUnavailable
			if e.Code == apperr.Invalid {
				status = http.StatusBadRequest
			}
			http.Error(w, e.Message, status)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) served() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func (s *server) sessionURL(sid uuid.UUID) string {
	return s.URL + "/?session=" + sid.String()
}

func (s *server) turnURL(sid, turn uuid.UUID, from string) string {
	return fmt.Sprintf("%s/?session=%s&turn=%s&from=%s", s.URL, sid, turn, from)
}

// get opens a stream; lastID is sent as Last-Event-ID when not empty.
func get(t testing.TB, ctx context.Context, url, lastID string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// sseConn reads one SSE response with Read in the background.
type sseConn struct {
	resp   *http.Response
	events chan Event
	done   chan error
	cancel context.CancelFunc
}

// dial opens a stream and requires a 200 text/event-stream answer.
func dial(t testing.TB, url, lastID string) *sseConn {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp := get(t, ctx, url, lastID)
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	c := &sseConn{resp: resp, events: make(chan Event, 1<<16), done: make(chan error, 1), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(c.events)
		c.done <- Read(ctx, resp.Body, func(e Event) bool { c.events <- e; return true })
	}()
	t.Cleanup(c.close)
	return c
}

func (c *sseConn) close() { c.cancel() }

// next returns the next event; it fails the test if the stream ends first.
func (c *sseConn) next(t testing.TB) Event {
	t.Helper()
	select {
	case e, ok := <-c.events:
		if !ok {
			t.Fatal("stream ended, expected another event")
		}
		return e
	case <-time.After(patience):
		t.Fatal("no event in time")
	}
	return Event{}
}

// rest returns the events until the server ends the response.
func (c *sseConn) rest(t testing.TB) []Event {
	t.Helper()
	var out []Event
	timeout := time.After(patience)
	for {
		select {
		case e, ok := <-c.events:
			if !ok {
				require.NoError(t, <-c.done)
				return out
			}
			out = append(out, e)
		case <-timeout:
			t.Fatalf("stream did not end; got %d events", len(out))
		}
	}
}

// quiet asserts that no event arrives for a short while.
func (c *sseConn) quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case e, ok := <-c.events:
		if ok {
			t.Fatalf("unexpected event %s %s %s", e.ID, e.Type, e.Data)
		}
	case <-time.After(d):
	}
}

// publish publishes one event and returns its id.
func publish(t testing.TB, p *Publisher, sid uuid.UUID, typ string, turn uuid.UUID, data any) string {
	t.Helper()
	e, err := NewEvent(typ, turn, data)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	id, err := p.Publish(ctx, sid, e)
	require.NoError(t, err)
	return id
}

// publishN publishes n numbered dm.delta events of one turn.
func publishN(t testing.TB, p *Publisher, sid, turn uuid.UUID, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		ids = append(ids, publish(t, p, sid, TypeDMDelta, turn, map[string]any{"text": strconv.Itoa(i) + " ", "n": i}))
	}
	return ids
}

func ids(es []Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// num returns the "n" of a numbered event's data.
func num(t testing.TB, e Event) int {
	t.Helper()
	var d struct {
		N int `json:"n"`
	}
	require.NoError(t, json.Unmarshal(e.Data, &d), "data %s", e.Data)
	return d.N
}

// xrangeIDs lists the stream's ids after (exclusive) from.
func xrangeIDs(t testing.TB, rdb redis.UniversalClient, sid uuid.UUID, from string) []string {
	t.Helper()
	start := "-"
	if from != "" {
		start = "(" + from
	}
	msgs, err := rdb.XRange(context.Background(), StreamKey(sid), start, "+").Result()
	require.NoError(t, err)
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// rawStream reads a response line by line, for exact control.
type rawStream struct {
	resp *http.Response
	rd   *bufio.Reader
}

func (r *rawStream) line(t testing.TB) string {
	t.Helper()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.rd.ReadString('\n')
		ch <- res{s, err}
	}()
	select {
	case x := <-ch:
		require.NoError(t, x.err)
		return x.s
	case <-time.After(patience):
		t.Fatal("no line in time")
	}
	return ""
}

// subscribed subscribes to a session and waits until Redis confirmed its
// channel, as Serve does before replaying.
func subscribed(t *testing.T, h *Hub, sid uuid.UUID) *Subscription {
	t.Helper()
	s := h.Subscribe(sid)
	require.NoError(t, s.Err())
	select {
	case <-s.Ready():
	case <-time.After(patience):
		t.Fatal("subscription not confirmed")
	}
	return s
}
