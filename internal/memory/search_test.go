package memory_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// These tests search sessions of their own on the test database, with the
// query's vector given, so they neither read nor change the model registry
// that other packages' tests share.

func newSearcher(t *testing.T) (*memory.Searcher, *game.Store, *memory.Store) {
	t.Helper()
	testkit.SkipShort(t, "the test stack (Postgres)")
	testkit.Migrate(t)
	pool, err := postgres.Open(context.Background(), os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	emb := embed.NewHashEmbedder(384)
	mem := memory.NewStore(pool)
	models := memory.NewModels(mem, emb, memory.ModelSpec{Provider: "hash", Name: emb.Model()}, embed.Factory{})
	return memory.NewSearcher(mem, models), game.NewStore(pool), mem
}

var tavern = []campaign.Message{
	{Role: game.RolePlayer, Content: "I hide the silver key under the third floorboard."},
	{Role: game.RoleDM, Content: "The innkeeper polishes a mug and pretends not to notice."},
	{Role: game.RolePlayer, Content: "I order a bowl of stew and sit by the fire."},
	{Role: game.RoleDM, Content: "A hooded stranger warns you about the bridge over the river."},
}

func TestSearchFindsASessionsMessagesByEachMethod(t *testing.T) {
	t.Parallel()
	search, store, mem := newSearcher(t)
	ctx := context.Background()
	emb := embed.NewHashEmbedder(384)
	session, stored, err := campaign.Load(ctx, store, mem, emb, uuid.New(), "memory search test", tavern, 2)
	require.NoError(t, err)
	// Another session with the same words must never be found.
	_, _, err = campaign.Load(ctx, store, mem, emb, uuid.New(), "another session", tavern, 4)
	require.NoError(t, err)
	key := stored[0].ID
	q := func(text string) game.Query {
		vs, err := emb.Embed(ctx, []string{text})
		require.NoError(t, err)
		return game.Query{Text: text, Vector: embed.VectorText(vs[0]), Model: emb.Model()}
	}
	inSession := func(t *testing.T, rs []game.MemoryResult) {
		t.Helper()
		for _, r := range rs {
			require.Equal(t, session, r.Message.SessionID, "only the searched session's messages")
		}
	}

	t.Run("vector search ranks the nearest message first", func(t *testing.T) {
		rs, err := search.SearchMode(ctx, session, q("Where did I hide the silver key?"), memory.VectorOnly, 2, nil)
		require.NoError(t, err)
		require.Len(t, rs, 2)
		inSession(t, rs)
		require.Equal(t, key, rs[0].Message.ID)
		require.Equal(t, game.SourceVector, rs[0].Source)
		require.Greater(t, rs[0].VectorScore, rs[1].VectorScore)
	})
	t.Run("keyword search finds the message naming the words", func(t *testing.T) {
		rs, err := search.SearchMode(ctx, session, game.Query{Text: "the bridge over the river"}, memory.KeywordOnly, 4, nil)
		require.NoError(t, err)
		require.NotEmpty(t, rs)
		inSession(t, rs)
		require.Equal(t, stored[3].ID, rs[0].Message.ID)
		require.Equal(t, game.SourceKeyword, rs[0].Source)
		require.Greater(t, rs[0].KeywordScore, 0.0)
	})
	t.Run("hybrid search marks a message both methods found", func(t *testing.T) {
		rs, err := search.Recall(ctx, session, q("the silver key under the floorboard"), 4, nil)
		require.NoError(t, err)
		require.NotEmpty(t, rs)
		inSession(t, rs)
		require.Equal(t, key, rs[0].Message.ID)
		require.Equal(t, game.SourceHybrid, rs[0].Source)
	})
	t.Run("excluded messages are left out", func(t *testing.T) {
		rs, err := search.Recall(ctx, session, q("the silver key under the floorboard"), 4, []uuid.UUID{key})
		require.NoError(t, err)
		inSession(t, rs)
		for _, r := range rs {
			require.NotEqual(t, key, r.Message.ID)
		}
	})
	t.Run("a query without keywords in keyword mode finds nothing", func(t *testing.T) {
		rs, err := search.SearchMode(ctx, session, game.Query{Text: "the of and"}, memory.KeywordOnly, 4, nil)
		require.NoError(t, err)
		require.Empty(t, rs)
		require.NotNil(t, rs)
	})
}

func TestSetEmbeddingsIsIdempotent(t *testing.T) {
	t.Parallel()
	search, store, mem := newSearcher(t)
	ctx := context.Background()
	emb := embed.NewHashEmbedder(384)
	session, stored, err := campaign.Load(ctx, store, mem, emb, uuid.New(), "upsert test", tavern[:2], 10)
	require.NoError(t, err)
	const other = "a dragon circles the distant mountain"
	vs, err := emb.Embed(ctx, []string{other})
	require.NoError(t, err)
	// Writing again replaces the vector rather than failing or adding one.
	require.NoError(t, mem.SetEmbeddings(ctx, emb.Model(), []game.VectorRow{{MessageID: stored[0].ID, SessionID: session, Vector: vs[0]}}))
	require.NoError(t, mem.SetEmbeddings(ctx, emb.Model(), nil), "nothing to write is no error")
	rs, err := search.SearchMode(ctx, session, game.Query{Text: other, Vector: embed.VectorText(vs[0]), Model: emb.Model()}, memory.VectorOnly, 4, nil)
	require.NoError(t, err)
	require.Len(t, rs, 2, "one vector per message and model")
	require.Equal(t, stored[0].ID, rs[0].Message.ID)
	require.InDelta(t, 1.0, rs[0].VectorScore, 1e-3, "the new vector replaced the old one")
}
