package game

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// Retrieval sources, as recorded on a turn's context.
const (
	SourceVector  = "vector"
	SourceKeyword = "keyword"
	SourceHybrid  = "hybrid" // found by both
	SourceRecent  = "recent"
)

// Mode selects the retrieval method; Hybrid is what the game uses, the
// others exist for the memory benchmark's comparison.
type Mode int

// Retrieval modes.
const (
	Hybrid Mode = iota
	VectorOnly
	KeywordOnly
)

// Searcher finds a session's remembered messages relevant to a text: the
// pgvector cosine KNN of the served embedding model (HNSW, filtered to the
// session, with iterative scans) fused by reciprocal rank with Postgres
// full-text search.
type Searcher struct {
	store  *Store
	models *Models
	// EfSearch is the HNSW candidate list size; iterative scans extend it
	// when the session filter discards candidates.
	EfSearch int
	// RRFK is reciprocal rank fusion's constant: a result's fused score is
	// the sum over methods of 1/(RRFK + rank). 60 is the value of the
	// original paper (Cormack et al., 2009), used unchanged.
	RRFK float64
	// Candidates is how many results each method contributes to fusion,
	// at least; more than k lets a message found by both climb.
	Candidates int
	// VectorWeight and KeywordWeight scale each method's reciprocal rank
	// contributions (weighted RRF). Equal weights trust both alike.
	VectorWeight, KeywordWeight float64
}

// NewSearcher returns a searcher.
func NewSearcher(store *Store, models *Models) *Searcher {
	return &Searcher{store: store, models: models, EfSearch: 100, RRFK: 60, Candidates: 32, VectorWeight: 1, KeywordWeight: 1}
}

// Query is what a search looks for.
type Query struct {
	Text string
	// Vector is the text's embedding by Model in pgvector text form; when
	// empty, Search embeds Text with the served model.
	Vector string
	Model  string
}

// Search returns the k messages of the session most relevant to q (hybrid),
// not counting the excluded ones.
func (s *Searcher) Search(ctx context.Context, sessionID uuid.UUID, q string, k int, exclude []uuid.UUID) ([]MemoryResult, error) {
	return s.SearchMode(ctx, sessionID, Query{Text: q}, Hybrid, k, exclude)
}

// SearchMode runs one retrieval method.
func (s *Searcher) SearchMode(ctx context.Context, sessionID uuid.UUID, q Query, mode Mode, k int, exclude []uuid.UUID) ([]MemoryResult, error) {
	n := max(s.Candidates, 2*k)
	if mode == VectorOnly {
		n = k
	}
	var vec, kw []MemoryResult
	var dim int
	if mode != KeywordOnly {
		if q.Vector == "" || q.Model == "" {
			e, err := s.models.Serving(ctx)
			if err != nil {
				return nil, err
			}
			vs, err := e.Embed(ctx, []string{q.Text})
			if err != nil {
				return nil, err
			}
			q.Vector, q.Model = VectorText(vs[0]), e.Model()
		}
		dim = strings.Count(q.Vector, ",") + 1
	}
	// One round trip: the index settings, the nearest neighbours and the
	// keyword query go as one batch, which Postgres runs as one implicit
	// transaction, so the SET LOCAL settings hold for the KNN query.
	b := &pgx.Batch{}
	if mode != KeywordOnly {
		s.queueNearest(b, sessionID, q.Model, dim, q.Vector, n, exclude)
	}
	kws := memory.Keywords(q.Text)
	if mode != VectorOnly && len(kws) > 0 {
		queueKeyword(b, sessionID, kws, n, exclude)
	}
	if b.Len() == 0 {
		return []MemoryResult{}, nil
	}
	br := s.store.pool.SendBatch(ctx, b)
	err := func() error {
		var err error
		if mode != KeywordOnly {
			if vec, err = readNearest(br); err != nil {
				return err
			}
		}
		if mode != VectorOnly && len(kws) > 0 {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				kw, err = collectResults(rows, SourceKeyword)
			}
		}
		return err
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, postgres.Translate(err, "memory")
	}
	switch mode {
	case VectorOnly:
		return limit(vec, k), nil
	case KeywordOnly:
		return limit(kw, k), nil
	}
	return limit(Fuse(s.RRFK, s.VectorWeight, vec, s.KeywordWeight, kw), k), nil
}

func limit(rs []MemoryResult, k int) []MemoryResult {
	if rs == nil {
		return []MemoryResult{}
	}
	return rs[:min(k, len(rs))]
}

// queueNearest queues the settings and the query of the n messages of the
// session nearest to vec, best first. The model and dimension are
// literals, not parameters, so the planner can match the model's partial
// HNSW index (a parameter would hide which partial index applies from a
// generic plan).
func (s *Searcher) queueNearest(b *pgx.Batch, sessionID uuid.UUID, model string, dim int, vec string, n int, exclude []uuid.UUID) {
	// Iterative scans keep the HNSW index from returning fewer than n rows
	// when most candidates belong to other sessions (pgvector 0.8).
	// set_config(…, true) is SET LOCAL: transaction state only, which
	// PGlite's connection multiplexing allows.
	b.Queue(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
		set_config('hnsw.ef_search', $1, true)`, strconv.Itoa(max(s.EfSearch, n)))
	typ := "vector(" + strconv.Itoa(dim) + ")"
	// The nearest n first, then their messages: joining before the LIMIT
	// fetched every message of the session.
	b.Queue(`SELECT m.id, m.session_id, m.role, m.content, m.turn_id, m.author_id, m.created_at, m.seq, 1 - k.dist AS score
		FROM (
			SELECT e.message_id, e.embedding::`+typ+` <=> $2::`+typ+` AS dist
			FROM game.message_embeddings e
			WHERE e.model = `+quoteLiteral(model)+` AND e.session_id = $1 AND NOT (e.message_id = ANY($3::uuid[]))
			ORDER BY dist
			LIMIT $4
		) k JOIN game.messages m ON m.id = k.message_id`, sessionID, vec, uuidTexts(exclude), n)
}

// readNearest reads what queueNearest queued.
func readNearest(br pgx.BatchResults) ([]MemoryResult, error) {
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	out, err := collectResults(rows, SourceVector)
	if err != nil {
		return nil, err
	}
	// relaxed_order may return rows slightly out of order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out, nil
}

// queueKeyword queues the query of up to n messages of the session matching
// any of the keywords kws (memory.Keywords of the query text), ranked by BM25 computed in SQL over the session's messages:
// each matched term adds its inverse document frequency within the
// session, damped by the message's length relative to the session's
// average (the textbook k1 = 1.2, b = 0.75; term frequency counts as 1,
// since messages are short). Postgres's ts_rank has no IDF, so a common
// word ("innkeeper" in a tavern campaign) would count as much as a rare
// one ("warn"); and requiring every term, as websearch_to_tsquery does,
// finds almost nothing, because questions are phrased unlike the facts
// they ask about. Each keyword is its own tsquery, stemmed by the english
// configuration like messages.tsv. stats, hits and df are MATERIALIZED:
// each is used once, so Postgres would inline them, and the planner (which
// believes a session holds a handful of rows) then re-aggregated the whole
// session for every (message, term) match: quadratic in the session's
// length (docs/PERFORMANCE.md "Figures behind the code"). hits matches each
// (message, term) pair once for both the document frequencies and the
// scores; terms are joined by a number, not by comparing tsquery values,
// and the score is float8 arithmetic, not numeric (ln of a numeric is
// slow; same figures section).
func queueKeyword(b *pgx.Batch, sessionID uuid.UUID, kws []string, n int, exclude []uuid.UUID) {
	b.Queue(`WITH terms AS (
			SELECT min(t.i) AS term, q FROM unnest($2::text[]) WITH ORDINALITY AS t(word, i), to_tsquery('english', t.word) AS q
			WHERE numnode(q) > 0 GROUP BY q
		), docs AS (
			SELECT m.id, m.tsv, length(m.tsv) AS len FROM game.messages m WHERE m.session_id = $1
		), stats AS MATERIALIZED (
			SELECT count(*)::float8 AS n, greatest(avg(len), 1)::float8 AS avglen FROM docs
		), hits AS MATERIALIZED (
			SELECT d.id, d.len, terms.term FROM docs d JOIN terms ON d.tsv @@ terms.q
		), df AS MATERIALIZED (
			SELECT term, count(*)::float8 AS n FROM hits GROUP BY term
		), scored AS (
			SELECT h.id, sum(ln(1 + (stats.n - df.n + 0.5) / (df.n + 0.5))
				* 2.2 / (1 + 1.2 * (0.25 + 0.75 * h.len / stats.avglen))) AS score
			FROM hits h JOIN df ON df.term = h.term CROSS JOIN stats
			WHERE NOT (h.id = ANY($3::uuid[]))
			GROUP BY h.id
		)
		SELECT m.id, m.session_id, m.role, m.content, m.turn_id, m.author_id, m.created_at, m.seq, s.score::float8
		FROM scored s JOIN game.messages m ON m.id = s.id
		ORDER BY s.score DESC, m.seq DESC
		LIMIT $4`, sessionID, kws, uuidTexts(exclude), n)
}

func collectResults(rows pgx.Rows, source string) ([]MemoryResult, error) {
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (MemoryResult, error) {
		var r MemoryResult
		m := &r.Message
		err := row.Scan(&m.ID, &m.SessionID, &m.Role, &m.Content, &m.TurnID, &m.AuthorID, &m.CreatedAt, &m.Seq, &r.Score)
		r.Source = source
		if source == SourceVector {
			r.VectorScore = r.Score
		} else {
			r.KeywordScore = r.Score
		}
		return r, err
	})
}

// Fuse merges two ranked lists by weighted reciprocal rank fusion: each
// result scores the sum of w/(k + rank) over the lists it appears in (rank
// from 1), so agreement between methods beats a high rank in one. A
// result in both lists has source "hybrid". Ties keep the vector order.
func Fuse(k, wv float64, vector []MemoryResult, wk float64, keyword []MemoryResult) []MemoryResult {
	byID := map[uuid.UUID]*MemoryResult{}
	var order []uuid.UUID
	add := func(w float64, list []MemoryResult) {
		for i, r := range list {
			rrf := w / (k + float64(i+1))
			if cur, ok := byID[r.Message.ID]; ok {
				cur.Score += rrf
				cur.Source = SourceHybrid
				cur.VectorScore = max(cur.VectorScore, r.VectorScore)
				cur.KeywordScore = max(cur.KeywordScore, r.KeywordScore)
				continue
			}
			r.Score = rrf
			byID[r.Message.ID] = &r
			order = append(order, r.Message.ID)
		}
	}
	add(wv, vector)
	add(wk, keyword)
	out := make([]MemoryResult, len(order))
	for i, id := range order {
		out[i] = *byID[id]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// VectorText formats a vector in pgvector's text form.
func VectorText(v []float32) string {
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', 7, 32))
	}
	b.WriteByte(']')
	return b.String()
}
