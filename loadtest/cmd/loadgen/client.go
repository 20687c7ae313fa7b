package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/events"
)

// httpClient is shared: one keep-alive pool for the whole run.
var httpClient = &http.Client{Transport: &http.Transport{
	MaxIdleConns:        4096,
	MaxIdleConnsPerHost: 4096,
	IdleConnTimeout:     90 * time.Second,
}}

// player is a registered player of the run.
type player struct {
	base  string
	token string
	id    string
}

type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %.200s", e.Status, e.Body) }

// call sends a JSON request and decodes a JSON answer into out (may be nil).
func (p *player) call(ctx context.Context, method, path string, in, out any, want int) error {
	// A request that hangs is a finding, not a reason to hang the run.
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.token != "" {
		req.Header.Set("Authorization", "Bearer "+p.token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return &apiError{Status: resp.StatusCode, Body: string(b)}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func register(ctx context.Context, base string) (*player, error) {
	p := &player{base: base}
	email := fmt.Sprintf("load-%s@example.test", strings.ReplaceAll(uuid.NewString(), "-", "")[:16])
	var out struct {
		Player      struct{ ID string }
		AccessToken string `json:"access_token"`
	}
	if err := p.call(ctx, "POST", "/auth/register", map[string]any{"email": email, "password": "load test password", "display_name": "Load"}, &out, 201); err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	p.token, p.id = out.AccessToken, out.Player.ID
	return p, nil
}

func (p *player) newSession(ctx context.Context, title string) (string, error) {
	var out struct{ Session struct{ ID string } }
	if err := p.call(ctx, "POST", "/api/sessions", map[string]any{"title": title}, &out, 201); err != nil {
		return "", fmt.Errorf("session: %w", err)
	}
	return out.Session.ID, nil
}

// post sends a player message and returns the turn id.
func (p *player) post(ctx context.Context, sessionID, content string) (string, error) {
	var out struct{ Turn struct{ ID string } }
	if err := p.call(ctx, "POST", "/api/sessions/"+sessionID+"/messages", map[string]any{"content": content}, &out, 202); err != nil {
		return "", err
	}
	return out.Turn.ID, nil
}

// turnStatus reads a turn's status over REST.
func (p *player) turnStatus(ctx context.Context, turnID string) (string, error) {
	var out struct{ Turn struct{ Status string } }
	err := p.call(ctx, "GET", "/api/turns/"+turnID, nil, &out, 200)
	return out.Turn.Status, err
}

// openStream opens an SSE stream; the caller reads resp.Body with
// events.Read and closes it.
func (p *player) openStream(ctx context.Context, path, lastID string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, &apiError{Status: resp.StatusCode, Body: string(b)}
	}
	return resp, nil
}

// sessionEvents is the path of a session's event stream.
func sessionEvents(sessionID string) string { return "/api/sessions/" + sessionID + "/events" }

// openSession opens a session's event stream, resuming after lastID
// unless it is empty; see openStream.
func (p *player) openSession(ctx context.Context, sessionID, lastID string) (*http.Response, error) {
	return p.openStream(ctx, sessionEvents(sessionID), lastID)
}

// dialSession opens a session's event stream over a raw TCP connection
// that reads nothing after the response head; see dialStream.
func (p *player) dialSession(ctx context.Context, sessionID string) (net.Conn, error) {
	return dialStream(ctx, p.base, p.token, sessionEvents(sessionID))
}

// readTurn reads a turn stream to its end and returns the final event type.
func (p *player) readTurn(ctx context.Context, turnID string) (string, error) {
	resp, err := p.openStream(ctx, "/api/turns/"+turnID+"/events", "")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	final := ""
	err = events.Read(ctx, resp.Body, func(e events.Event) bool {
		if events.IsTerminal(e.Type) {
			final = e.Type
			return false
		}
		return true
	})
	if err == nil && final == "" {
		err = errors.New("turn stream ended without a final event")
	}
	return final, err
}

// --- statistics

// dist is a set of durations.
type dist []time.Duration

func (d dist) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append(dist(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (d dist) summary() map[string]float64 {
	ms := func(x time.Duration) float64 { return math.Round(float64(x)/1e4) / 100 }
	return map[string]float64{"n": float64(len(d)), "p50_ms": ms(d.pct(50)), "p90_ms": ms(d.pct(90)), "p99_ms": ms(d.pct(99)), "max_ms": ms(d.pct(100))}
}

func (d dist) String() string {
	return fmt.Sprintf("n=%d p50=%s p90=%s p99=%s max=%s", len(d), rnd(d.pct(50)), rnd(d.pct(90)), rnd(d.pct(99)), rnd(d.pct(100)))
}

func rnd(x time.Duration) time.Duration {
	switch {
	case x < time.Millisecond:
		return x.Round(time.Microsecond)
	case x < time.Second:
		return x.Round(10 * time.Microsecond)
	}
	return x.Round(time.Millisecond)
}

// report prints a summary and writes it as JSON when asked.
func report(c *common, name string, summary map[string]any) {
	summary["scenario"] = name
	summary["load_average"] = loadAvg()
	summary["at"] = time.Now().UTC().Format(time.RFC3339)
	b, _ := json.MarshalIndent(summary, "", "  ")
	fmt.Printf("%s\n", b)
	if c.jsonOut != "" {
		_ = os.WriteFile(c.jsonOut, b, 0o644)
	}
}
