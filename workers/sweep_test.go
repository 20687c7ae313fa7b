package workers_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/workers"
)

// queueRecorder stands in for the asynq queue (Runner, Requeuer) and the
// event transport: the sweeper's decisions are what is under test.
type queueRecorder struct {
	mu       sync.Mutex
	requeued []string
	failed   []uuid.UUID // turns a turn.failed event was published for
	waiting  bool        // Requeue finds every task still waiting in its queue
}

func (r *queueRecorder) Start(context.Context, uuid.UUID) error { return nil }
func (r *queueRecorder) Stop(context.Context, uuid.UUID) error  { return nil }

func (r *queueRecorder) Requeue(_ context.Context, stage string, id uuid.UUID, _ string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting {
		return false, nil
	}
	r.requeued = append(r.requeued, stage+":"+id.String())
	return true, nil
}

func (r *queueRecorder) PublishTurn(_ context.Context, _, turnID uuid.UUID, typ string, _ any) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if typ == events.TypeTurnFailed {
		r.failed = append(r.failed, turnID)
	}
	return "1-1", nil
}

// sweepCounter is a workers.MaintenanceObserver that counts sweeps by action.
type sweepCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *sweepCounter) TurnsSwept(action string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[action] += n
}
func (c *sweepCounter) ReembedStarted() func() { return func() {} }
func (c *sweepCounter) ReembedProgressed()     {}

func (c *sweepCounter) get(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[action]
}

type sweepBundle struct {
	svc  *game.Service
	pipe *game.Pipeline
	rec  *queueRecorder
	obs  *sweepCounter
}

// domain is the game's store, embedding models and search on the test database.
type domain struct {
	store  *game.Store
	emb    embed.Embedder
	models *memory.Models
	search *memory.Searcher
}

func newDomain(t *testing.T) domain {
	t.Helper()
	testkit.Migrate(t)
	pool, err := postgres.Open(context.Background(), os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	d := domain{store: game.NewStore(pool), emb: embed.NewHashEmbedder(384)}
	mem := memory.NewStore(pool)
	d.models = memory.NewModels(mem, d.emb, memory.ModelSpec{Provider: "hash", Name: d.emb.Model()}, embed.Factory{})
	d.search = memory.NewSearcher(mem, d.models)
	return d
}

func newSweepBundle(t *testing.T) sweepBundle {
	d, rec := newDomain(t), &queueRecorder{}
	return sweepBundle{
		svc:  game.NewService(d.store, rec, rec, d.emb, d.search),
		pipe: game.NewPipeline(d.store, rec, d.models, d.search, dm.NewOffline(dm.OfflineOptions{}), game.PipelineOptions{MemoryK: 8, RecentN: 4}),
		rec:  rec,
		obs:  &sweepCounter{counts: map[string]int{}},
	}
}

func (b sweepBundle) sweeper() workers.Sweeper {
	return workers.Sweeper{Turns: b.pipe, Queue: b.rec, StuckAfter: 30 * time.Second, Deadline: time.Hour, Observer: b.obs}
}

func (b sweepBundle) newTurn(t *testing.T, content string) (uuid.UUID, game.Turn) {
	t.Helper()
	ctx := context.Background()
	playerID := uuid.New()
	s, err := b.svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Sweeper test"})
	require.NoError(t, err)
	_, turn, err := b.svc.PostMessage(ctx, playerID, s.ID, content, "")
	require.NoError(t, err)
	return playerID, turn
}

func TestSweeperRequeuesStuckTurnsAndFailsOldOnes(t *testing.T) {
	b := newSweepBundle(t)
	ctx := context.Background()
	playerID, stuck := b.newTurn(t, "I climb.")
	_, old := b.newTurn(t, "I dig.")
	_, err := b.pipe.Embed(ctx, stuck.ID)
	require.NoError(t, err)
	_, err = b.pipe.Retrieve(ctx, stuck.ID) // generate is handed on; say its worker died
	require.NoError(t, err)

	// Seen from a minute later, both turns are stuck but young: requeued.
	later := time.Now().Add(time.Minute)
	n, err := b.sweeper().Sweep(ctx, later)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2)
	require.Contains(t, b.rec.requeued, game.StageGenerate+":"+stuck.ID.String(), "its generation, not its retrieval again")
	require.Contains(t, b.rec.requeued, game.StageEmbed+":"+old.ID.String())
	require.Equal(t, n, b.obs.get("requeued")+b.obs.get("failed"), "every turn acted on is counted")
	require.GreaterOrEqual(t, b.obs.get("requeued"), 2)
	failedBefore := b.obs.get("failed")

	// Seen from two hours later, they are past the deadline: failed.
	n, err = b.sweeper().Sweep(ctx, later.Add(time.Hour))
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2)
	require.Equal(t, n, b.obs.get("failed")-failedBefore, "every turn ended by the sweeper is counted")
	got, err := b.svc.GetTurn(ctx, playerID, stuck.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusFailed, got.Status)
	require.Equal(t, game.FailureCode("timeout"), got.Error.Code)
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	n = 0
	for _, id := range b.rec.failed {
		if id == stuck.ID {
			n++
		}
	}
	require.Equal(t, 1, n, "one turn.failed for the stuck turn")
}

func TestSweeperLeavesTurnsWaitingInABacklogUntouched(t *testing.T) {
	b := newSweepBundle(t)
	ctx := context.Background()
	b.rec.waiting = true // every stage's task is still pending in its queue
	playerID, turn := b.newTurn(t, "I wait in line.")
	before, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)

	n, err := b.sweeper().Sweep(ctx, time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.Zero(t, n, "a waiting turn is not stuck")
	after, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, before.UpdatedAt, after.UpdatedAt, "nothing written for it")
	require.Equal(t, game.StatusQueued, after.Status)

	// Past the deadline it still fails: waiting that long is a broken promise.
	_, err = b.sweeper().Sweep(ctx, time.Now().Add(2*time.Hour))
	require.NoError(t, err)
	after, err = b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusFailed, after.Status)
}

// A turn whose stage ended hands it on before its status moves: embedded
// but still "embedding" (its retrieval queued behind a backlog, or waiting
// for an earlier turn of its session), it is requeued at its retrieval,
// whose task the queue finds still waiting. Requeueing the embedding
// instead would embed the message again and, the first retrieval task
// having handed on or ended, enqueue the retrieval a second time.
func TestSweeperRequeuesAnEmbeddedTurnAtItsRetrieval(t *testing.T) {
	b := newSweepBundle(t)
	ctx := context.Background()
	_, turn := b.newTurn(t, "I wait for my friend's turn.")
	_, err := b.pipe.Embed(ctx, turn.ID)
	require.NoError(t, err)

	_, err = b.sweeper().Sweep(ctx, time.Now().Add(time.Minute))
	require.NoError(t, err)
	b.rec.mu.Lock()
	defer b.rec.mu.Unlock()
	require.Contains(t, b.rec.requeued, game.StageRetrieve+":"+turn.ID.String())
	require.NotContains(t, b.rec.requeued, game.StageEmbed+":"+turn.ID.String())
}
