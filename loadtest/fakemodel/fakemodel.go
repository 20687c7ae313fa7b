// Package fakemodel is an OpenAI-compatible chat-completions server for
// load tests: it streams a fixed reply with a fixed first-token delay and a
// fixed token rate, so the model's own time is known exactly and the
// pipeline's overhead can be separated from it (docs/PERFORMANCE.md).
//
// It records, per request, when the request arrived and when its first
// token was written and flushed. A request is named by the first marker
// `[lt:<id>]` found in its messages (the load generator puts one in each
// player message), so a client can match its own measurements to the
// model's.
//
// Tool calls: when a request offers tools and the player's latest message
// holds markers `[tool:<name> <json arguments>]`, the model answers with
// those calls as streamed tool_calls deltas (OpenAI's wire format: id, type
// and name in the first fragment of each index, the arguments split across
// chunks, finish_reason "tool_calls"). When the tool results are sent back
// (role "tool"), it replies "The rules answer: <result>; …" followed by the
// usual words, so a test can see the results reached the model.
package fakemodel

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options shape the fake model's replies.
type Options struct {
	// FirstToken is how long the model "thinks" before its first token.
	FirstToken time.Duration
	// TokenInterval is the pause between tokens (1/rate); 0 sends them
	// back to back.
	TokenInterval time.Duration
	// Tokens is the number of content chunks of a reply (default 40).
	Tokens int
	// Log receives one line per request (nil: none).
	Log *slog.Logger
}

// Timing is what the model saw of one request.
type Timing struct {
	ID         string    `json:"id"`
	Received   time.Time `json:"received"`
	FirstToken time.Time `json:"first_token"`
	Done       time.Time `json:"done"`
}

// Server is the fake model. It is an http.Handler.
type Server struct {
	o   Options
	mux *http.ServeMux

	mu      sync.Mutex
	timings map[string]Timing
	order   []string
}

// marker finds the request's name in the prompt.
var marker = regexp.MustCompile(`\[lt:([A-Za-z0-9_-]{1,64})\]`)

// maxTimings bounds the memory of a long run: the oldest are forgotten.
const maxTimings = 200_000

// New returns a fake model.
func New(o Options) *Server {
	if o.Tokens <= 0 {
		o.Tokens = 40
	}
	s := &Server{o: o, mux: http.NewServeMux(), timings: map[string]Timing{}}
	s.mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /timings/{id}", s.timing)
	s.mux.HandleFunc("GET /timings", s.allTimings)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Timing returns what the model saw of the request named id.
func (s *Server) Timing(id string) (Timing, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.timings[id]
	return t, ok
}

func (s *Server) record(t Timing) {
	if t.ID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.timings[t.ID]; !ok {
		s.order = append(s.order, t.ID)
		if len(s.order) > maxTimings {
			delete(s.timings, s.order[0])
			s.order = s.order[1:]
		}
	}
	s.timings[t.ID] = t
}

type chatRequest struct {
	Model    string `json:"model"`
	Stream   bool   `json:"stream"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools []json.RawMessage `json:"tools"`
}

// toolMarker is a tool call the player's message asks the fake to make.
var toolMarker = regexp.MustCompile(`\[tool:([a-z_]{1,40}) (\{[^\]]*\})\]`)

// toolPlan reads what the request asks of the tool protocol: the calls to
// make (markers in the latest user message, none answered yet), or the
// results to acknowledge (tool messages after it).
func (req *chatRequest) toolPlan() (calls [][2]string, results []string) {
	if len(req.Tools) == 0 {
		return nil, nil
	}
	last := -1
	for i, m := range req.Messages {
		if m.Role == "user" {
			last = i
		}
	}
	if last < 0 {
		return nil, nil
	}
	for _, m := range req.Messages[last+1:] {
		if m.Role == "tool" {
			results = append(results, m.Content)
		}
	}
	if len(results) > 0 {
		return nil, results
	}
	for _, mk := range toolMarker.FindAllStringSubmatch(req.Messages[last].Content, 8) {
		calls = append(calls, [2]string{mk[1], mk[2]})
	}
	return calls, nil
}

// streamToolCalls writes calls as tool_calls deltas, each call's arguments
// in two fragments, and finishes with finish_reason "tool_calls".
func streamToolCalls(w io.Writer, fl http.Flusher, id, model string, calls [][2]string) {
	send := func(delta map[string]any, finish any) {
		chunk, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk", "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
		fmt.Fprintf(w, "data: %s\n\n", chunk)
		if fl != nil {
			fl.Flush()
		}
	}
	send(map[string]any{"role": "assistant", "content": nil}, nil)
	for i, c := range calls {
		half := len(c[1]) / 2
		send(map[string]any{"tool_calls": []any{map[string]any{"index": i, "id": fmt.Sprintf("call_%s_%d", id, i), "type": "function",
			"function": map[string]any{"name": c[0], "arguments": c[1][:half]}}}}, nil)
		send(map[string]any{"tool_calls": []any{map[string]any{"index": i, "function": map[string]any{"arguments": c[1][half:]}}}}, nil)
	}
	send(map[string]any{}, "tool_calls")
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

// words of the reply; the content does not matter, its length and pace do.
var words = strings.Fields(`The torchlight gutters as you step forward and the old stones answer
with a hollow echo somewhere below a door groans the air smells of rain and iron and
something watches from the dark beyond the arch`)

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	t := Timing{Received: time.Now()}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		http.Error(w, `{"error":{"message":"read body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil || !req.Stream {
		http.Error(w, `{"error":{"message":"a streaming chat request is required","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	// The newest marker is the player's current message; earlier ones
	// are memory and recent history in the prompt.
	for _, m := range req.Messages {
		if all := marker.FindAllStringSubmatch(m.Content, -1); len(all) > 0 {
			t.ID = all[len(all)-1][1]
		}
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	ctx := r.Context()
	wait := func(d time.Duration) bool {
		if d <= 0 {
			return ctx.Err() == nil
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-tm.C:
			return true
		}
	}
	if !wait(s.o.FirstToken) {
		return
	}
	id := "chatcmpl-fake-" + strconv.FormatInt(t.Received.UnixNano(), 36)
	calls, results := req.toolPlan()
	if len(calls) > 0 {
		streamToolCalls(w, fl, id, req.Model, calls)
		return
	}
	for i := 0; i < s.o.Tokens; i++ {
		if i > 0 && !wait(s.o.TokenInterval) {
			return
		}
		word := words[i%len(words)]
		if i > 0 {
			word = " " + word
		}
		if i == 0 && len(results) > 0 {
			word = "The rules answer: " + strings.Join(results, "; ") + ". " + word
		}
		chunk, _ := json.Marshal(map[string]any{
			"id": id, "object": "chat.completion.chunk", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": word}}},
		})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", chunk); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		if i == 0 {
			t.FirstToken = time.Now()
			s.record(t)
		}
	}
	end, _ := json.Marshal(map[string]any{
		"id": id, "object": "chat.completion.chunk", "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}},
		"usage":   map[string]int{"prompt_tokens": len(body) / 4, "completion_tokens": s.o.Tokens},
	})
	fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", end)
	if fl != nil {
		fl.Flush()
	}
	t.Done = time.Now()
	s.record(t)
	if s.o.Log != nil {
		s.o.Log.Info("completion", "id", t.ID, "received", t.Received.Format(time.RFC3339Nano),
			"first_token", t.FirstToken.Format(time.RFC3339Nano), "first_token_unix_ns", t.FirstToken.UnixNano(),
			"done", t.Done.Format(time.RFC3339Nano))
	}
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"object":"list","data":[{"id":"fake","object":"model","owned_by":"loadtest"}]}`)
}

// timing answers the Timing of one request as JSON (times also in Unix ns,
// for clients in other processes on the same machine).
func (s *Server) timing(w http.ResponseWriter, r *http.Request) {
	t, ok := s.Timing(r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": t.ID, "received_unix_ns": t.Received.UnixNano(),
		"first_token_unix_ns": t.FirstToken.UnixNano(), "done_unix_ns": t.Done.UnixNano(),
	})
}

func (s *Server) allTimings(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make([]Timing, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.timings[id])
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
