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

// scale measures retrieval over the sessions cmd/gendata wrote: latency of
// the hybrid retrieve query (p50/p95) and recall@k of the HNSW-filtered
// vector search against exact search, both as the planner runs it and with
// the HNSW index forced.
func scale(ctx context.Context, pool *pgxpool.Pool, search *memory.Searcher, emb embed.Embedder, queries, k int, efs []int) error {
	var sessions []uuid.UUID
	rows, err := pool.Query(ctx, `SELECT id FROM game.sessions WHERE title LIKE 'gendata %'`)
	if err != nil {
		return err
	}
	sessions, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	var total int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM game.message_embeddings WHERE model = $1`, emb.Model()).Scan(&total); err != nil {
		return err
	}
	if len(sessions) == 0 {
		return fmt.Errorf("no gendata sessions: run cmd/gendata first")
	}
	fmt.Printf("scale: %d sessions, %d vectors in the table, %d queries, k=%d\n", len(sessions), total, queries, k)
	r := rand.New(rand.NewPCG(7, 7))
	texts := campaign.Session(99, queries, 1, nil)
	type q struct {
		session uuid.UUID
		text    string
		vec     []float32
	}
	qs := make([]q, queries)
	for i := range qs {
		qs[i] = q{session: sessions[r.IntN(len(sessions))], text: texts[2*i].Content}
		vs, err := emb.Embed(ctx, []string{qs[i].text})
		if err != nil {
			return err
		}
		qs[i].vec = vs[0]
	}
	var hybrid, vector []float64
	for _, x := range qs {
		t := time.Now()
		if _, err := search.SearchMode(ctx, x.session, game.Query{Text: x.text, Vector: embed.VectorText(x.vec), Model: emb.Model()}, memory.Hybrid, k, nil); err != nil {
			return err
		}
		hybrid = append(hybrid, ms(time.Since(t)))
		t = time.Now()
		if _, err := search.SearchMode(ctx, x.session, game.Query{Text: x.text, Vector: embed.VectorText(x.vec), Model: emb.Model()}, memory.VectorOnly, k, nil); err != nil {
			return err
		}
		vector = append(vector, ms(time.Since(t)))
	}
	fmt.Printf("| query | p50 ms | p95 ms |\n|---|---|---|\n")
	fmt.Printf("| hybrid retrieve (vector KNN + BM25 keyword + fusion) | %.1f | %.1f |\n", pct(hybrid, 50), pct(hybrid, 95))
	fmt.Printf("| vector KNN alone | %.1f | %.1f |\n", pct(vector, 50), pct(vector, 95))

	var plan strings.Builder
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `EXPLAIN SELECT e.message_id FROM game.message_embeddings e
			WHERE e.model = '`+emb.Model()+`' AND e.session_id = $1 ORDER BY e.embedding::`+vecType(emb)+` <=> $2::`+vecType(emb)+` LIMIT 8`,
			qs[0].session, embed.VectorText(qs[0].vec))
		if err != nil {
			return err
		}
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			if len(line) > 160 {
				line = line[:160] + "…"
			}
			plan.WriteString("    " + line + "\n")
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	fmt.Printf("\nthe planner's plan for the filtered KNN:\n%s\n", plan.String())

	exact := make([]map[uuid.UUID]bool, len(qs))
	for i, x := range qs {
		if exact[i], err = exactTop(ctx, pool, emb.Model(), x.session, x.vec, k); err != nil {
			return err
		}
	}
	fmt.Printf("| search | recall@%d vs exact | p50 ms | p95 ms |\n|---|---|---|---|\n", k)
	var got, lat []float64
	for i, x := range qs {
		t := time.Now()
		res, err := search.SearchMode(ctx, x.session, game.Query{Text: x.text, Vector: embed.VectorText(x.vec), Model: emb.Model()}, memory.VectorOnly, k, nil)
		if err != nil {
			return err
		}
		lat = append(lat, ms(time.Since(t)))
		ids := map[uuid.UUID]bool{}
		for _, r := range res {
			ids[r.Message.ID] = true
		}
		got = append(got, overlap(exact[i], ids))
	}
	fmt.Printf("| as planned (ef_search %d, iterative relaxed_order) | %.3f | %.1f | %.1f |\n", search.EfSearch, mean(got), pct(lat, 50), pct(lat, 95))
	for _, run := range []struct {
		ef   int
		mode string
	}{{efs[0], "relaxed_order"}, {efs[1], "relaxed_order"}, {efs[2], "relaxed_order"}, {efs[0], "strict_order"}, {efs[1], "strict_order"}} {
		ef := run.ef
		got, lat = got[:0], lat[:0]
		for i, x := range qs {
			t := time.Now()
			ids, err := forcedHNSW(ctx, pool, emb.Model(), x.session, x.vec, k, ef, run.mode)
			if err != nil {
				return err
			}
			lat = append(lat, ms(time.Since(t)))
			got = append(got, overlap(exact[i], ids))
		}
		fmt.Printf("| HNSW forced, ef_search %d, iterative %s | %.3f | %.1f | %.1f |\n", ef, run.mode, mean(got), pct(lat, 50), pct(lat, 95))
	}
	return nil
}

// exactTop is brute force in Go over the session's stored vectors.
func exactTop(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID, q []float32, k int) (map[uuid.UUID]bool, error) {
	rows, err := pool.Query(ctx, `SELECT message_id, embedding::text FROM game.message_embeddings WHERE model = $1 AND session_id = $2`, model, session)
	if err != nil {
		return nil, err
	}
	type scored struct {
		id uuid.UUID
		d  float64
	}
	var all []scored
	for rows.Next() {
		var id uuid.UUID
		var txt string
		if err := rows.Scan(&id, &txt); err != nil {
			return nil, err
		}
		all = append(all, scored{id, cosineDistance(q, parseVector(txt))})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d })
	out := map[uuid.UUID]bool{}
	for _, s := range all[:min(k, len(all))] {
		out[s.id] = true
	}
	return out, nil
}

// forcedHNSW runs the filtered KNN with the HNSW index as the only way in:
// the session filter is written so no btree index can serve it, and
// sequential scans are off, so the plan is the HNSW index scan filtered
// row by row, extended by iterative scans.
func forcedHNSW(ctx context.Context, pool *pgxpool.Pool, model string, session uuid.UUID, q []float32, k, ef int, mode string) (map[uuid.UUID]bool, error) {
	out := map[uuid.UUID]bool{}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('hnsw.iterative_scan', $2, true), set_config('hnsw.ef_search', $1, true),
			set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)`, strconv.Itoa(ef), mode); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT e.message_id FROM game.message_embeddings e
			WHERE e.model = '`+model+`' AND e.session_id::text = $1
			ORDER BY e.embedding::vector(`+strconv.Itoa(len(q))+`) <=> $2::vector(`+strconv.Itoa(len(q))+`) LIMIT $3`, session.String(), embed.VectorText(q), k)
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

func overlap(want, got map[uuid.UUID]bool) float64 {
	if len(want) == 0 {
		return 1
	}
	n := 0
	for id := range want {
		if got[id] {
			n++
		}
	}
	return float64(n) / float64(len(want))
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

// vecType is the pgvector type of emb's vectors, as the partial index has it.
func vecType(emb embed.Embedder) string { return "vector(" + strconv.Itoa(emb.Dim()) + ")" }
