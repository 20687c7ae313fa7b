package dm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/replicate"
	"github.com/codeofconquest/brightdawn/internal/sse"
)

// ReplicateOptions configure a language model on Replicate.
type ReplicateOptions struct {
	Client *replicate.Client
	// Model is "owner/name" (its current version) or "owner/name:version",
	// for example "meta/meta-llama-3-8b-instruct".
	Model string
	// MaxTokensInput names the model's input for the reply length; most
	// current language models call it max_tokens, older ones max_new_tokens.
	MaxTokensInput string
	Timeouts       Timeouts
}

// Replicate streams replies from a language model on Replicate: it creates
// a prediction with `stream: true` and reads the prediction's server-sent
// events (`output` carries the next text, `error` a failure, `done` the end).
type Replicate struct {
	o ReplicateOptions
}

var _ Model = (*Replicate)(nil)

// NewReplicate returns a Replicate model.
func NewReplicate(o ReplicateOptions) *Replicate {
	if o.MaxTokensInput == "" {
		o.MaxTokensInput = "max_tokens"
	}
	return &Replicate{o: o}
}

// Name returns "replicate".
func (m *Replicate) Name() string { return "replicate" }

// ModelName is the configured model, stored on each turn.
func (m *Replicate) ModelName() string { return m.o.Model }

// Stream creates the prediction (retrying 429 and 5xx), reads its stream
// and emits each output event. Whenever it gives up early (cancellation,
// timeout, error) it cancels the prediction too, so Replicate stops
// billing for a reply nobody reads.
func (m *Replicate) Stream(ctx context.Context, p Prompt, emit func(delta string) error) (usage Usage, err error) {
	usage = Usage{PromptTokens: p.Tokens()}
	input := map[string]any{
		"prompt":        p.Transcript(),
		"system_prompt": p.SystemText(),
		"seed":          p.Seed & 0x7fffffff,
	}
	if p.MaxTokens > 0 {
		input[m.o.MaxTokensInput] = p.MaxTokens
	}
	sctx, gotToken, stop := m.o.Timeouts.deadlines(ctx)
	defer stop()
	pred, err := m.o.Client.Create(sctx, m.o.Model, input, true, 0)
	if err != nil {
		return usage, streamFailure("replicate", ctx, sctx, err)
	}
	finished := false
	defer func() {
		if !finished {
			m.o.Client.Abandon(ctx, pred)
		}
	}()
	if pred.Status == replicate.StatusFailed || pred.Status == replicate.StatusCanceled || pred.Status == replicate.StatusAborted {
		finished = true
		return usage, modelError("replicate", "prediction "+pred.Status+": "+pred.ErrorText())
	}
	if pred.URLs.Stream == "" {
		return usage, &Error{Code: CodeError, Message: "the replicate model does not stream its output", Err: fmt.Errorf("prediction %s has no stream URL", pred.ID)}
	}
	resp, done, err := m.o.Client.OpenStream(sctx, pred.URLs.Stream)
	if err != nil {
		return usage, streamFailure("replicate", ctx, sctx, err)
	}
	defer done()
	defer resp.Body.Close()

	var reply []byte
	r := sse.NewReader(resp.Body)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			err = modelError("replicate", "the stream ended before its done event")
		}
		if err != nil {
			usage.CompletionTokens = embed.CountTokens(string(reply))
			return usage, streamFailure("replicate", ctx, sctx, err)
		}
		switch ev.Type {
		case "output":
			if ev.Data == "" {
				continue
			}
			gotToken()
			if err := emit(ev.Data); err != nil {
				usage.CompletionTokens = embed.CountTokens(string(reply))
				return usage, fmt.Errorf("replicate: emit: %w", err)
			}
			reply = append(reply, ev.Data...)
		case "error":
			finished = true // the prediction has already ended
			usage.CompletionTokens = embed.CountTokens(string(reply))
			return usage, modelError("replicate", "stream error: "+errorDetail(ev.Data))
		case "done":
			finished = true
			usage.CompletionTokens = embed.CountTokens(string(reply))
			var d struct {
				Reason string `json:"reason"`
			}
			_ = json.Unmarshal([]byte(ev.Data), &d)
			if d.Reason == "canceled" || d.Reason == "error" {
				return usage, modelError("replicate", "the prediction ended: "+d.Reason)
			}
			return m.metrics(ctx, pred, usage), nil
		}
	}
}

// metrics replaces the estimate with Replicate's token counts, which the
// prediction carries once it has ended. Best effort with a short deadline:
// the reply is complete and must not wait on bookkeeping.
func (m *Replicate) metrics(ctx context.Context, pred replicate.Prediction, usage Usage) Usage {
	if pred.URLs.Get == "" {
		return usage
	}
	gctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	got, err := m.o.Client.Get(gctx, pred.URLs.Get)
	if err != nil {
		return usage
	}
	if got.Metrics.InputTokenCount > 0 {
		usage.PromptTokens = got.Metrics.InputTokenCount
	}
	if got.Metrics.OutputTokenCount > 0 {
		usage.CompletionTokens = got.Metrics.OutputTokenCount
	}
	return usage
}

// errorDetail reads Replicate's error event payload ({"detail": "..."}),
// falling back to the raw text.
func errorDetail(data string) string {
	var d struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal([]byte(data), &d) == nil && d.Detail != "" {
		return d.Detail
	}
	if len(data) > 200 {
		return data[:200]
	}
	return data
}
