package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// player is a registered player with a client carrying its access token.
type player struct {
	ID     string
	Email  string
	Client *testkit.Client
}

// signUp registers a new player on base.
func signUp(t *testing.T, base string) player {
	t.Helper()
	c := testkit.NewClient(base)
	email := testkit.UniqueEmail("game")
	resp := c.Do(t, "POST", "/auth/register", map[string]any{"email": email, "password": "correct horse battery", "display_name": "Tester"})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	return signedIn(t, c, resp, email)
}

// signedIn is the player of a register or login answer, its client
// carrying the access token.
func signedIn(t *testing.T, c *testkit.Client, resp *testkit.Response, email string) player {
	t.Helper()
	var out struct {
		Player struct {
			ID string `json:"id"`
		} `json:"player"`
		AccessToken string `json:"access_token"`
	}
	resp.JSON(t, &out)
	c.Token = out.AccessToken
	return player{ID: out.Player.ID, Email: email, Client: c}
}

// on returns a copy of the player's client pointed at another replica.
func (p player) on(base string) *testkit.Client {
	c := testkit.NewClient(base)
	c.Token = p.Client.Token
	return c
}

type character struct {
	ID    string         `json:"id"`
	Name  string         `json:"name"`
	Class string         `json:"class"`
	Level int            `json:"level"`
	Sheet map[string]any `json:"sheet"`
}

type session struct {
	ID          string  `json:"id"`
	Title       string  `json:"title"`
	CharacterID *string `json:"character_id"`
}

type message struct {
	ID        string  `json:"id"`
	SessionID string  `json:"session_id"`
	Role      string  `json:"role"`
	Content   string  `json:"content"`
	TurnID    *string `json:"turn_id"`
}

type turn struct {
	ID              string  `json:"id"`
	Status          string  `json:"status"`
	SessionID       string  `json:"session_id"`
	PlayerMessageID string  `json:"player_message_id"`
	DMMessageID     *string `json:"dm_message_id"`
	Error           *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Context []struct {
		MessageID string  `json:"message_id"`
		Score     float64 `json:"score"`
		Source    string  `json:"source"`
	} `json:"context"`
	Timings map[string]*time.Time `json:"timings"`
}

func newCharacter(t *testing.T, p player) character {
	t.Helper()
	resp := p.Client.Do(t, "POST", "/api/characters", map[string]any{
		"name": "Arwen", "class": "ranger", "level": 3,
		"sheet": map[string]any{
			"abilities": map[string]int{"strength": 12, "dexterity": 16, "wisdom": 14},
			"hp":        map[string]int{"current": 20, "max": 24},
			"inventory": []string{"longbow", "rope"},
		},
	})
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out struct{ Character character }
	resp.JSON(t, &out)
	return out.Character
}

func newSession(t *testing.T, p player, characterID string) session {
	t.Helper()
	body := map[string]any{"title": "The Sunken Keep"}
	if characterID != "" {
		body["character_id"] = characterID
	}
	resp := p.Client.Do(t, "POST", "/api/sessions", body)
	require.Equal(t, http.StatusCreated, resp.Status, string(resp.Body))
	var out struct{ Session session }
	resp.JSON(t, &out)
	return out.Session
}

func postMessage(t *testing.T, c *testkit.Client, sessionID, content string, hdr ...string) (message, turn) {
	t.Helper()
	resp := c.Do(t, "POST", "/api/sessions/"+sessionID+"/messages", map[string]any{"content": content}, hdr...)
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var out struct {
		Message message
		Turn    turn
	}
	resp.JSON(t, &out)
	return out.Message, out.Turn
}

func getTurn(t *testing.T, c *testkit.Client, id string) turn {
	t.Helper()
	resp := c.Do(t, "GET", "/api/turns/"+id, nil)
	require.Equal(t, http.StatusOK, resp.Status, string(resp.Body))
	var out struct{ Turn turn }
	resp.JSON(t, &out)
	return out.Turn
}

// waitFinal polls a turn until it reaches a final status.
func waitFinal(t *testing.T, c *testkit.Client, id string, within time.Duration) turn {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		tr := getTurn(t, c, id)
		switch tr.Status {
		case "completed", "failed", "cancelled":
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("turn %s still %s after %s", id, tr.Status, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sseEvent is one event as a client sees it.
type sseEvent struct {
	ID   string
	Type string
	Data map[string]any
	Raw  string
}

// stream is an open SSE response.
type stream struct {
	resp   *http.Response
	cancel context.CancelFunc
	ch     chan sseEvent
	errc   chan error
}

// openStream GETs an SSE path with the client's token (and extra headers)
// and parses events in the background.
func openStream(t *testing.T, c *testkit.Client, path string, hdr ...string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	require.Contains(t, resp.Header.Get("Content-Type"), "text/event-stream")
	s := &stream{resp: resp, cancel: cancel, ch: make(chan sseEvent, 10000), errc: make(chan error, 1)}
	t.Cleanup(s.close)
	go s.read()
	return s
}

func (s *stream) close() { s.cancel(); s.resp.Body.Close() }

func (s *stream) read() {
	defer close(s.ch)
	sc := bufio.NewScanner(s.resp.Body)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	var ev sseEvent
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Type != "" || data.Len() > 0 {
				ev.Raw = data.String()
				_ = json.Unmarshal([]byte(ev.Raw), &ev.Data)
				s.ch <- ev
			}
			ev, data = sseEvent{}, strings.Builder{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			ev.ID = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "event:"):
			ev.Type = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	s.errc <- sc.Err()
}

// next returns the next event, failing after within.
func (s *stream) next(t *testing.T, within time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(within):
		t.Fatalf("no event within %s", within)
	}
	return sseEvent{}
}

// until collects events until one matches stop (included).
func (s *stream) until(t *testing.T, within time.Duration, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	var out []sseEvent
	deadline := time.Now().Add(within)
	for {
		ev := s.next(t, time.Until(deadline))
		out = append(out, ev)
		if stop(ev) {
			return out
		}
	}
}

// ended reports whether the server closed the stream within d.
func (s *stream) ended(d time.Duration) bool {
	timer := time.After(d)
	for {
		select {
		case _, ok := <-s.ch:
			if !ok {
				return true
			}
		case <-timer:
			return false
		}
	}
}

func isDone(turnID string) func(sseEvent) bool {
	return func(ev sseEvent) bool {
		return fmt.Sprint(ev.Data["turn_id"]) == turnID && (ev.Type == "dm.done" || ev.Type == "turn.failed" || ev.Type == "turn.cancelled")
	}
}
