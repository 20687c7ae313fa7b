package dm

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// OfflineOptions configures the offline narrator.
type OfflineOptions struct {
	// WordDelay is the pause between streamed words, so the browser sees
	// the reply arrive like a model's. Zero streams as fast as emit allows.
	WordDelay time.Duration
}

// Offline is the built-in Dungeon Master: a rules-based narrator that needs
// no network. It reads the player's intent, rolls dice against the
// character sheet, weaves in retrieved memory and streams its narration word
// by word. Its reply is a function of the prompt and seed alone.
type Offline struct {
	opts OfflineOptions
}

var _ Model = (*Offline)(nil)

// NewOffline returns the offline narrator.
func NewOffline(opts OfflineOptions) *Offline {
	return &Offline{opts: opts}
}

// Name returns "offline".
func (o *Offline) Name() string { return "offline" }

// Stream narrates the reply to p, calling emit once per word. Each delta is
// a word followed by a single space, except the last, so the deltas
// concatenate to exactly the reply. It honours MaxTokens by ending the reply
// early. Between words it waits WordDelay, returning ctx.Err() as soon as
// ctx is done.
func (o *Offline) Stream(ctx context.Context, p Prompt, emit func(delta string) error) (Usage, error) {
	usage := Usage{PromptTokens: promptTokens(p)}
	if err := ctx.Err(); err != nil {
		return usage, err
	}
	words := strings.Split(narrate(p), " ")
	if p.MaxTokens > 0 {
		words = limitTokens(words, p.MaxTokens)
	}

	var timer *time.Timer
	if o.opts.WordDelay > 0 {
		timer = time.NewTimer(o.opts.WordDelay)
		defer timer.Stop()
	}
	var sent strings.Builder
	for i, w := range words {
		if i > 0 && timer != nil {
			timer.Reset(o.opts.WordDelay)
			select {
			case <-ctx.Done():
				usage.CompletionTokens = embed.CountTokens(sent.String())
				return usage, ctx.Err()
			case <-timer.C:
			}
		}
		// Without a delay nothing else would notice a cancelled turn.
		if err := ctx.Err(); err != nil {
			usage.CompletionTokens = embed.CountTokens(sent.String())
			return usage, err
		}
		delta := w
		if i < len(words)-1 {
			delta += " "
		}
		if err := emit(delta); err != nil {
			usage.CompletionTokens = embed.CountTokens(sent.String())
			return usage, fmt.Errorf("offline: emit: %w", err)
		}
		sent.WriteString(delta)
	}
	usage.CompletionTokens = embed.CountTokens(sent.String())
	return usage, nil
}

// limitTokens cuts the reply to the longest prefix of words within limit
// estimated tokens, keeping at least one word.
func limitTokens(words []string, limit int) []string {
	if embed.CountTokens(strings.Join(words, " ")) <= limit {
		return words
	}
	n := 1
	for n < len(words) && embed.CountTokens(strings.Join(words[:n+1], " ")) <= limit {
		n++
	}
	return words[:n]
}

// promptTokens estimates the prompt's size the way a network provider's
// prompt would be built from it: every part, each counted once.
func promptTokens(p Prompt) int {
	n := embed.CountTokens(p.System) + embed.CountTokens(p.Character.Describe()) +
		embed.CountTokens(p.Player)
	for _, m := range p.Memory {
		n += embed.CountTokens(m.Content)
	}
	for _, t := range p.Recent {
		n += embed.CountTokens(t.Content)
	}
	return n
}
