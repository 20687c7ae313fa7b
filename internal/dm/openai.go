package dm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/sse"
)

// OpenAIOptions configure an OpenAI-compatible chat model.
type OpenAIOptions struct {
	// BaseURL ends in /v1: https://api.openai.com/v1,
	// http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM).
	BaseURL string
	APIKey  string // sent as a bearer token when set (Ollama needs none)
	Model   string
	// Temperature is sent when set; servers differ in their defaults.
	Temperature *float64
	Retry       httpretry.Policy
	Timeouts    Timeouts
	HTTP        *http.Client // nil = a client without a global timeout (streams are long)
}

// OpenAI streams replies from any server speaking OpenAI's chat-completions
// API with `stream: true`: OpenAI, Ollama, vLLM, llama.cpp's server.
type OpenAI struct {
	o OpenAIOptions
}

var _ Model = (*OpenAI)(nil)

// NewOpenAI returns a chat-completions model.
func NewOpenAI(o OpenAIOptions) *OpenAI {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	return &OpenAI{o: o}
}

// Name returns "openai".
func (m *OpenAI) Name() string { return "openai" }

// ModelName is the configured model, stored on each turn.
func (m *OpenAI) ModelName() string { return m.o.Model }

type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []wireMessage  `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions map[string]any `json:"stream_options,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	Seed          *int64         `json:"seed,omitempty"`
	Tools         []wireTool     `json:"tools,omitempty"`
	ToolChoice    string         `json:"tool_choice,omitempty"`
}

// wireMessage is a chat message on the wire, including the assistant's
// tool calls and the tool results sent back.
type wireMessage struct {
	Role       string         `json:"role"`
	Content    *string        `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wireTool struct {
	Type     string       `json:"type"` // "function"
	Function wireFunction `json:"function"`
}

type wireFunction struct {
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Parameters  map[string]any `json:"parameters,omitempty"`
}

type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// chatChunk is one `data:` payload of a streamed chat completion.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	// Some servers (vLLM, LiteLLM, OpenAI itself) report a failure inside
	// the stream as an error object.
	Error *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

// Stream sends the prompt and emits the reply's content deltas in order.
// 429 and 5xx answers are retried with backoff before the first token;
// after that an error ends the reply. Cancelling ctx closes the upstream
// request. Usage is the server's when it sends one
// (stream_options.include_usage), estimated otherwise.
//
// With p.Tools set, the request offers the executor's tools; each round of
// tool calls the model streams is assembled, executed and answered with
// role "tool" messages, and the model continues, for at most MaxToolSteps
// rounds, after which it is asked to finish without tools. The content of
// every round is emitted, in order.
func (m *OpenAI) Stream(ctx context.Context, p Prompt, emit func(delta string) error) (Usage, error) {
	usage := Usage{PromptTokens: p.Tokens()}
	seed := p.Seed & 0x7fffffff // some servers take only 32-bit seeds
	req := chatRequest{
		Model: m.o.Model, Messages: wireMessages(p.Messages()), Stream: true,
		StreamOptions: map[string]any{"include_usage": true},
		MaxTokens:     p.MaxTokens, Temperature: m.o.Temperature, Seed: &seed,
	}
	if p.Tools != nil {
		for _, t := range p.Tools.Tools() {
			req.Tools = append(req.Tools, wireTool{Type: "function", Function: wireFunction{Name: t.Name, Description: t.Description, Parameters: t.Parameters}})
		}
	}
	sctx, gotToken, stop := m.o.Timeouts.deadlines(ctx)
	defer stop()
	var reply strings.Builder
	total := Usage{}
	serverUsage := true
	for step := 0; ; step++ {
		if step == MaxToolSteps {
			req.ToolChoice = "none" // enough tools: narrate
		}
		res, err := m.streamOnce(ctx, sctx, req, gotToken, &reply, emit)
		if res.usage != nil {
			total.PromptTokens += res.usage.PromptTokens
			total.CompletionTokens += res.usage.CompletionTokens
		} else {
			serverUsage = false
		}
		if err != nil || len(res.calls) == 0 || p.Tools == nil || step == MaxToolSteps {
			if serverUsage {
				usage = total
			} else {
				usage.CompletionTokens = embed.CountTokens(reply.String())
			}
			return usage, err
		}
		content := res.content
		req.Messages = append(req.Messages, wireMessage{Role: "assistant", Content: &content, ToolCalls: res.calls})
		for _, c := range res.calls {
			out, err := p.Tools.Execute(ctx, ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
			if err != nil {
				return usage, fmt.Errorf("openai: tool %s: %w", c.Function.Name, err)
			}
			req.Messages = append(req.Messages, wireMessage{Role: "tool", Content: &out, ToolCallID: c.ID})
		}
	}
}

// MaxToolSteps bounds the rounds of tool calls in one reply.
const MaxToolSteps = 4

// stepResult is what one streamed completion produced.
type stepResult struct {
	content string
	calls   []wireToolCall
	usage   *Usage
}

func wireMessages(ms []ChatMessage) []wireMessage {
	out := make([]wireMessage, len(ms))
	for i, m := range ms {
		out[i] = wireMessage{Role: m.Role, Content: &ms[i].Content}
	}
	return out
}

// streamOnce sends one chat-completions request and reads its stream,
// emitting content and assembling tool calls from their deltas (an id and
// name in the first delta of each index, arguments in fragments after).
func (m *OpenAI) streamOnce(ctx, sctx context.Context, req chatRequest, gotToken func(), reply *strings.Builder, emit func(string) error) (stepResult, error) {
	var res stepResult
	body, err := json.Marshal(req)
	if err != nil {
		return res, err
	}
	resp, done, err := httpretry.Do(sctx, m.o.HTTP, m.o.Retry, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.o.BaseURL+"/chat/completions", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		if m.o.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+m.o.APIKey)
		}
		return req, nil
	})
	if err != nil {
		return res, streamFailure("openai", ctx, sctx, err)
	}
	defer done()
	defer resp.Body.Close()

	var content strings.Builder
	finished := false
	r := sse.NewReader(resp.Body)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			if !finished {
				err = modelError("openai", "the stream ended before [DONE]")
			} else {
				err = nil
			}
		}
		if err != nil {
			return res, streamFailure("openai", ctx, sctx, err)
		}
		data := strings.TrimSpace(ev.Data)
		if data == "[DONE]" {
			break
		}
		var c chatChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return res, &Error{Code: CodeError, Message: "the openai model sent a malformed reply", Err: fmt.Errorf("chunk %.80q: %w", data, err)}
		}
		if c.Error != nil {
			return res, modelError("openai", c.Error.Type+": "+c.Error.Message)
		}
		if c.Usage != nil {
			res.usage = &Usage{PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens}
		}
		for _, ch := range c.Choices {
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				finished = true
			}
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index < 0 || tc.Index >= maxToolCallsPerStep {
					return res, modelError("openai", fmt.Sprintf("tool call index %d out of range", tc.Index))
				}
				gotToken()
				for len(res.calls) <= tc.Index {
					res.calls = append(res.calls, wireToolCall{Type: "function"})
				}
				call := &res.calls[tc.Index]
				if tc.ID != "" {
					call.ID = tc.ID
				}
				call.Function.Name += tc.Function.Name
				call.Function.Arguments += tc.Function.Arguments
				if len(call.Function.Arguments) > maxToolArguments {
					return res, modelError("openai", "tool call arguments too long")
				}
			}
			if ch.Delta.Content == nil || *ch.Delta.Content == "" {
				continue
			}
			gotToken()
			if err := emit(*ch.Delta.Content); err != nil {
				return res, fmt.Errorf("openai: emit: %w", err)
			}
			reply.WriteString(*ch.Delta.Content)
			content.WriteString(*ch.Delta.Content)
		}
	}
	res.content = content.String()
	for i := range res.calls {
		if res.calls[i].ID == "" { // some servers omit ids; the tool message needs one
			res.calls[i].ID = fmt.Sprintf("call_%d", i)
		}
	}
	return res, nil
}

// Limits on what a model may ask for in one step.
const (
	maxToolCallsPerStep = 16
	maxToolArguments    = 16 << 10
)
