package game_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// recorder is a Runner and a Publisher that remember what they were asked.
type recorder struct {
	mu      sync.Mutex
	started []uuid.UUID
	events  []events.Event
	// slowStatus delays every turn.status publish, as a slow Redis would.
	slowStatus time.Duration
}

func (r *recorder) Start(_ context.Context, id uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, id)
	return nil
}

func (r *recorder) Stop(context.Context, uuid.UUID) error { return nil }

// PublishTurn records the event as the events package would build it.
func (r *recorder) PublishTurn(_ context.Context, _, turnID uuid.UUID, typ string, data any) (string, error) {
	e, err := events.NewEvent(typ, turnID, data)
	if err != nil {
		return "", err
	}
	if e.Type == events.TypeTurnStatus {
		time.Sleep(r.slowStatus)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return "1-1", nil
}

func (r *recorder) count(typ, turnID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Type == typ && e.TurnID == turnID {
			n++
		}
	}
	return n
}

type bundle struct {
	svc    *game.Service
	pipe   *game.Pipeline
	store  *game.Store
	models *memory.Models
	search *memory.Searcher
	pool   *pgxpool.Pool
	rec    *recorder
}

func newBundle(t *testing.T) bundle {
	t.Helper()
	testkit.Migrate(t)
	pool, err := postgres.Open(context.Background(), os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store := game.NewStore(pool)
	emb := embed.NewHashEmbedder(384)
	mem := memory.NewStore(pool)
	models := memory.NewModels(mem, emb, memory.ModelSpec{Provider: "hash", Name: emb.Model()}, embed.Factory{})
	search := memory.NewSearcher(mem, models)
	rec := &recorder{}
	return bundle{
		svc:    game.NewService(store, rec, rec, emb, search),
		pipe:   game.NewPipeline(store, rec, models, search, dm.NewOffline(dm.OfflineOptions{}), game.PipelineOptions{MemoryK: 8, RecentN: 4}),
		store:  store,
		models: models,
		search: search,
		pool:   pool,
		rec:    rec,
	}
}

func (b bundle) newTurn(t *testing.T, content string) (uuid.UUID, game.Turn) {
	t.Helper()
	ctx := context.Background()
	playerID := uuid.New()
	s, err := b.svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Pipeline test"})
	require.NoError(t, err)
	_, turn, err := b.svc.PostMessage(ctx, playerID, s.ID, content, "")
	require.NoError(t, err)
	return playerID, turn
}

// stage is a pipeline stage: it returns the stage it hands the turn on to.
type stage func(context.Context, uuid.UUID) (string, error)

// run runs a stage, for tests that do not follow the hand-on.
func run(ctx context.Context, s stage, turnID uuid.UUID) error {
	_, err := s(ctx, turnID)
	return err
}

func TestEveryStageRunTwiceWritesOnce(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, turn := b.newTurn(t, "I search the old chest for the map.")
	require.Equal(t, []uuid.UUID{turn.ID}, b.rec.started, "the accepted turn was started once")
	for _, tc := range []struct {
		stage stage
		next  string
	}{{b.pipe.Embed, game.StageRetrieve}, {b.pipe.Retrieve, game.StageGenerate}, {b.pipe.Generate, game.StageEmbedDM}, {b.pipe.EmbedReply, ""}} {
		next, err := tc.stage(ctx, turn.ID)
		require.NoError(t, err)
		require.Equal(t, tc.next, next, "the stage hands the turn on")
		next, err = tc.stage(ctx, turn.ID)
		require.NoError(t, err, "a second run is a no-op")
		if tc.next == game.StageRetrieve || tc.next == game.StageGenerate {
			// A retry of a stage whose hand-on failed must hand on again.
			require.Equal(t, tc.next, next, "a rerun hands the turn on again")
		} else {
			require.Empty(t, next, "a rerun of a finished turn hands nothing on")
		}
	}
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusCompleted, got.Status)
	require.Equal(t, 1, got.Attempts, "generation ran once")
	page, err := b.svc.ListMessages(ctx, playerID, turn.SessionID, nil, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 2, "one player message and one DM reply")
	require.Equal(t, 1, b.rec.count(events.TypeDMDone, turn.ID.String()))
	require.Equal(t, 5, b.rec.count(events.TypeTurnStatus, turn.ID.String()), "statuses: queued, embedding, retrieving, generating, completed — each once")
}

func TestGenerationAfterCancelWritesNothing(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, turn := b.newTurn(t, "I wait.")
	require.NoError(t, run(ctx, b.pipe.Embed, turn.ID))
	require.NoError(t, run(ctx, b.pipe.Retrieve, turn.ID))
	_, err := b.svc.CancelTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	next, err := b.pipe.Generate(ctx, turn.ID)
	require.NoError(t, err)
	require.Empty(t, next, "a cancelled turn goes no further")
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusCancelled, got.Status)
	require.Nil(t, got.DMMessageID)
	require.Zero(t, b.rec.count(events.TypeDMDelta, turn.ID.String()))
	require.Equal(t, 1, b.rec.count(events.TypeTurnCancelled, turn.ID.String()))
}

// A stage publishes its turn.status while it works (Pipeline.announce);
// however slow that publish, the turn's events stay in order: every status
// before the reply's first delta, completed before dm.done.
func TestTurnEventsStayInOrderWhenStatusPublishesAreSlow(t *testing.T) {
	b := newBundle(t)
	b.rec.slowStatus = 30 * time.Millisecond
	ctx := context.Background()
	_, turn := b.newTurn(t, "I open the creaking door.")
	for _, s := range []stage{b.pipe.Embed, b.pipe.Retrieve, b.pipe.Generate} {
		require.NoError(t, run(ctx, s, turn.ID))
	}
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	var seen []string
	for _, e := range b.rec.events {
		if e.TurnID != turn.ID.String() {
			continue
		}
		label := e.Type
		if e.Type == events.TypeTurnStatus {
			var d struct{ Status string }
			require.NoError(t, json.Unmarshal(e.Data, &d))
			label = d.Status
		}
		if label == events.TypeDMDelta && len(seen) > 0 && seen[len(seen)-1] == events.TypeDMDelta {
			continue // one entry for a run of deltas
		}
		seen = append(seen, label)
	}
	require.Equal(t, []string{game.StatusQueued, game.StatusEmbedding, game.StatusRetrieving, game.StatusGenerating,
		events.TypeDMDelta, game.StatusCompleted, events.TypeDMDone}, seen)
}
