package game

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/summary"
)

// SourceSummary marks the rolling summary in a turn's context.
const SourceSummary = "summary"

// Rolling summaries (docs/LORE.md "Rolling summary"): the budget share a
// summary may take of the prompt, how many messages must have left the
// recent window uncovered before the task rolls it forward, and what one
// run of the task takes in at a time.
const (
	SummaryBudgetShare = 5   // a summary costs at most 1/SummaryBudgetShare of the prompt budget
	SummaryStep        = 10  // messages outside the recent window not yet covered
	SummaryBatch       = 200 // messages per summarising step
	// SummaryInputShare: one step's messages cost at most this many times
	// the prompt budget (a network model's input).
	SummaryInputShare = 2
	maxSummaryRounds  = 100 // steps per run; the next turn's run goes on
)

// MaxSummaryRunes bounds an owner's summary text.
const MaxSummaryRunes = 8000

// Summary is a session's rolling summary: what the history up to and
// including ThroughMessageID (nil: none yet) comes to.
type Summary struct {
	Content          string     `json:"content"`
	ThroughMessageID *uuid.UUID `json:"through_message_id"`
	UpdatedAt        time.Time  `json:"updated_at"`
	// Edited says the owner wrote part of it: their text is kept, word
	// for word, at its head, and the task rolls on what follows.
	Edited bool `json:"edited"`
}

// SummaryInput is an owner's edit of the summary.
type SummaryInput struct {
	Content *string `json:"content"`
}

// WithSummaryBudget sets the token budget of a rolling summary (the
// prompt budget's share; the owner's text may not exceed it).
func WithSummaryBudget(tokens int) ServiceOption {
	return func(s *Service) { s.summaryTokens = tokens }
}

// GetSummary returns the rolling summary of a session the player is a
// member of; nil when it has none yet.
func (s *Service) GetSummary(ctx context.Context, playerID, sessionID uuid.UUID) (*Summary, error) {
	return s.store.memberSummary(ctx, playerID, sessionID)
}

// PutSummary replaces the summary of a session the player owns with their
// text, which the summary task then keeps verbatim at the head of the
// summary and rolls on after it. Empty text removes the summary; the task
// then summarises the history from the start.
func (s *Service) PutSummary(ctx context.Context, playerID, sessionID uuid.UUID, in SummaryInput) (*Summary, error) {
	if in.Content == nil {
		return nil, apperr.Invalidf("content", "is required (empty text removes the summary)")
	}
	content := strings.TrimSpace(*in.Content)
	if err := checkText("content", content, MaxSummaryRunes, true); err != nil {
		return nil, err
	}
	budget := s.summaryTokens
	if budget <= 0 {
		budget = DefaultSummaryTokens
	}
	if n := embed.CountTokens(content); n > budget {
		return nil, apperr.Invalidf("content", "at most %d tokens, the summary's share of the prompt (got about %d)", budget, n)
	}
	if content == "" {
		return nil, s.store.deleteSummary(ctx, playerID, sessionID)
	}
	return s.store.putSummary(ctx, playerID, sessionID, content)
}

// DefaultSummaryTokens is the summary budget with the default prompt budget.
const DefaultSummaryTokens = 3000 / SummaryBudgetShare

// SummaryQueue starts a session's summary task (implemented by *workers.Client).
type SummaryQueue interface {
	EnqueueSummary(ctx context.Context, sessionID uuid.UUID) error
}

// Summarizer keeps sessions' rolling summaries (the summary task's side).
// With the offline DM it summarises extractively (internal/summary);
// with a network DM it asks the model, and falls back to the extractive
// summary when the model fails.
type Summarizer struct {
	store *Store
	model dm.Model
	opts  SummarizerOptions
}

// SummarizerOptions tune the summarizer; zero values take the defaults of
// the pipeline's.
type SummarizerOptions struct {
	RecentN      int // the recent window every prompt carries (PipelineOptions.RecentN)
	PromptBudget int // the prompt's token budget (PipelineOptions.PromptBudget)
	Step         int // uncovered messages that make a summary due (SummaryStep)
}

// NewSummarizer wires the summary task's work.
func NewSummarizer(store *Store, model dm.Model, opts SummarizerOptions) *Summarizer {
	if opts.PromptBudget <= 0 {
		opts.PromptBudget = 3000
	}
	if opts.Step <= 0 {
		opts.Step = SummaryStep
	}
	return &Summarizer{store: store, model: model, opts: opts}
}

// Tokens is the summary's budget.
func (z *Summarizer) Tokens() int { return z.opts.PromptBudget / SummaryBudgetShare }

// Due says whether the session of a completed turn has at least Step
// messages outside the recent window that its summary does not cover.
func (z *Summarizer) Due(ctx context.Context, turnID uuid.UUID) (uuid.UUID, bool, error) {
	sessionID, through, err := z.store.summaryDue(ctx, turnID)
	if err != nil {
		return sessionID, false, err
	}
	msgs, err := z.store.SummaryMessages(ctx, sessionID, through, z.opts.RecentN, z.opts.Step)
	return sessionID, len(msgs) >= z.opts.Step, err
}

// Update rolls the session's summary forward over every message that has
// left the recent window, a batch at a time, storing each step (so a long
// history is summarised in steps that each survive a crash). The owner's
// text is kept at the head; the rest is the previous automatic part and
// the batch, summarised within what the owner's text leaves of the budget.
// A step whose row changed meanwhile (the owner edited it) is done again.
func (z *Summarizer) Update(ctx context.Context, sessionID uuid.UUID) error {
	for range maxSummaryRounds {
		st, err := z.store.summaryState(ctx, sessionID)
		if err != nil {
			return err
		}
		msgs, err := z.store.SummaryMessages(ctx, sessionID, st.ThroughSeq, z.opts.RecentN, SummaryBatch)
		if err != nil || len(msgs) < z.opts.Step {
			return err
		}
		msgs = z.cut(msgs)
		began := time.Now()
		owner := strings.TrimSpace(st.OwnerText)
		previous := strings.TrimSpace(strings.TrimPrefix(st.Content, owner))
		budget := z.Tokens()
		if owner != "" {
			budget -= embed.CountTokens(owner) + 1
		}
		auto, err := z.summarise(ctx, previous, msgs, budget)
		if err != nil {
			return err
		}
		content := strings.TrimSpace(owner + "\n\n" + auto)
		wrote, err := z.store.writeSummary(ctx, sessionID, st, content, msgs[len(msgs)-1].ID)
		if err != nil {
			return err
		}
		logging.From(ctx).Info("summary rolled forward", "messages", len(msgs),
			"tokens", embed.CountTokens(content), "written", wrote, "ms", time.Since(began).Milliseconds())
	}
	return nil
}

// cut keeps the leading messages within one step's input budget (at least one).
func (z *Summarizer) cut(msgs []summaryMessage) []summaryMessage {
	left := z.opts.PromptBudget * SummaryInputShare
	for i, m := range msgs {
		if left -= embed.CountTokens(m.Content) + 4; left < 0 && i > 0 {
			return msgs[:i]
		}
	}
	return msgs
}

func (z *Summarizer) summarise(ctx context.Context, previous string, batch []summaryMessage, budget int) (string, error) {
	if budget <= 0 {
		return "", nil
	}
	msgs := make([]summary.Message, len(batch))
	for i, m := range batch {
		msgs[i] = summary.Message{Role: m.Role, Author: m.Author, Content: m.Content}
	}
	if z.model == nil || z.model.Name() == "offline" {
		return summary.Summarize(previous, msgs, summary.Options{MaxTokens: budget}), nil
	}
	var b strings.Builder
	_, err := z.model.Stream(ctx, summary.Request(previous, msgs, budget), func(d string) error {
		b.WriteString(d)
		return nil
	})
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	text := summary.Fit(b.String(), budget, embed.CountTokens)
	if err != nil || text == "" {
		logging.From(ctx).Warn("the model did not summarise; summarising extractively", "model", z.model.Name(), "err", err)
		return summary.Summarize(previous, msgs, summary.Options{MaxTokens: budget}), nil
	}
	return text, nil
}
