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

// Searcher finds a session's remembered messages most similar to a text:
// pgvector cosine KNN over the HNSW index, filtered to the session. (Issue
// #4 fuses it with full-text search; callers see only Search.)
type Searcher struct {
	store    *Store
	embedder memory.Embedder
	// EfSearch is the HNSW candidate list size; iterative scans extend it
	// when the session filter discards candidates.
	EfSearch int
}

// NewSearcher returns a searcher.
func NewSearcher(store *Store, embedder memory.Embedder) *Searcher {
	return &Searcher{store: store, embedder: embedder, EfSearch: 100}
}

// Search embeds q and returns the k nearest messages of the session, not
// counting the excluded ones.
func (s *Searcher) Search(ctx context.Context, sessionID uuid.UUID, q string, k int, exclude []uuid.UUID) ([]MemoryResult, error) {
	vecs, err := s.embedder.Embed(ctx, []string{q})
	if err != nil {
		return nil, err
	}
	return s.Nearest(ctx, sessionID, VectorText(vecs[0]), k, exclude)
}

// Nearest returns the k messages of the session nearest to vec (pgvector
// text form), best first.
func (s *Searcher) Nearest(ctx context.Context, sessionID uuid.UUID, vec string, k int, exclude []uuid.UUID) ([]MemoryResult, error) {
	var out []MemoryResult
	err := s.store.Tx(ctx, func(q querier) error {
		// Iterative scans keep the HNSW index from returning fewer than k
		// rows when most candidates belong to other sessions (pgvector 0.8).
		if _, err := q.Exec(ctx, `SET LOCAL hnsw.iterative_scan = relaxed_order`); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `SET LOCAL hnsw.ef_search = `+strconv.Itoa(s.EfSearch)); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT `+messageCols+`, 1 - (embedding <=> $2::vector) AS score
			FROM game.messages
			WHERE session_id = $1 AND embedding IS NOT NULL AND NOT (id = ANY($3::uuid[]))
			ORDER BY embedding <=> $2::vector
			LIMIT $4`, sessionID, vec, uuidTexts(exclude), k)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (MemoryResult, error) {
			var r MemoryResult
			m := &r.Message
			err := row.Scan(&m.ID, &m.SessionID, &m.Role, &m.Content, &m.TurnID, &m.AuthorID, &m.CreatedAt, &m.Seq, &r.Score)
			r.Source = "vector"
			return r, err
		})
		return err
	})
	if err != nil {
		return nil, postgres.Translate(err, "memory")
	}
	// relaxed_order may return rows slightly out of order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if out == nil {
		out = []MemoryResult{}
	}
	return out, nil
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
