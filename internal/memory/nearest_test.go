package memory

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// A session that is a small share of the vectors of its model: the game's
// per-session vector search must still return the session's nearest
// messages, whichever plan Postgres runs. The sessions are this test's own
// (hash-384 vectors, the model of migration 004); other tests' rows in the
// shared table only make the session's share smaller.

type nearSession struct {
	id    uuid.UUID
	ids   []uuid.UUID
	vecs  [][]float32
	model string
}

var (
	nearWho   = []string{"the innkeeper", "a hooded stranger", "the blacksmith", "the old sailor", "a priestess", "the mayor", "two guards", "a child"}
	nearDo    = []string{"hides", "sells", "loses", "mends", "steals", "buries", "burns", "paints"}
	nearWhat  = []string{"a silver key", "the red lantern", "an iron anchor", "a map of the coast", "the wedding ring", "a cracked shield", "a jar of honey", "the bell rope"}
	nearWhere = []string{"under the bridge", "behind the temple", "at the docks", "in the cellar", "by the well", "on the hill", "in the market", "near the mill"}
)

// loadNearSession writes a session of n generated messages with their
// hash-384 vectors.
func loadNearSession(t *testing.T, ctx context.Context, store *Store, games *game.Store, r *rand.Rand, n int) nearSession {
	t.Helper()
	emb := embed.NewHashEmbedder(384)
	id, err := games.ImportSession(ctx, uuid.New(), "nearest test")
	require.NoError(t, err)
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	in := make([]game.ImportMessage, n)
	texts := make([]string, n)
	for i := range in {
		texts[i] = fmt.Sprintf("%s %s %s %s.", pick(nearWho), pick(nearDo), pick(nearWhat), pick(nearWhere))
		in[i] = game.ImportMessage{Role: game.RoleDM, Content: texts[i]}
	}
	stored, err := games.ImportMessages(ctx, id, in)
	require.NoError(t, err)
	vecs, err := emb.Embed(ctx, texts)
	require.NoError(t, err)
	s := nearSession{id: id, vecs: vecs, model: emb.Model()}
	rows := make([]game.VectorRow, n)
	for i, m := range stored {
		s.ids = append(s.ids, m.ID)
		rows[i] = game.VectorRow{MessageID: m.ID, SessionID: id, Vector: vecs[i]}
	}
	for i := 0; i < n; i += 200 {
		require.NoError(t, store.SetEmbeddings(ctx, emb.Model(), rows[i:min(i+200, n)]))
	}
	return s
}

// recallOf is the share of the exact k nearest of the session that ids
// holds; a result within the k-th exact distance counts (generated
// sentences repeat, so the exact top k has ties).
func (s nearSession) recallOf(q []float32, k int, got []uuid.UUID) float64 {
	dist := map[uuid.UUID]float64{}
	ds := make([]float64, len(s.ids))
	for i, v := range s.vecs {
		var dot, na, nb float64
		for j := range v {
			dot += float64(v[j]) * float64(q[j])
			na += float64(v[j]) * float64(v[j])
			nb += float64(q[j]) * float64(q[j])
		}
		ds[i] = 1 - dot/math.Sqrt(na*nb)
		dist[s.ids[i]] = ds[i]
	}
	sort.Float64s(ds)
	kth := ds[min(k, len(ds))-1]
	n := 0
	for _, id := range got {
		if d, ok := dist[id]; ok && d <= kth+1e-5 {
			n++
		}
	}
	return float64(min(n, k)) / float64(min(k, len(ds)))
}

// runNearest runs the game's vector search of near in one transaction,
// after planner settings (forcing a plan), and returns the ids found and
// the EXPLAIN ANALYZE of the same statement.
func runNearest(t *testing.T, ctx context.Context, pool *pgxpool.Pool, planner string, session uuid.UUID, near nearest, k int) ([]uuid.UUID, string) {
	t.Helper()
	settings, query, args := nearestSQL(session, near, k, nil, uuid.Nil)
	var ids []uuid.UUID
	var plan []string
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if planner != "" {
			if _, err := tx.Exec(ctx, planner); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, settings, args[:3]...); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT x.id FROM (`+query+`) x`, args[3:]...)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		ids = found
		rows, err = tx.Query(ctx, `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) `+query, args[3:]...)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}))
	return ids, strings.Join(plan, "\n")
}

func TestPerSessionVectorSearchFindsTheNearestAtAnyShareOfTheIndex(t *testing.T) {
	testkit.SkipShort(t, "the test stack (Postgres)")
	testkit.Migrate(t)
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store, games := NewStore(pool), game.NewStore(pool)
	r := rand.New(rand.NewPCG(20, 12))
	// Four large sessions around a small one: the small one holds under
	// 2 % of the model's vectors.
	for range 4 {
		loadNearSession(t, ctx, store, games, r, 500)
	}
	small := loadNearSession(t, ctx, store, games, r, 40)
	emb := embed.NewHashEmbedder(384)
	const k = 8
	queries := make([][]float32, 12)
	for i := range queries {
		vs, err := emb.Embed(ctx, []string{fmt.Sprintf("Where did %s take %s?", nearWho[i%len(nearWho)], nearWhat[(i*3)%len(nearWhat)])})
		require.NoError(t, err)
		queries[i] = vs[0]
	}
	near := func(q []float32, exactMax, scanTuples int) nearest {
		return nearest{model: small.model, dim: 384, vector: embed.VectorText(q), efSearch: 100, exactMax: exactMax, scanTuples: scanTuples}
	}
	// Planner settings under which the graph branch can only be served by
	// the HNSW index (its ORDER BY needs no sort there; every other way
	// in needs one, or a sequential or bitmap scan).
	const graphOnly = `SELECT set_config('enable_sort', 'off', true), set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`

	t.Run("a session within the exact limit gets its exact nearest, without the graph", func(t *testing.T) {
		for _, q := range queries {
			ids, plan := runNearest(t, ctx, pool, "", small.id, near(q, 100, 20), k)
			require.Len(t, ids, k)
			require.Equal(t, 1.0, small.recallOf(q, k, ids), "exact search: the exact top %d\n%s", k, plan)
			require.NotRegexp(t, `Index Scan using message_embeddings_hnsw_hash_384 on message_embeddings \w+ \(actual`, plan, "the graph is not searched")
		}
	})

	t.Run("a session above the exact limit, searched through the graph, gets its nearest", func(t *testing.T) {
		// A tiny least budget: what finds the session's rows is the budget
		// raised by the session's share of the table.
		var sum float64
		for _, q := range queries {
			ids, plan := runNearest(t, ctx, pool, graphOnly, small.id, near(q, 10, 20), k)
			require.Regexp(t, `Index Scan using message_embeddings_hnsw_hash_384 on message_embeddings \w+ \(actual rows=`, plan, "the graph branch ran on the HNSW index")
			require.Len(t, ids, k, plan)
			sum += small.recallOf(q, k, ids)
		}
		require.GreaterOrEqual(t, sum/float64(len(queries)), 0.95, "recall@%d of the graph search", k)
	})

	t.Run("without the raised budget the graph misses the session's rows", func(t *testing.T) {
		// exactMax 0: the graph for every session, budget 20 index tuples
		// whatever the share. This is the failure the raised budget
		// exists for; if it passed, the case above would prove nothing.
		var sum float64
		for _, q := range queries {
			ids, _ := runNearest(t, ctx, pool, graphOnly, small.id, near(q, 0, 20), k)
			sum += small.recallOf(q, k, ids)
		}
		require.Less(t, sum/float64(len(queries)), 0.95)
	})
}
