package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// scale measures retrieval over the sessions cmd/gendata wrote, per
// session-size bucket (sessions grouped by their number of vectors):
// latency of the hybrid retrieve query (p50/p95), and recall@k against
// exact search (brute force in Go) with p50/p95 latency of the game's
// session-filtered vector search, of the query the game ran before
// (planner's choice), and of variants with the plan forced: the HNSW graph
// at several ef_search, iterative modes and scan budgets, and the exact
// scan through the (model, session_id) btree. The game's plan of each
// bucket is printed (EXPLAIN ANALYZE).
//
// minSize leaves out sessions smaller than it; only, when set, keeps the
// variants of those indexes (the game's query is 0).
func scale(ctx context.Context, pool *pgxpool.Pool, mem *memory.Store, search *memory.Searcher, emb embed.Embedder, perBucket, k, minSize int, only map[int]bool) error {
	model := emb.Model()
	rows, err := pool.Query(ctx, `SELECT e.session_id, count(*) FROM game.message_embeddings e
		JOIN game.sessions s ON s.id = e.session_id
		WHERE e.model = $1 AND s.title LIKE 'gendata %' GROUP BY e.session_id`, model)
	if err != nil {
		return err
	}
	bySize := map[int][]uuid.UUID{}
	var total int
	for rows.Next() {
		var id uuid.UUID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		total += n
		if n >= minSize {
			bySize[n] = append(bySize[n], id)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bySize) == 0 {
		return fmt.Errorf("no gendata sessions with %s vectors: run cmd/gendata first", model)
	}
	var sizes []int
	for n := range bySize {
		sizes = append(sizes, n)
	}
	sort.Ints(sizes)
	var reltuples float64
	_ = pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'game.message_embeddings'::regclass`).Scan(&reltuples)
	fmt.Printf("\n## %s: %d vectors of gendata sessions (table estimate %.0f rows, all models), %d queries per bucket, k=%d\n",
		model, total, reltuples, perBucket, k)
	fmt.Printf("game search: exact up to %d vectors, graph above with ef_search %d, scan budget ≥ %d\n", search.ExactMax, search.EfSearch, search.ScanTuples)
	for _, n := range sizes {
		fmt.Printf("  bucket %d vectors: %d sessions (%.2f %% of the model's vectors each)\n", n, len(bySize[n]), 100*float64(n)/float64(total))
	}

	r := rand.New(rand.NewPCG(7, 7))
	texts := campaign.Session(99, perBucket*len(sizes), 1, nil)
	type q struct {
		bucket  int
		session uuid.UUID
		text    string
		vec     []float32
		exact   *exactSet
	}
	var qs []q
	cache := map[uuid.UUID]*sessionVectors{}
	for b, n := range sizes {
		for i := 0; i < perBucket; i++ {
			x := q{bucket: b, session: bySize[n][r.IntN(len(bySize[n]))], text: texts[2*len(qs)].Content}
			vs, err := emb.Embed(ctx, []string{x.text})
			if err != nil {
				return err
			}
			x.vec = vs[0]
			sv := cache[x.session]
			if sv == nil {
				if sv, err = loadVectors(ctx, pool, model, x.session); err != nil {
					return err
				}
				cache[x.session] = sv
			}
			x.exact = sv.exact(x.vec, k)
			qs = append(qs, x)
		}
	}

	type variant struct {
		name string
		run  func(x q) (map[uuid.UUID]bool, error)
	}
	game := func(x q) (map[uuid.UUID]bool, error) {
		res, err := search.SearchMode(ctx, x.session, gameQuery(x.text, x.vec, model), memory.VectorOnly, k, nil)
		ids := map[uuid.UUID]bool{}
		for _, r := range res {
			ids[r.Message.ID] = true
		}
		return ids, err
	}
	forced := func(ef int, mode string, budget func(x q) int) func(x q) (map[uuid.UUID]bool, error) {
		return func(x q) (map[uuid.UUID]bool, error) {
			return forcedHNSW(ctx, pool, model, x.session, x.vec, k, ef, mode, budget(x))
		}
	}
	fixed := func(n int) func(q) int { return func(q) int { return n } }
	byShare := func(x q) int { return max(20000, int(4*float64(k)*reltuples/float64(sizes[x.bucket]))) }
	variants := []variant{
		{fmt.Sprintf("**the game's query** (exact ≤ %d vectors, else graph, budget by share)", search.ExactMax), game},
		{"the previous game query (planner's choice, ef_search 100, relaxed_order, budget 20,000)", func(x q) (map[uuid.UUID]bool, error) {
			return previousQuery(ctx, pool, model, x.session, x.vec, k)
		}},
		{"exact forced (btree + sort)", func(x q) (map[uuid.UUID]bool, error) { return forcedExact(ctx, pool, model, x.session, x.vec, k) }},
		{"graph forced, ef_search 40, relaxed_order, budget 20,000", forced(40, "relaxed_order", fixed(20000))},
		{"graph forced, ef_search 100, relaxed_order, budget 20,000", forced(100, "relaxed_order", fixed(20000))},
		{"graph forced, ef_search 200, relaxed_order, budget 20,000", forced(200, "relaxed_order", fixed(20000))},
		{"graph forced, ef_search 100, strict_order, budget 20,000", forced(100, "strict_order", fixed(20000))},
		{"graph forced, ef_search 100, relaxed_order, budget 4·k/share", forced(100, "relaxed_order", byShare)},
		{"graph forced, ef_search 400, relaxed_order, budget 4·k/share", forced(400, "relaxed_order", byShare)},
		{"graph forced, ef_search 1000, relaxed_order, budget 4·k/share", forced(1000, "relaxed_order", byShare)},
	}
	if only != nil {
		var kept []variant
		for i, v := range variants {
			if only[i] {
				kept = append(kept, v)
			}
		}
		variants = kept
	}
	header := "| search |"
	sep := "|---|"
	for _, n := range sizes {
		header += fmt.Sprintf(" %d-vector sessions |", n)
		sep += "---|"
	}
	fmt.Printf("\nrecall@%d vs exact · p50 / p95 ms, per session size:\n\n%s\n%s\n", k, header, sep)
	// Every query runs every variant in turn, so the buffer cache favours
	// none of them.
	rec := make([][][]float64, len(variants))
	lat := make([][][]float64, len(variants))
	for i := range variants {
		rec[i], lat[i] = make([][]float64, len(sizes)), make([][]float64, len(sizes))
	}
	for _, x := range qs {
		for i, v := range variants {
			t := time.Now()
			ids, err := v.run(x)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			lat[i][x.bucket] = append(lat[i][x.bucket], ms(time.Since(t)))
			rec[i][x.bucket] = append(rec[i][x.bucket], x.exact.recall(ids))
		}
	}
	for i, v := range variants {
		line := "| " + v.name + " |"
		for b := range sizes {
			line += fmt.Sprintf(" %.3f · %.1f / %.1f |", mean(rec[i][b]), pct(lat[i][b], 50), pct(lat[i][b], 95))
		}
		fmt.Println(line)
	}

	fmt.Printf("\nhybrid retrieve (vector KNN + BM25 keyword + fusion), p50 / p95 ms:\n\n%s\n%s\n|", strings.Replace(header, "search", "query", 1), sep)
	fmt.Print(" hybrid retrieve |")
	for b := range sizes {
		var lat []float64
		for _, x := range qs {
			if x.bucket != b {
				continue
			}
			t := time.Now()
			if _, err := search.SearchMode(ctx, x.session, gameQuery(x.text, x.vec, model), memory.Hybrid, k, nil); err != nil {
				return err
			}
			lat = append(lat, ms(time.Since(t)))
		}
		fmt.Printf(" %.1f / %.1f |", pct(lat, 50), pct(lat, 95))
	}
	fmt.Println()

	for b, n := range sizes {
		x := qs[b*perBucket]
		plan, err := mem.ExplainNearest(ctx, x.session, model, embed.VectorText(x.vec), search.EfSearch, search.ExactMax, search.ScanTuples, k)
		if err != nil {
			return err
		}
		fmt.Printf("\nthe game's plan, a %d-vector session:\n", n)
		for _, line := range plan {
			if strings.Contains(line, "never executed") || strings.HasPrefix(strings.TrimSpace(line), "Filter:") {
				continue
			}
			if len(line) > 150 {
				line = line[:150] + "…"
			}
			fmt.Println("    " + line)
		}
		prev, err := explainPrevious(ctx, pool, model, x.session, x.vec, k)
		if err != nil {
			return err
		}
		fmt.Printf("the previous query's plan: %s\n", prev)
	}
	return nil
}

func gameQuery(text string, vec []float32, model string) game.Query {
	return game.Query{Text: text, Vector: embed.VectorText(vec), Model: model}
}

// sessionVectors are a session's stored vectors of one model.
type sessionVectors struct {
	ids  []uuid.UUID
	vecs [][]float32
}

func loadVectors(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID) (*sessionVectors, error) {
	rows, err := pool.Query(ctx, `SELECT message_id, embedding::text FROM game.message_embeddings WHERE model = $1 AND session_id = $2`, model, session)
	if err != nil {
		return nil, err
	}
	sv := &sessionVectors{}
	for rows.Next() {
		var id uuid.UUID
		var txt string
		if err := rows.Scan(&id, &txt); err != nil {
			return nil, err
		}
		sv.ids = append(sv.ids, id)
		sv.vecs = append(sv.vecs, parseVector(txt))
	}
	return sv, rows.Err()
}

// exactSet is a query's exact answer: every vector's distance and the
// k-th smallest.
type exactSet struct {
	dist map[uuid.UUID]float64
	kth  float64
	k    int
}

// exact is brute force in Go over the session's vectors.
func (sv *sessionVectors) exact(q []float32, k int) *exactSet {
	e := &exactSet{dist: make(map[uuid.UUID]float64, len(sv.ids)), k: min(k, len(sv.ids))}
	ds := make([]float64, len(sv.ids))
	for i, v := range sv.vecs {
		ds[i] = cosineDistance(q, v)
		e.dist[sv.ids[i]] = ds[i]
	}
	sort.Float64s(ds)
	if e.k > 0 {
		e.kth = ds[e.k-1]
	}
	return e
}

// recall is the share of the exact top k found: a result counts when its
// distance is within the k-th exact one (generated play repeats
// sentences, so the exact top k has ties, any of which is as right).
func (e *exactSet) recall(got map[uuid.UUID]bool) float64 {
	if e.k == 0 {
		return 1
	}
	n := 0
	for id := range got {
		if d, ok := e.dist[id]; ok && d <= e.kth+1e-5 {
			n++
		}
	}
	return float64(min(n, e.k)) / float64(e.k)
}

// previousQuery is the game's vector search before the plan was chosen by
// the session's size: the planner's choice, ef_search 100, iterative
// relaxed_order scans with pgvector's default budget.
func previousQuery(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID, q []float32, k int) (map[uuid.UUID]bool, error) {
	return collectIDs(ctx, pool, `SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', '100', true)`,
		`SELECT e.message_id FROM game.message_embeddings e WHERE e.model = '`+model+`' AND e.session_id = $1
		  AND NOT EXISTS (SELECT 1 FROM game.messages pm WHERE pm.id = e.message_id
			AND pm.visibility = 'private' AND pm.private_to IS DISTINCT FROM $4::uuid)
		ORDER BY e.embedding::`+vecType(len(q))+` <=> $2::`+vecType(len(q))+` LIMIT $3`, session, embed.VectorText(q), k, uuid.Nil)
}

func explainPrevious(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID, q []float32, k int) (string, error) {
	var plan []string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', '100', true)`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN (COSTS OFF) SELECT e.message_id FROM game.message_embeddings e WHERE e.model = '`+model+`' AND e.session_id = $1
			ORDER BY e.embedding::`+vecType(len(q))+` <=> $2::`+vecType(len(q))+` LIMIT $3`, session, embed.VectorText(q), k)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	var nodes []string
	for _, line := range plan {
		if t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->")); !strings.Contains(t, ":") {
			nodes = append(nodes, strings.TrimSpace(t))
		}
	}
	return strings.Join(nodes, " → "), err
}

// forcedExact is exact search through the (model, session_id) btree: the
// distance on the plain column, which the HNSW index cannot serve.
func forcedExact(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID, q []float32, k int) (map[uuid.UUID]bool, error) {
	return collectIDs(ctx, pool, `SELECT set_config('enable_seqscan', 'off', true)`,
		`SELECT e.message_id FROM game.message_embeddings e WHERE e.model = '`+model+`' AND e.session_id = $1
		ORDER BY e.embedding <=> $2::vector LIMIT $3`, session, embed.VectorText(q), k)
}

// forcedHNSW runs the filtered KNN with the HNSW index as the only way in:
// the session filter is written so no btree index can serve it, and
// sequential scans are off, so the plan is the HNSW index scan filtered
// row by row, extended by iterative scans up to budget index tuples.
func forcedHNSW(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID, q []float32, k, ef int, mode string, budget int) (map[uuid.UUID]bool, error) {
	return collectIDs(ctx, pool, `SELECT set_config('hnsw.iterative_scan', '`+mode+`', true), set_config('hnsw.ef_search', '`+strconv.Itoa(ef)+`', true),
			set_config('hnsw.max_scan_tuples', '`+strconv.Itoa(budget)+`', true), set_config('hnsw.scan_mem_multiplier', '4', true),
			set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`,
		`SELECT e.message_id FROM game.message_embeddings e
			WHERE e.model = '`+model+`' AND e.session_id::text = $1::text
			ORDER BY e.embedding::`+vecType(len(q))+` <=> $2::`+vecType(len(q))+` LIMIT $3`, session, embed.VectorText(q), k)
}

// collectIDs runs settings then query in one transaction.
func collectIDs(ctx context.Context, pool *pgxpool.Pool, settings, query string, args ...any) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, settings); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		for _, id := range ids {
			out[id] = true
		}
		return err
	})
	return out, err
}

func parseVector(s string) []float32 {
	parts := strings.Split(strings.Trim(s, "[]"), ",")
	v := make([]float32, len(parts))
	for i, p := range parts {
		f, _ := strconv.ParseFloat(p, 32)
		v[i] = float32(f)
	}
	return v
}

func cosineDistance(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return 1 - dot/math.Sqrt(na*nb)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func pct(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[int(float64(len(s)-1)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// vecType is the pgvector type of dim-dimensional vectors, as the partial index has it.
func vecType(dim int) string { return "vector(" + strconv.Itoa(dim) + ")" }
