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

	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// recorder is a Queue and a Publisher that remember what they were asked.
type recorder struct {
	mu       sync.Mutex
	enqueued []string
	requeued []string
	events   []events.Event
	waiting  bool // Requeue finds every task still waiting in its queue
	// slowStatus delays every turn.status publish, as a slow Redis would.
	slowStatus time.Duration
}

func (r *recorder) Enqueue(_ context.Context, stage string, id uuid.UUID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.enqueued = append(r.enqueued, stage+":"+id.String())
	return nil
}

func (r *recorder) Requeue(_ context.Context, stage string, id uuid.UUID, _ string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting {
		return false, nil
	}
	r.requeued = append(r.requeued, stage+":"+id.String())
	return true, nil
}

func (r *recorder) CancelRunning(context.Context, string, uuid.UUID) error { return nil }

func (r *recorder) Publish(_ context.Context, _ uuid.UUID, e events.Event) (string, error) {
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
	search *game.Searcher
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
	emb := memory.NewHashEmbedder(384)
	models := game.NewModels(store, emb, game.ModelSpec{Provider: "hash", Name: emb.Model()}, memory.Factory{})
	search := game.NewSearcher(store, models)
	rec := &recorder{}
	return bundle{
		svc:    game.NewService(store, rec, rec, emb, search),
		pipe:   game.NewPipeline(store, rec, rec, models, search, dm.NewOffline(dm.OfflineOptions{}), game.PipelineOptions{MemoryK: 8, RecentN: 4}),
		store:  store,
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

func TestEveryStageRunTwiceWritesOnce(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, turn := b.newTurn(t, "I search the old chest for the map.")
	for _, stage := range []func(context.Context, uuid.UUID) error{b.pipe.Embed, b.pipe.Retrieve, b.pipe.Generate, b.pipe.EmbedReply} {
		require.NoError(t, stage(ctx, turn.ID))
		require.NoError(t, stage(ctx, turn.ID), "a second run is a no-op")
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
	require.NoError(t, b.pipe.Embed(ctx, turn.ID))
	require.NoError(t, b.pipe.Retrieve(ctx, turn.ID))
	_, err := b.svc.CancelTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.NoError(t, b.pipe.Generate(ctx, turn.ID))
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusCancelled, got.Status)
	require.Nil(t, got.DMMessageID)
	require.Zero(t, b.rec.count(events.TypeDMDelta, turn.ID.String()))
	require.Equal(t, 1, b.rec.count(events.TypeTurnCancelled, turn.ID.String()))
}

func TestSweeperRequeuesStuckTurnsAndFailsOldOnes(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, stuck := b.newTurn(t, "I climb.")
	_, old := b.newTurn(t, "I dig.")
	require.NoError(t, b.pipe.Embed(ctx, stuck.ID))
	require.NoError(t, b.pipe.Retrieve(ctx, stuck.ID)) // generate is enqueued; say its worker died

	// Seen from a minute later, both turns are stuck but young: requeued.
	later := time.Now().Add(time.Minute)
	n, err := b.pipe.Sweep(ctx, later, 30*time.Second, time.Hour)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2)
	require.Contains(t, b.rec.requeued, game.StageRetrieve+":"+stuck.ID.String())
	require.Contains(t, b.rec.requeued, game.StageEmbed+":"+old.ID.String())

	// Seen from two hours later, they are past the deadline: failed.
	_, err = b.pipe.Sweep(ctx, later.Add(time.Hour), 30*time.Second, time.Hour)
	require.NoError(t, err)
	got, err := b.svc.GetTurn(ctx, playerID, stuck.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusFailed, got.Status)
	require.Equal(t, "timeout", got.Error.Code)
	require.Equal(t, 1, b.rec.count(events.TypeTurnFailed, stuck.ID.String()))
}

func TestSweeperLeavesTurnsWaitingInABacklogUntouched(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	b.rec.waiting = true // every stage's task is still pending in its queue
	playerID, turn := b.newTurn(t, "I wait in line.")
	before, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)

	n, err := b.pipe.Sweep(ctx, time.Now().Add(time.Minute), 30*time.Second, time.Hour)
	require.NoError(t, err)
	require.Zero(t, n, "a waiting turn is not stuck")
	after, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, before.UpdatedAt, after.UpdatedAt, "nothing written for it")
	require.Equal(t, game.StatusQueued, after.Status)

	// Past the deadline it still fails: waiting that long is a broken promise.
	_, err = b.pipe.Sweep(ctx, time.Now().Add(2*time.Hour), 30*time.Second, time.Hour)
	require.NoError(t, err)
	after, err = b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusFailed, after.Status)
}

// A stage publishes its turn.status while it works (Pipeline.announce);
// however slow that publish, the turn's events stay in order: every status
// before the reply's first delta, completed before dm.done.
func TestTurnEventsStayInOrderWhenStatusPublishesAreSlow(t *testing.T) {
	b := newBundle(t)
	b.rec.slowStatus = 30 * time.Millisecond
	ctx := context.Background()
	_, turn := b.newTurn(t, "I open the creaking door.")
	for _, stage := range []func(context.Context, uuid.UUID) error{b.pipe.Embed, b.pipe.Retrieve, b.pipe.Generate} {
		require.NoError(t, stage(ctx, turn.ID))
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
