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
	"github.com/codeofconquest/brightdawn/internal/memory"
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
	Messages      []ChatMessage  `json:"messages"`
	Stream        bool           `json:"stream"`
	StreamOptions map[string]any `json:"stream_options,omitempty"`
	MaxTokens     int            `json:"max_tokens,omitempty"`
	Temperature   *float64       `json:"temperature,omitempty"`
	Seed          *int64         `json:"seed,omitempty"`
}

// chatChunk is one `data:` payload of a streamed chat completion.
type chatChunk struct {
	Choices []struct {
		Delta struct {
			Content *string `json:"content"`
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
func (m *OpenAI) Stream(ctx context.Context, p Prompt, emit func(delta string) error) (Usage, error) {
	usage := Usage{PromptTokens: p.Tokens()}
	seed := p.Seed & 0x7fffffff // some servers take only 32-bit seeds
	body, err := json.Marshal(chatRequest{
		Model: m.o.Model, Messages: p.Messages(), Stream: true,
		StreamOptions: map[string]any{"include_usage": true},
		MaxTokens:     p.MaxTokens, Temperature: m.o.Temperature, Seed: &seed,
	})
	if err != nil {
		return usage, err
	}
	sctx, gotToken, stop := m.o.Timeouts.deadlines(ctx)
	defer stop()
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
		return usage, streamFailure("openai", ctx, sctx, err)
	}
	defer done()
	defer resp.Body.Close()

	var reply strings.Builder
	serverUsage := false
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
			if !serverUsage {
				usage.CompletionTokens = memory.CountTokens(reply.String())
			}
			return usage, streamFailure("openai", ctx, sctx, err)
		}
		data := strings.TrimSpace(ev.Data)
		if data == "[DONE]" {
			break
		}
		var c chatChunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			if !serverUsage {
				usage.CompletionTokens = memory.CountTokens(reply.String())
			}
			return usage, &Error{Code: CodeError, Message: "the openai model sent a malformed reply", Err: fmt.Errorf("chunk %.80q: %w", data, err)}
		}
		if c.Error != nil {
			usage.CompletionTokens = memory.CountTokens(reply.String())
			return usage, modelError("openai", c.Error.Type+": "+c.Error.Message)
		}
		if c.Usage != nil {
			usage = Usage{PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens}
			serverUsage = true
		}
		for _, ch := range c.Choices {
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				finished = true
			}
			if ch.Delta.Content == nil || *ch.Delta.Content == "" {
				continue
			}
			gotToken()
			if err := emit(*ch.Delta.Content); err != nil {
				if !serverUsage {
					usage.CompletionTokens = memory.CountTokens(reply.String())
				}
				return usage, fmt.Errorf("openai: emit: %w", err)
			}
			reply.WriteString(*ch.Delta.Content)
		}
	}
	if !serverUsage {
		usage.CompletionTokens = memory.CountTokens(reply.String())
	}
	return usage, nil
}
