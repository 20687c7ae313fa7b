package game

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// Pipeline runs the stages of a turn. Every stage is idempotent: it moves
// the turn forward only from the statuses that precede it, so a task run
// twice (a retry, the sweeper, a redelivery after a crash) writes nothing twice.
//
// A stage returns the stage that comes next (or "" when the turn goes no
// further from it); the caller, the workers' task handler, enqueues it.
type Pipeline struct {
	store  *Store
	pub    Publisher
	models EmbeddingModels
	search MemorySearch
	model  dm.Model
	engine *rules.Engine
	opts   PipelineOptions
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
	// Observer receives stage, turn and model measurements (nil: none).
	Observer Observer
	// FinalWriteTimeout bounds the writes that outlive a stage's context
	// (0: FinalWriteTimeout).
	FinalWriteTimeout time.Duration
	// Rules is the rule pack of the turn's engine (nil: the embedded SRD pack).
	Rules *rules.Pack
}

// maxStaleRetries bounds how often a completion re-resolves the turn's
// actions on a sheet that another turn changed meanwhile.
const maxStaleRetries = 5

// FinalWriteTimeout bounds a write that must outlive its task's context (a
// turn's failure, a re-embed job's): long enough for a busy database,
// short enough that one which stopped answering frees the worker. The
// write then fails, the task is retried, and the sweeper ends a turn whose
// failure could never be written.
const FinalWriteTimeout = 10 * time.Second

// finalContext is ctx without its cancellation (a cancelled or timed-out
// task must still record how its turn ended) but with a deadline of its own.
func (p *Pipeline) finalContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), p.opts.FinalWriteTimeout)
}

// NewPipeline wires the pipeline.
func NewPipeline(store *Store, pub Publisher, models EmbeddingModels, search MemorySearch, model dm.Model, opts PipelineOptions) *Pipeline {
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
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.FinalWriteTimeout <= 0 {
		opts.FinalWriteTimeout = FinalWriteTimeout
	}
	if opts.Rules == nil {
		opts.Rules = rules.Default()
	}
	return &Pipeline{store: store, pub: pub, models: models, search: search, model: model, engine: rules.New(opts.Rules), opts: opts}
}

// Embed embeds the player's message and hands the turn to retrieval.
func (p *Pipeline) Embed(ctx context.Context, turnID uuid.UUID) (next string, err error) {
	began := time.Now()
	st := turnStart{wantRound: true}
	if err := p.store.startStage(ctx, turnID, &st, StatusEmbedding, StatusQueued, StatusEmbedding); err != nil || !st.OK {
		return "", err
	}
	announced := p.announce(ctx, &st)
	// A round turn's other actions have no turn of their own: their vectors
	// are made here, so memory finds them later (rounds.go).
	for _, a := range st.Round {
		if err == nil && a.MessageID != st.Player.ID {
			err = p.embed(ctx, Message{ID: a.MessageID, SessionID: st.Player.SessionID, Content: a.Content}, nil)
		}
	}
	if err == nil {
		err = p.embed(ctx, st.Player, &turnID)
	}
	announced()
	if err != nil {
		return "", err
	}
	p.opts.Observer.StageDone(StageEmbed, time.Since(began))
	return StageRetrieve, nil
}

// announce publishes the turn's new status, when the stage moved it, while
// the stage gets on with its work: a Redis round trip the stage's own
// database work need not wait for. The returned func waits for it; a stage
// calls it before it publishes anything else or hands the turn on (and
// may call it again), so a turn's events stay in order.
func (p *Pipeline) announce(ctx context.Context, st *turnStart) (wait func()) {
	if !st.Changed {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		publishStatus(ctx, p.pub, st.Turn)
	}()
	return func() { <-done }
}

// EmbedMessage computes and stores one message's vectors.
func (p *Pipeline) EmbedMessage(ctx context.Context, messageID uuid.UUID) error {
	m, err := p.store.GetMessage(ctx, messageID)
	if err != nil {
		return err
	}
	return p.embed(ctx, m, nil)
}

// embed computes a message's vectors, one per model in use (the served
// one and, during a re-embed, the one being built, so the new model is
// complete when the job's cursor reaches the end), and stores them with
// the message's token count and, for a turn's embed stage, the stage's end.
func (p *Pipeline) embed(ctx context.Context, m Message, endStage *uuid.UUID) error {
	embedders, err := p.models.Writing(ctx)
	if err != nil {
		return err
	}
	vectors := make(map[string][]float32, len(embedders))
	for _, e := range embedders {
		vecs, err := e.Embed(ctx, []string{m.Content})
		if err != nil {
			return fmt.Errorf("embed with %s: %w", e.Model(), err)
		}
		vectors[e.Model()] = vecs[0]
	}
	return p.store.StoreVectors(ctx, m, vectors, embed.CountTokens(m.Content), endStage)
}

// EmbedReply embeds the DM's reply of a completed turn (low priority).
// It is the last stage: next is always "".
func (p *Pipeline) EmbedReply(ctx context.Context, turnID uuid.UUID) (next string, err error) {
	m, ok, err := p.store.replyOf(ctx, turnID)
	if err != nil || !ok {
		return "", err
	}
	return "", p.embed(ctx, m, nil)
}

// Retrieve chooses what enters the turn's prompt: the most recent
// messages, and the earlier ones most relevant to the player's message
// (hybrid vector + keyword search, never repeating a recent one), trimmed
// to the prompt budget. What survives is recorded on the turn with its
// source, scores and token count, so the context is inspectable.
func (p *Pipeline) Retrieve(ctx context.Context, turnID uuid.UUID) (next string, err error) {
	began := time.Now()
	// Free mode: a session's turns are answered one at a time, in order of
	// arrival, each seeing the replies before it (docs/PARTY.md).
	if ahead, err := p.store.earlierTurnsOpen(ctx, turnID); err != nil || ahead > 0 {
		if err == nil {
			err = p.store.Touch(ctx, turnID) // waiting, not stuck
		}
		if err != nil {
			return "", err
		}
		return "", &AwaitTurnError{Ahead: ahead}
	}
	served, err := p.models.Serving(ctx)
	if err != nil {
		return "", err
	}
	st := turnStart{wantRecent: p.opts.RecentN, wantVector: served.Model(), wantCharacter: true, wantSummary: true, wantRound: true}
	if err := p.store.startStage(ctx, turnID, &st, StatusRetrieving, StatusEmbedding, StatusRetrieving); err != nil || !st.OK {
		return "", err
	}
	t, pm, recent := st.Turn, st.Player, st.Recent
	announced := p.announce(ctx, &st)
	defer announced()
	exclude := []uuid.UUID{pm.ID}
	for _, m := range recent {
		exclude = append(exclude, m.ID)
	}
	for _, a := range st.Round {
		exclude = append(exclude, a.MessageID)
	}
	q, fresh, err := p.query(ctx, served, pm, st.Vector)
	if err != nil {
		return "", err
	}
	if t.PrivateTo != nil {
		q.Viewer = *t.PrivateTo // a whisper's turn may recall its author's whispers; others never
	}
	hits, err := p.search.Recall(ctx, t.SessionID, q, p.opts.MemoryK, exclude)
	if err != nil {
		return "", err
	}
	candidates := make([]ContextItem, 0, len(recent)+len(hits))
	contents := map[uuid.UUID]string{}
	for _, m := range recent {
		candidates = append(candidates, ContextItem{MessageID: m.ID, Source: SourceRecent, Role: m.Role, Tokens: embed.CountTokens(m.Content)})
		contents[m.ID] = m.Content
	}
	for _, h := range hits {
		candidates = append(candidates, ContextItem{MessageID: h.Message.ID, Score: h.Score, Source: h.Source, Role: h.Message.Role,
			Tokens: embed.CountTokens(h.Message.Content), VectorScore: h.VectorScore, KeywordScore: h.KeywordScore})
		contents[h.Message.ID] = h.Message.Content
	}
	loreItems, err := p.lore(ctx, t, pm, st.Character, recent)
	if err != nil {
		return "", err
	}
	candidates = append(candidates, loreItems...)
	candidates = append(candidates, st.Round...)
	if sum := st.Summary; sum != nil && strings.TrimSpace(sum.Content) != "" {
		candidates = append(candidates, ContextItem{Source: SourceSummary, Role: RoleSystem, Content: sum.Content,
			Tokens: dm.SummaryTokens(sum.Content), ThroughMessageID: sum.ThroughMessageID})
	}
	_, items, err := p.shape(t, pm, st.Character, candidates, contents)
	if err != nil {
		announced()
		return "", p.failPermanent(ctx, turnID, err)
	}
	if err := p.store.SetContext(ctx, turnID, items, served.Model(), fresh); err != nil {
		return "", err
	}
	p.opts.Observer.StageDone(StageRetrieve, time.Since(began))
	announced()
	return StageGenerate, nil
}

// query is the player's message with its vector of the served model. The
// embed stage stored it (vec, read as the stage started); a message
// embedded just before a model switch, or whose vector a database crash
// lost (stages commit asynchronously, store_stages.go), is embedded again here,
// and that vector is returned as fresh for the stage to store.
func (p *Pipeline) query(ctx context.Context, e embed.Embedder, pm Message, vec string) (Query, *VectorRow, error) {
	var fresh *VectorRow
	if vec == "" {
		vs, err := e.Embed(ctx, []string{pm.Content})
		if err != nil {
			return Query{}, nil, fmt.Errorf("embed with %s: %w", e.Model(), err)
		}
		vec = embed.VectorText(vs[0])
		fresh = &VectorRow{MessageID: pm.ID, SessionID: pm.SessionID, Vector: vs[0]}
	}
	return Query{Text: pm.Content, Vector: vec, Model: e.Model()}, fresh, nil
}

// shape is the one place a prompt is assembled and fitted to the budget
// (dm.Fit: memory is trimmed before recent messages, the player's message
// never). It returns the prompt and the context items that made it in.
func (p *Pipeline) shape(t Turn, pm Message, char *Character, items []ContextItem, contents map[uuid.UUID]string) (dm.Prompt, []ContextItem, error) {
	pr := dm.Prompt{System: p.opts.System, Character: char.forDM(), Player: pm.Content, Seed: t.Seed, MaxTokens: p.opts.MaxTokens}
	var recentItems, memItems, loreItems []ContextItem
	var summaryItem ContextItem
	var roundItems []ContextItem
	for _, c := range items {
		if c.Source == SourceRound {
			roundItems = append(roundItems, c)
			continue
		}
		if c.Source == SourceSummary {
			summaryItem, pr.Summary = c, c.Content
			continue
		}
		if c.Source == SourceLore {
			loreItems = append(loreItems, c)
			pr.Lore = append(pr.Lore, dm.Lore{Title: c.Title, Content: c.Content})
			continue
		}
		content, ok := contents[c.MessageID]
		if !ok {
			continue // deleted since retrieval
		}
		if c.Source == SourceRecent {
			recentItems = append(recentItems, c)
			pr.Recent = append(pr.Recent, dm.Turn{Role: c.Role, Content: content})
		} else {
			memItems = append(memItems, c)
			pr.Memory = append(pr.Memory, dm.Memory{Role: c.Role, Content: content, Score: c.Score})
		}
	}
	if len(roundItems) > 0 {
		// A round turn answers every action of its round (rounds.go).
		pr.Player = roundPrompt(roundItems)
	}
	fitted, kept, err := dm.Fit(pr, p.opts.PromptBudget)
	if err != nil {
		return dm.Prompt{}, nil, err
	}
	out := make([]ContextItem, 0, 1+len(roundItems)+len(kept.Lore)+len(kept.Recent)+len(kept.Memory))
	out = append(out, roundItems...)
	if kept.Summary {
		out = append(out, summaryItem)
	}
	for _, i := range kept.Lore {
		out = append(out, loreItems[i])
	}
	for _, i := range kept.Recent {
		out = append(out, recentItems[i])
	}
	for _, i := range kept.Memory {
		out = append(out, memItems[i])
	}
	return fitted, out, nil
}

// failPermanent ends the turn failed when err is a provider or prompt
// error that retrying cannot fix (a *dm.Error), and returns nil so the task
// is not retried; any other error is returned for the queue to retry.
func (p *Pipeline) failPermanent(ctx context.Context, turnID uuid.UUID, err error) error {
	var de *dm.Error
	if !errors.As(err, &de) {
		return err
	}
	logging.From(ctx).Warn("turn failed", "turn_id", turnID, "code", de.Code, "err", err)
	fctx, cancel := p.finalContext(ctx)
	defer cancel()
	return p.Fail(fctx, turnID, failureOf(de), de.Message)
}

// Generate streams the Dungeon Master's reply, publishing each piece as a
// dm.delta, then stores the reply and ends the turn. What comes next, the
// reply's embedding, is low priority: a failure to start it must not fail
// the turn (workers.Server.turn).
func (p *Pipeline) Generate(ctx context.Context, turnID uuid.UUID) (next string, err error) {
	began := time.Now()
	st := turnStart{wantCharacter: true, wantContext: true}
	if err := p.store.startStage(ctx, turnID, &st, StatusGenerating, StatusRetrieving, StatusGenerating); err != nil || !st.OK {
		return "", err
	}
	t := st.Turn
	announced := p.announce(ctx, &st) // waited for before the first delta and after the stream
	prompt, err := p.prompt(st)
	if err != nil {
		announced()
		return "", p.failPermanent(ctx, turnID, err)
	}
	ctx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	engine := p.newTurnRules(t, st.Character)
	if engine != nil {
		if slices.ContainsFunc(t.Context, func(c ContextItem) bool { return c.Source == SourceRound }) {
			engine.intent = st.Player.Content
		}
		engine.setup(ctx, &prompt, announced)
	}
	stopBeat := p.heartbeat(ctx, turnID, stopGen)
	defer stopBeat()
	var reply strings.Builder
	streamStart, first := time.Now(), true
	usage, err := p.model.Stream(ctx, prompt, func(delta string) error {
		if first {
			first = false
			p.opts.Observer.FirstToken(p.model.Name(), time.Since(streamStart))
			announced() // the status comes before the reply
		}
		reply.WriteString(delta)
		_, err := publishTurnEvent(ctx, p.pub, t, EventDMDelta, map[string]any{"text": delta, "attempt": t.Attempts})
		if err == nil {
			p.opts.Observer.DeltaStreamed(p.model.Name())
		}
		return err
	})
	announced()
	if err != nil {
		// Cancelled by the player (the cancel already ended the turn), or
		// its session was deleted (the turn is gone; publishing failed).
		fctx, cancel := p.finalContext(ctx)
		cur, gerr := p.store.GetTurn(fctx, turnID)
		cancel()
		if (gerr == nil && Final(cur.Status)) || apperr.Is(gerr, apperr.NotFound) {
			return "", nil
		}
		if ferr := p.failPermanent(ctx, turnID, err); ferr == nil {
			return "", nil
		}
		return "", fmt.Errorf("generate: %w", err)
	}
	msg := Message{ID: uuid.NewSHA1(turnID, []byte("dm-reply")), Content: reply.String()}
	modelName := ""
	if n, ok := p.model.(interface{ ModelName() string }); ok {
		modelName = n.ModelName()
	}
	var eff Effects
	var m Message
	var done Turn
	var ok bool
	for attempt := 0; ; attempt++ {
		if engine != nil {
			eff = engine.effects()
		}
		m, done, ok, err = p.store.Complete(ctx, t, msg, p.model.Name(), modelName, usage.PromptTokens, usage.CompletionTokens, eff)
		if errors.Is(err, errStaleSheet) && attempt < maxStaleRetries {
			if err = engine.reresolve(ctx); err == nil {
				continue
			}
		}
		break
	}
	if err != nil || !ok {
		return "", err
	}
	p.opts.Observer.StageDone(StageGenerate, time.Since(began))
	p.opts.Observer.TokensUsed(p.model.Name(), usage.PromptTokens, usage.CompletionTokens)
	p.opts.Observer.TurnFinished(StatusCompleted, time.Since(done.CreatedAt))
	publishStatus(ctx, p.pub, done)
	if eff.Apply {
		publish(ctx, p.pub, done, EventSheetChanged, map[string]any{"character_id": eff.CharacterID,
			"changes": eff.Changes, "sheet": eff.Sheet})
	}
	publish(ctx, p.pub, done, EventDMDone, map[string]any{"message": m, "dice_seed": done.DiceSeed})
	return StageEmbedDM, nil
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
func (p *Pipeline) Fail(ctx context.Context, turnID uuid.UUID, code FailureCode, message string) error {
	t, ok, err := p.store.Finish(ctx, turnID, StatusFailed, &TurnError{Code: code, Message: message})
	if err != nil || !ok {
		return err
	}
	p.opts.Observer.TurnFinished(StatusFailed, time.Since(t.CreatedAt))
	publishStatus(ctx, p.pub, t)
	publish(ctx, p.pub, t, EventTurnFailed, map[string]any{"error": t.Error, "dice_seed": t.DiceSeed})
	return nil
}

// prompt rebuilds the model's input from the context Retrieve recorded,
// through the same shaping (the character sheet may have changed since),
// from what the generate stage read as it started.
func (p *Pipeline) prompt(st turnStart) (dm.Prompt, error) {
	contents := make(map[uuid.UUID]string, len(st.ContextByID))
	for id, m := range st.ContextByID {
		contents[id] = m.Content
	}
	pr, _, err := p.shape(st.Turn, st.Player, st.Character, st.Turn.Context, contents)
	return pr, err
}

// StuckTurns returns up to limit turns in a non-final status that nothing
// has touched since before: their worker may have died (the sweeper,
// workers/sweep.go, decides what to do with them).
func (p *Pipeline) StuckTurns(ctx context.Context, before time.Time, limit int) ([]Turn, error) {
	return p.store.StuckTurns(ctx, before, limit)
}

// Touch marks a turn as looked after (the sweeper re-enqueued its stage),
// so it counts as stuck again only after another stuckAfter.
func (p *Pipeline) Touch(ctx context.Context, turnID uuid.UUID) error {
	return p.store.Touch(ctx, turnID)
}

// StageOf is the stage that moves a turn on from a non-final status ("" for
// a final one): a turn stuck in it runs that stage again.
func StageOf(status string) string {
	return map[string]string{StatusQueued: StageEmbed, StatusEmbedding: StageEmbed, StatusRetrieving: StageRetrieve, StatusGenerating: StageGenerate}[status]
}

// StageOfTurn is the stage that moves the turn on: StageOf its status,
// except that a stage that has ended hands the turn on before its status
// changes, so a turn embedded but still "embedding" (queued behind a
// backlog, or waiting for an earlier turn of its session) waits for its
// retrieval, and one retrieved but still "retrieving" for its generation.
func StageOfTurn(t Turn) string {
	switch {
	case t.Status == StatusEmbedding && t.Timings.EmbedEndedAt != nil:
		return StageRetrieve
	case t.Status == StatusRetrieving && t.Timings.RetrieveEndedAt != nil:
		return StageGenerate
	}
	return StageOf(t.Status)
}

// NextAwaiting is the turn of the same session that waits for the turn
// turnID to end (free mode), if any: the runner hands it on at once
// instead of letting it look again later.
func (p *Pipeline) NextAwaiting(ctx context.Context, turnID uuid.UUID) (uuid.UUID, bool, error) {
	return p.store.nextAwaiting(ctx, turnID)
}
