package game

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Pipeline runs the stages of a turn. Every stage is idempotent: it moves
// the turn forward only from the statuses that precede it, so a task run
// twice (a retry, the sweeper, a redelivery after a crash) writes nothing twice.
type Pipeline struct {
	store    *Store
	queue    Queue
	pub      Publisher
	embedder memory.Embedder
	search   *Searcher
	model    dm.Model
	opts     PipelineOptions
}

// PipelineOptions tune the pipeline.
type PipelineOptions struct {
	MemoryK      int    // retrieved messages per turn
	RecentN      int    // most recent messages always in the prompt
	System       string // the DM's system prompt
	MaxTokens    int    // reply budget
	PromptBudget int    // token budget of the whole prompt
	// Heartbeat is how often a running generation marks its turn alive, so
	// the sweeper can tell a long generation from a dead worker's.
	Heartbeat time.Duration
}

// NewPipeline wires the pipeline.
func NewPipeline(store *Store, queue Queue, pub Publisher, embedder memory.Embedder, search *Searcher, model dm.Model, opts PipelineOptions) *Pipeline {
	if opts.System == "" {
		opts.System = dm.DefaultSystemPrompt
	}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = 400
	}
	if opts.PromptBudget == 0 {
		opts.PromptBudget = 3000
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 5 * time.Second
	}
	return &Pipeline{store: store, queue: queue, pub: pub, embedder: embedder, search: search, model: model, opts: opts}
}

// Embed embeds the player's message and hands the turn to retrieval.
func (p *Pipeline) Embed(ctx context.Context, turnID uuid.UUID) error {
	t, ok, err := p.store.Advance(ctx, turnID, StatusEmbedding, StatusQueued, StatusEmbedding)
	if err != nil || !ok {
		return err
	}
	publishStatus(ctx, p.pub, t)
	if err := p.EmbedMessage(ctx, t.PlayerMessageID); err != nil {
		return err
	}
	if err := p.store.EndStage(ctx, turnID, StatusEmbedding); err != nil {
		return err
	}
	return p.queue.Enqueue(ctx, StageRetrieve, turnID)
}

// EmbedMessage computes and stores one message's vector.
func (p *Pipeline) EmbedMessage(ctx context.Context, messageID uuid.UUID) error {
	m, err := p.store.GetMessage(ctx, messageID)
	if err != nil {
		return err
	}
	vecs, err := p.embedder.Embed(ctx, []string{m.Content})
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	return p.store.SetEmbedding(ctx, m.ID, VectorText(vecs[0]), p.embedder.Model(), memory.CountTokens(m.Content))
}

// EmbedReply embeds the DM's reply of a completed turn (low priority).
func (p *Pipeline) EmbedReply(ctx context.Context, turnID uuid.UUID) error {
	t, err := p.store.GetTurn(ctx, turnID)
	if err != nil {
		return err
	}
	if t.DMMessageID == nil {
		return nil
	}
	return p.EmbedMessage(ctx, *t.DMMessageID)
}

// Retrieve chooses the memory of the turn: the most recent messages, and
// the most similar earlier ones, recorded on the turn with their scores.
func (p *Pipeline) Retrieve(ctx context.Context, turnID uuid.UUID) error {
	t, ok, err := p.store.Advance(ctx, turnID, StatusRetrieving, StatusEmbedding, StatusRetrieving)
	if err != nil || !ok {
		return err
	}
	publishStatus(ctx, p.pub, t)
	pm, err := p.store.GetMessage(ctx, t.PlayerMessageID)
	if err != nil {
		return err
	}
	recent, err := p.store.RecentMessages(ctx, t.SessionID, pm.Seq, p.opts.RecentN)
	if err != nil {
		return err
	}
	exclude := []uuid.UUID{pm.ID}
	items := make([]ContextItem, 0, len(recent)+p.opts.MemoryK)
	for _, m := range recent {
		exclude = append(exclude, m.ID)
		items = append(items, ContextItem{MessageID: m.ID, Source: "recent", Role: m.Role, Tokens: memory.CountTokens(m.Content)})
	}
	vec, err := p.store.messageEmbedding(ctx, pm.ID)
	if err != nil {
		return err
	}
	hits, err := p.search.Nearest(ctx, t.SessionID, vec, p.opts.MemoryK, exclude)
	if err != nil {
		return err
	}
	for _, h := range hits {
		items = append(items, ContextItem{MessageID: h.Message.ID, Score: h.Score, Source: h.Source, Role: h.Message.Role, Tokens: memory.CountTokens(h.Message.Content)})
	}
	if err := p.store.SetContext(ctx, turnID, items); err != nil {
		return err
	}
	return p.queue.Enqueue(ctx, StageGenerate, turnID)
}

// Generate streams the Dungeon Master's reply, publishing each piece as a
// dm.delta, then stores the reply and ends the turn.
func (p *Pipeline) Generate(ctx context.Context, turnID uuid.UUID) error {
	t, ok, err := p.store.Advance(ctx, turnID, StatusGenerating, StatusRetrieving, StatusGenerating)
	if err != nil || !ok {
		return err
	}
	publishStatus(ctx, p.pub, t)
	prompt, err := p.prompt(ctx, t)
	if err != nil {
		return err
	}
	ctx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	stopBeat := p.heartbeat(ctx, turnID, stopGen)
	defer stopBeat()
	var reply strings.Builder
	usage, err := p.model.Stream(ctx, prompt, func(delta string) error {
		reply.WriteString(delta)
		e, err := events.NewEvent(events.TypeDMDelta, t.ID, map[string]any{"text": delta, "attempt": t.Attempts})
		if err != nil {
			return err
		}
		_, err = p.pub.Publish(ctx, t.SessionID, e)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			if cur, gerr := p.store.GetTurn(context.WithoutCancel(ctx), turnID); gerr == nil && Final(cur.Status) {
				return nil // cancelled by the player: the cancel already ended the turn
			}
		}
		return fmt.Errorf("generate: %w", err)
	}
	msg := Message{ID: uuid.NewSHA1(turnID, []byte("dm-reply")), Content: reply.String()}
	m, done, ok, err := p.store.Complete(ctx, t, msg, p.model.Name(), "", usage.PromptTokens, usage.CompletionTokens)
	if err != nil || !ok {
		return err
	}
	publishStatus(ctx, p.pub, done)
	publish(ctx, p.pub, done, events.TypeDMDone, map[string]any{"message": m})
	if err := p.queue.Enqueue(ctx, StageEmbedDM, turnID); err != nil {
		logging.From(ctx).Warn("enqueue of reply embedding failed", "turn_id", turnID, "err", err)
	}
	return nil
}

// heartbeat touches the turn every Heartbeat until stopped. When the turn
// is no longer generating (cancelled through a replica whose cancel signal
// did not reach this task), it stops the generation.
func (p *Pipeline) heartbeat(ctx context.Context, turnID uuid.UUID, stopGen context.CancelFunc) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(p.opts.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				alive, err := p.store.TouchGenerating(ctx, turnID)
				if err != nil && ctx.Err() == nil {
					logging.From(ctx).Warn("turn heartbeat failed", "err", err)
				}
				if err == nil && !alive {
					stopGen()
					return
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Fail ends a turn `failed` with a reason (retries spent, or a permanent error).
func (p *Pipeline) Fail(ctx context.Context, turnID uuid.UUID, code, message string) error {
	t, ok, err := p.store.Finish(ctx, turnID, StatusFailed, &TurnError{Code: code, Message: message})
	if err != nil || !ok {
		return err
	}
	publishStatus(ctx, p.pub, t)
	publish(ctx, p.pub, t, events.TypeTurnFailed, map[string]any{"error": t.Error})
	return nil
}

// prompt shapes the model's input from the turn's recorded context.
func (p *Pipeline) prompt(ctx context.Context, t Turn) (dm.Prompt, error) {
	pm, err := p.store.GetMessage(ctx, t.PlayerMessageID)
	if err != nil {
		return dm.Prompt{}, err
	}
	char, err := p.store.SessionCharacter(ctx, t.SessionID)
	if err != nil {
		return dm.Prompt{}, err
	}
	ids := make([]uuid.UUID, 0, len(t.Context))
	for _, c := range t.Context {
		ids = append(ids, c.MessageID)
	}
	byID, err := p.store.MessagesByID(ctx, t.SessionID, ids)
	if err != nil {
		return dm.Prompt{}, err
	}
	pr := dm.Prompt{System: p.opts.System, Character: char.forDM(), Player: pm.Content, Seed: t.Seed, MaxTokens: p.opts.MaxTokens}
	budget := p.opts.PromptBudget - memory.CountTokens(pr.System) - memory.CountTokens(pr.Player)
	// Recent messages first (they are never trimmed before memory), then memory while it fits.
	for _, c := range t.Context {
		if m, ok := byID[c.MessageID]; ok && c.Source == "recent" {
			pr.Recent = append(pr.Recent, dm.Turn{Role: m.Role, Content: m.Content})
			budget -= c.Tokens
		}
	}
	for _, c := range t.Context {
		if m, ok := byID[c.MessageID]; ok && c.Source != "recent" && budget-c.Tokens >= 0 {
			pr.Memory = append(pr.Memory, dm.Memory{Role: m.Role, Content: m.Content, Score: c.Score})
			budget -= c.Tokens
		}
	}
	return pr, nil
}

// Sweep recovers turns stuck in a non-final stage (untouched for
// stuckAfter): it re-enqueues their current stage (task ids keep that
// idempotent) or, once a turn is older than deadline, ends it failed.
// It returns how many turns it acted on.
func (p *Pipeline) Sweep(ctx context.Context, now time.Time, stuckAfter, deadline time.Duration) (int, error) {
	turns, err := p.store.StuckTurns(ctx, now.Add(-stuckAfter), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range turns {
		if t.CreatedAt.Before(now.Add(-deadline)) {
			if err := p.Fail(ctx, t.ID, "timeout", "the turn did not finish in time"); err != nil {
				return n, err
			}
			n++
			continue
		}
		stage := map[string]string{StatusQueued: StageEmbed, StatusEmbedding: StageEmbed, StatusRetrieving: StageRetrieve, StatusGenerating: StageGenerate}[t.Status]
		// The stage's own task may still hold its id (a dead worker's task
		// stays "active" until asynq's lease runs out, a minute or more),
		// so the recovery gets an id of its own, named by the stuck moment.
		episode := strconv.FormatInt(t.UpdatedAt.UnixMicro(), 36)
		if err := p.queue.Requeue(ctx, stage, t.ID, episode); err != nil {
			return n, err
		}
		if err := p.store.Touch(ctx, t.ID); err != nil {
			return n, err
		}
		logging.From(ctx).Info("sweeper re-enqueued a stuck turn", "turn_id", t.ID, "stage", stage)
		n++
	}
	return n, nil
}

func (s *Store) messageEmbedding(ctx context.Context, id uuid.UUID) (string, error) {
	var vec *string
	err := s.pool.QueryRow(ctx, `SELECT embedding::text FROM game.messages WHERE id = $1`, id).Scan(&vec)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && vec == nil) {
		return "", fmt.Errorf("message %s has no embedding yet", id)
	}
	return derefOr(vec), postgres.Translate(err, "message")
}

func derefOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
