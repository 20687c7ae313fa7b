package game_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// The stages send their statements as pgx batches and rely on Postgres
// running a batch as one implicit transaction (store_stages.go). These tests pin
// that down on the database the suite runs on.

func TestBatchIsOneTransaction(t *testing.T) {
	testkit.Migrate(t)
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 2)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	t.Run("a setting made local in a batch holds for the batch's later statements only", func(t *testing.T) {
		// As the search's hnsw.* settings; a custom setting, because
		// hnsw.* exist only once pgvector is loaded into the backend.
		const get = `SELECT coalesce(current_setting('brightdawn.probe', true), '')`
		b := &pgx.Batch{}
		b.Queue(`SELECT set_config('brightdawn.probe', '123', true)`)
		b.Queue(get)
		br := pool.SendBatch(ctx, b)
		_, err := br.Exec()
		require.NoError(t, err)
		var inside string
		require.NoError(t, br.QueryRow().Scan(&inside))
		require.NoError(t, br.Close())
		require.Equal(t, "123", inside)
		for range 4 { // whichever pooled connection answers
			var after string
			require.NoError(t, pool.QueryRow(ctx, get).Scan(&after))
			require.Empty(t, after, "SET LOCAL ended with the batch")
		}
	})

	t.Run("a failing statement undoes the batch's earlier writes", func(t *testing.T) {
		_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS public.batch_probe (id int PRIMARY KEY)`)
		require.NoError(t, err)
		t.Cleanup(func() { pool.Exec(ctx, `DROP TABLE public.batch_probe`) })
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO public.batch_probe (id) VALUES (1)`)
		b.Queue(`INSERT INTO public.batch_probe (id) VALUES (1)`) // duplicate key
		require.Error(t, pool.SendBatch(ctx, b).Close())
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM public.batch_probe`).Scan(&n))
		require.Zero(t, n)
	})
}

func TestStoreVectorsIsAllOrNothing(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, turn := b.newTurn(t, "I light the lantern.")
	// A message that does not exist: its vector cannot be stored (foreign
	// key), so neither may the stage's end be.
	ghost := game.Message{ID: uuid.New(), SessionID: turn.SessionID, Content: "nobody wrote this"}
	vec, err := embed.NewHashEmbedder(384).Embed(ctx, []string{ghost.Content})
	require.NoError(t, err)
	err = b.store.StoreVectors(ctx, ghost, map[string][]float32{embed.NewHashEmbedder(384).Model(): vec[0]}, 3, &turn.ID)
	require.Error(t, err)
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Nil(t, got.Timings.EmbedEndedAt, "the stage's end was not written")

	require.NoError(t, run(ctx, b.pipe.Embed, turn.ID))
	got, err = b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Timings.EmbedEndedAt)
}

func TestTurnsInFlightLimitHoldsUnderConcurrentPosts(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	svc := game.NewService(b.store, b.rec, b.rec, embed.NewHashEmbedder(384), nil, game.WithTurnLimits(game.TurnLimits{MaxInFlight: 2}))
	playerID := uuid.New()
	s, err := svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Flood"})
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = svc.PostMessage(ctx, playerID, s.ID, "I shout.", "")
		}()
	}
	wg.Wait()
	ok, limited := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case apperr.Is(err, apperr.RateLimited):
			limited++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	require.Equal(t, 2, ok, "exactly the limit got turns")
	require.Equal(t, 6, limited)
	page, err := svc.ListMessages(ctx, playerID, s.ID, nil, 20)
	require.NoError(t, err)
	require.Len(t, page.Messages, 2, "a refused post writes nothing")
}

func TestPostToAnotherPlayersSessionIsNotFoundAndWritesNothing(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	owner, turn := b.newTurn(t, "I open the door.")
	_, _, err := b.svc.PostMessage(ctx, uuid.New(), turn.SessionID, "I sneak in behind them.", "")
	require.True(t, apperr.Is(err, apperr.NotFound), "got %v", err)
	page, err := b.svc.ListMessages(ctx, owner, turn.SessionID, nil, 10)
	require.NoError(t, err)
	require.Len(t, page.Messages, 1, "only the owner's message")
}

// Stages commit asynchronously (store_stages.go): a crash of the database can
// lose the player message's vector while the turn moves on. The retrieve
// stage, which needs the vector, computes it and stores it again, so the
// message is not missing from later turns' memory.
func TestRetrieveStoresAVectorTheEmbedStageLost(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	_, turn := b.newTurn(t, "I hide the silver key under the third floorboard.")
	require.NoError(t, run(ctx, b.pipe.Embed, turn.ID))
	vectors := func() int {
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM game.message_embeddings WHERE message_id = $1`, turn.PlayerMessageID).Scan(&n))
		return n
	}
	require.Equal(t, 1, vectors())
	_, err := b.pool.Exec(ctx, `DELETE FROM game.message_embeddings WHERE message_id = $1`, turn.PlayerMessageID)
	require.NoError(t, err)

	require.NoError(t, run(ctx, b.pipe.Retrieve, turn.ID))
	require.Equal(t, 1, vectors(), "the retrieve stage stored the vector it computed")
	var withContext bool
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT context IS NOT NULL AND retrieve_ended_at IS NOT NULL FROM game.turns WHERE id = $1`, turn.ID).Scan(&withContext))
	require.True(t, withContext)
	hits, err := b.search.SearchMode(ctx, turn.SessionID, game.Query{Text: "Where is the silver key?"}, memory.VectorOnly, 8, nil)
	require.NoError(t, err)
	require.Len(t, hits, 1, "found by its vector")
	require.Equal(t, turn.PlayerMessageID, hits[0].Message.ID)
}
