package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/events"
)

// Abuse tests (docs/RELIABILITY.md "Abuse"): what one misbehaving client can
// do, and that the service refuses it with the API's error shape while it
// keeps serving everybody else.

// requireLimitedAnswer checks a 429 rate_limited with a whole-seconds Retry-After.
func requireLimitedAnswer(t *testing.T, status int, header http.Header, body []byte, maxRetry int) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, status, string(body))
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(body, &e), string(body))
	require.Equal(t, "rate_limited", e.Error.Code)
	require.NotEmpty(t, e.Error.Message)
	secs, err := strconv.Atoi(header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds: %q", header.Get("Retry-After"))
	require.GreaterOrEqual(t, secs, 1)
	require.LessOrEqual(t, secs, maxRetry)
}

// rawPost sends one request and returns status, headers and body.
func rawPost(t *testing.T, base, token, path string, body any, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+path, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, out
}

func TestAbuseLoginBurstAgainstOneAccountIsCapped(t *testing.T) {
	t.Parallel()
	api := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"RATE_LOGIN_PER_ACCOUNT=5", "RATE_LOGIN_PER_IP=100000",
		"DATABASE_URL=" + simpleProtocol(os.Getenv("DATABASE_URL"))}})
	p := registerPlayer(t, api.URL, testkit.UniqueEmail("brute"))
	// 40 guesses at once from 40 addresses: every attempt is counted before
	// the password is checked, so parallel guesses cannot slip through
	// before the first failure is recorded.
	const guesses = 40
	statuses := make([]int, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			st, hdr, body := rawPost(t, api.URL, "", "/auth/login", map[string]any{"email": p.Player.Email, "password": fmt.Sprintf("guess number %d", i)},
				"X-Forwarded-For", fakeClientIP())
			statuses[i] = st
			if st == http.StatusTooManyRequests {
				requireLimitedAnswer(t, st, hdr, body, 60)
			}
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, st := range statuses {
		counts[st]++
	}
	require.LessOrEqual(t, counts[http.StatusUnauthorized], 5, "at most the per-account budget is checked: %v", counts)
	require.Equal(t, guesses, counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests], "%v", counts)
	st, hdr, body := rawPost(t, api.URL, "", "/auth/login", map[string]any{"email": p.Player.Email, "password": authPassword}, "X-Forwarded-For", fakeClientIP())
	requireLimitedAnswer(t, st, hdr, body, 60)
}

func TestAbuseMessageFloodByOnePlayer(t *testing.T) {
	t.Parallel()
	t.Run("turns in flight are capped per player", func(t *testing.T) {
		t.Parallel()
		// A burst of concurrent posts: on PGlite, with the simple protocol
		// (docs/RELIABILITY.md, "PGlite and concurrent connections").
		srv := testkit.Start(t, testkit.Options{Env: []string{"TURNS_IN_FLIGHT_PER_PLAYER=2", "TURNS_PER_MINUTE_PER_PLAYER=1000", "DM_WORD_DELAY=200ms",
			"DATABASE_URL=" + simpleProtocol(os.Getenv("DATABASE_URL"))}})
		flooder, other := signUp(t, srv.URL), signUp(t, srv.URL)
		s := newSession(t, flooder, "")
		const posts = 12
		type answer struct {
			status int
			hdr    http.Header
			body   []byte
		}
		answers := make([]answer, posts)
		var wg sync.WaitGroup
		for i := range posts {
			wg.Go(func() {
				st, hdr, body := rawPost(t, srv.URL, flooder.Client.Token, "/api/sessions/"+s.ID+"/messages",
					map[string]any{"content": fmt.Sprintf("Flood %d!", i)}, "Idempotency-Key", fmt.Sprintf("flood-%d", i))
				answers[i] = answer{st, hdr, body}
			})
		}
		wg.Wait()
		var accepted []string
		var acceptedKey string
		for i, a := range answers {
			switch a.status {
			case http.StatusAccepted:
				var out struct{ Turn turn }
				require.NoError(t, json.Unmarshal(a.body, &out))
				accepted = append(accepted, out.Turn.ID)
				acceptedKey = fmt.Sprintf("flood-%d", i)
			default:
				requireLimitedAnswer(t, a.status, a.hdr, a.body, 5)
			}
		}
		require.Len(t, accepted, 2, "exactly TURNS_IN_FLIGHT_PER_PLAYER turns were accepted at once")

		t.Run("a refused message created nothing", func(t *testing.T) {
			var page struct{ Messages []message }
			flooder.Client.Do(t, "GET", "/api/sessions/"+s.ID+"/messages", nil).JSON(t, &page)
			players := 0
			for _, m := range page.Messages {
				if m.Role == "player" {
					players++
				}
			}
			require.Equal(t, 2, players)
		})
		t.Run("a retry of an accepted message with its Idempotency-Key still gets its turn", func(t *testing.T) {
			i, _ := strconv.Atoi(strings.TrimPrefix(acceptedKey, "flood-"))
			st, _, body := rawPost(t, srv.URL, flooder.Client.Token, "/api/sessions/"+s.ID+"/messages",
				map[string]any{"content": fmt.Sprintf("Flood %d!", i)}, "Idempotency-Key", acceptedKey)
			require.Equal(t, http.StatusAccepted, st, string(body))
		})
		t.Run("another player is not limited by the flooder", func(t *testing.T) {
			postMessage(t, other.Client, newSession(t, other, "").ID, "I wait my turn politely.")
		})
		t.Run("once the turns end the player may post again", func(t *testing.T) {
			for _, id := range accepted {
				resp := flooder.Client.Do(t, "POST", "/api/turns/"+id+"/cancel", nil)
				require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
			}
			postMessage(t, flooder.Client, s.ID, "Now, calmly, I look around.")
		})
	})

	t.Run("turns per minute are capped per player", func(t *testing.T) {
		t.Parallel()
		srv := testkit.Start(t, testkit.Options{Env: []string{"TURNS_IN_FLIGHT_PER_PLAYER=1000", "TURNS_PER_MINUTE_PER_PLAYER=3", "DM_WORD_DELAY=1ms",
			"DATABASE_URL=" + simpleProtocol(os.Getenv("DATABASE_URL"))}})
		p, other := signUp(t, srv.URL), signUp(t, srv.URL)
		s := newSession(t, p, "")
		for i := range 3 {
			postMessage(t, p.Client, s.ID, fmt.Sprintf("Step %d.", i))
		}
		st, hdr, body := rawPost(t, srv.URL, p.Client.Token, "/api/sessions/"+s.ID+"/messages", map[string]any{"content": "One step too many."})
		requireLimitedAnswer(t, st, hdr, body, 60)
		postMessage(t, other.Client, newSession(t, other, "").ID, "My own first step.")
	})
}

func TestAbuseOversizedAndMalformedBodies(t *testing.T) {
	t.Parallel()
	srv := testkit.Start(t, testkit.Options{Env: []string{"DATABASE_URL=" + simpleProtocol(os.Getenv("DATABASE_URL"))}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	msgs := "/api/sessions/" + s.ID + "/messages"
	big := `{"content":"` + strings.Repeat("a", 2<<20) + `"}`
	nested := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	cases := []struct {
		name, path, contentType string
		body                    io.Reader
		chunked                 bool
		status                  int
		code                    string
	}{
		{"a 2 MiB message with its Content-Length", msgs, "application/json", strings.NewReader(big), false, 413, "too_large"},
		{"a 2 MiB message sent chunked, without a length", msgs, "application/json", strings.NewReader(big), true, 413, "too_large"},
		{"a 2 MiB login", "/auth/login", "application/json", strings.NewReader(big), false, 413, "too_large"},
		{"truncated JSON", msgs, "application/json", strings.NewReader(`{"content":`), false, 400, "invalid_request"},
		{"a JSON array", msgs, "application/json", strings.NewReader(`["hi"]`), false, 400, "invalid_request"},
		{"JSON null", msgs, "application/json", strings.NewReader(`null`), false, 400, "invalid_request"},
		{"two JSON objects", msgs, "application/json", strings.NewReader(`{"content":"a"}{"content":"b"}`), false, 400, "invalid_request"},
		{"100,000 nested arrays", msgs, "application/json", strings.NewReader(nested), false, 400, "invalid_request"},
		{"a form instead of JSON", msgs, "application/x-www-form-urlencoded", strings.NewReader(`content=hi`), false, 415, "unsupported_media_type"},
		{"no body at all", msgs, "application/json", nil, false, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			body := tc.body
			if tc.chunked && body != nil {
				body = io.MultiReader(body) // hides the length: sent chunked
			}
			req, err := http.NewRequest("POST", srv.URL+tc.path, body)
			require.NoError(t, err)
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Authorization", "Bearer "+p.Client.Token)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, tc.status, resp.StatusCode, string(b))
			var e struct {
				Error struct{ Code, Message string }
			}
			require.NoError(t, json.Unmarshal(b, &e), string(b))
			require.Equal(t, tc.code, e.Error.Code)
			require.NotEmpty(t, e.Error.Message)
		})
	}
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/healthz", nil).Status, "still serving")
	var page struct{ Messages []message }
	p.Client.Do(t, "GET", msgs, nil).JSON(t, &page)
	require.Empty(t, page.Messages, "nothing was stored")
}

func TestAbuseSSE(t *testing.T) {
	t.Parallel()
	// Hundreds of concurrent stream opens: PGlite with the simple protocol
	// (docs/RELIABILITY.md, "PGlite and concurrent connections").
	srv := testkit.Start(t, testkit.Options{Command: "api", Env: []string{"DATABASE_URL=" + simpleProtocol(os.Getenv("DATABASE_URL"))}})
	p := signUp(t, srv.URL)
	s := newSession(t, p, "")
	sessionPath := "/api/sessions/" + s.ID + "/events"

	t.Run("a malformed Last-Event-ID is refused with 400", func(t *testing.T) {
		for _, id := range []string{"abc", "-1", "1-", "-", "1-2-3", "1.5-0", "0x10-0", "18446744073709551616-0",
			strings.Repeat("9", 300), "１-０", "1-0 ; DROP TABLE"} {
			resp := p.Client.Do(t, "GET", sessionPath, nil, "Last-Event-ID", id)
			require.Equal(t, http.StatusBadRequest, resp.Status, "%q: %s", id, resp.Body)
			require.Equal(t, "invalid_request", resp.ErrorCode(), "%q", id)
			resp = p.Client.Do(t, "GET", sessionPath+"?last_event_id="+url.QueryEscape(id), nil)
			require.Equal(t, http.StatusBadRequest, resp.Status, "%q in the query: %s", id, resp.Body)
		}
	})

	t.Run("huge headers are refused before any handler runs", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		var req bytes.Buffer
		fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n", sessionPath, p.Client.Token)
		for i := range 200 {
			fmt.Fprintf(&req, "X-Padding-%d: %s\r\n", i, strings.Repeat("p", 1000))
		}
		req.WriteString("\r\n")
		_, _ = conn.Write(req.Bytes()) // the server may close before reading it all
		line, err := bufio.NewReader(conn).ReadString('\n')
		require.NoError(t, err)
		require.Contains(t, line, "431", "Request Header Fields Too Large")
		require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/healthz", nil).Status)
	})

	t.Run("a client that stops reading is dropped, and a reading client gets everything", func(t *testing.T) {
		pub := testPublisher(t)
		stalled := dialRawStream(t, srv.URL, p.Client.Token, sessionPath)
		defer stalled.Close()
		reader := openStream(t, p.Client, sessionPath)
		pad := strings.Repeat("x", 4096)
		// 8 MB: more than the kernel's socket buffers plus the stalled
		// client's SSE_CLIENT_BUFFER frames can hold.
		const n = 2000
		for i := 1; i <= n; i++ {
			e, err := events.NewEvent("loadtest.ping", uuid.Nil, map[string]any{"seq": i, "pad": pad})
			require.NoError(t, err)
			_, err = pub.Publish(context.Background(), uuid.MustParse(s.ID), e)
			require.NoError(t, err)
			if i%100 == 0 {
				time.Sleep(20 * time.Millisecond) // a reading client keeps up with a paced stream
			}
		}
		for got := 0; got < n; {
			ev := reader.next(t, 30*time.Second)
			if ev.Type == "loadtest.ping" {
				got++
				require.Equal(t, float64(got), ev.Data["seq"], "in order, no gap")
			}
		}
		// The hub dropped the stalled subscriber (its buffer filled while
		// its socket was full): one stream is left, the reader's. Its
		// handler is then cut off by the write timeout.
		require.Eventually(t, func() bool {
			m := string(testkit.NewClient(srv.URL).Do(t, "GET", "/metrics", nil).Body)
			return strings.Contains(m, "\nconquest_sse_connections 1\n") &&
				strings.Contains(m, "\nconquest_sse_slow_clients_disconnected_total 1\n")
		}, 20*time.Second, 200*time.Millisecond, "the stalled client was dropped, the reader kept")
	})

	t.Run("a reconnect storm with Last-Event-ID resumes every client exactly", func(t *testing.T) {
		pub := testPublisher(t)
		s2 := newSession(t, p, "")
		path := "/api/sessions/" + s2.ID + "/events"
		publish := func(from, to int) {
			for i := from; i <= to; i++ {
				e, _ := events.NewEvent("loadtest.ping", uuid.Nil, map[string]any{"seq": i})
				_, err := pub.Publish(context.Background(), uuid.MustParse(s2.ID), e)
				require.NoError(t, err)
			}
		}
		const clients = 200
		last := make([]string, clients)
		first := make([]*stream, clients)
		for i := range clients {
			first[i] = openStream(t, p.Client, path)
		}
		publish(1, 10)
		for i, st := range first {
			for seq := 1; seq <= 10; seq++ {
				ev := st.next(t, 20*time.Second)
				require.Equal(t, float64(seq), ev.Data["seq"])
				last[i] = ev.ID
			}
			st.close()
		}
		publish(11, 20) // while everybody is away
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		start := make(chan struct{})
		for i := range clients {
			wg.Go(func() {
				<-start
				errs <- resumeExactly(p.Client.Base, p.Client.Token, path, last[i], 11, 25)
			})
		}
		close(start)
		publish(21, 25) // during the storm
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
	require.Equal(t, 200, testkit.NewClient(srv.URL).Do(t, "GET", "/healthz", nil).Status, "still serving")
}

// resumeExactly opens a stream with Last-Event-ID and requires the seqs
// from..to, each once, in order.
func resumeExactly(base, token, path, lastID string, from, to int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("resume: HTTP %d", resp.StatusCode)
	}
	want := from
	var bad error
	err = events.Read(ctx, resp.Body, func(e events.Event) bool {
		if e.Type != "loadtest.ping" {
			return true
		}
		var d struct{ Seq int }
		_ = json.Unmarshal(e.Data, &d)
		if d.Seq != want {
			bad = fmt.Errorf("got seq %d, want %d", d.Seq, want)
			return false
		}
		want++
		return want <= to
	})
	if bad != nil {
		return bad
	}
	if want <= to {
		return fmt.Errorf("stream ended at seq %d of %d: %v", want-1, to, err)
	}
	return nil
}

// testPublisher publishes into session streams on the stack's Redis, as
// the workers do.
func testPublisher(t *testing.T) *events.Publisher {
	t.Helper()
	return events.NewPublisher(testkit.Redis(t), 5000)
}

// dialRawStream opens an SSE stream over a raw TCP connection with a small
// receive buffer, reads the response head and nothing more.
func dialRawStream(t *testing.T, base, token, path string) *net.TCPConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	tc := conn.(*net.TCPConn)
	_ = tc.SetReadBuffer(4096)
	t.Cleanup(func() { tc.Close() })
	_, err = fmt.Fprintf(tc, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n", path, token)
	require.NoError(t, err)
	_ = tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := make([]byte, 0, 512)
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		_, err := tc.Read(b)
		require.NoError(t, err)
		head = append(head, b[0])
		require.Less(t, len(head), 8192)
	}
	require.True(t, bytes.HasPrefix(head, []byte("HTTP/1.1 200")), string(head))
	_ = tc.SetReadDeadline(time.Time{})
	return tc
}
