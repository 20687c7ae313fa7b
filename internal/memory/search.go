package memory

import (
	"context"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
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
// cosine KNN of the served embedding model within the session (exact up to
// ExactMax vectors, the HNSW graph with iterative scans above) fused by
// reciprocal rank with Postgres full-text search.
type Searcher struct {
	store  *Store
	models *Models
	// EfSearch is the HNSW candidate list size; iterative scans extend it
	// when the session filter discards candidates.
	EfSearch int
	// ExactMax is the largest session (in vectors of the served model)
	// searched exactly, every vector compared; larger sessions go through
	// the HNSW graph. ScanTuples is the least scan budget of the graph
	// search (hnsw.max_scan_tuples), raised for sessions that are a small
	// share of the table (nearestSQL).
	ExactMax, ScanTuples int
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
	// RecencyWeight is the recency prior of hybrid search: each fused
	// score is multiplied by 1 + RecencyWeight·r, where r is the result's
	// place in time among the candidates (1 for the newest, 0 for the
	// oldest; by message order, i.e. by turns, not wall time). A fact
	// corrected later and its stale version both answer the question, so
	// they fuse to nearly the same score and the prior puts the newer
	// first; a small weight leaves clearly better-ranked old facts where
	// they are. 0 turns it off.
	RecencyWeight float64
	// SupersedeOverlap turns on supersession (Supersede) in hybrid search:
	// among the first SupersedeWindow fused results, messages whose answer
	// sentences restate the same thing (term overlap at least this) are
	// ordered newest first. 0 turns it off.
	SupersedeOverlap float64
	// SupersedeWindow is how many of the best fused results Supersede
	// compares pairwise.
	SupersedeWindow int
	// Expand, when set, adds words to the keyword search's terms (query
	// expansion with word-vector neighbours, embed.WordVectors.Expand, and
	// WordNet, wordnet.Table.Expand: NewExpand).
	Expand func(keywords []string) []string
}

var _ game.MemorySearch = (*Searcher)(nil)

// NewSearcher returns a searcher.
func NewSearcher(store *Store, models *Models) *Searcher {
	return &Searcher{store: store, models: models, EfSearch: 100, RRFK: 60, Candidates: 32, VectorWeight: 1, KeywordWeight: 1,
		ExactMax: DefaultExactMax, ScanTuples: 20000, RecencyWeight: DefaultRecencyWeight, SupersedeOverlap: DefaultSupersedeOverlap, SupersedeWindow: DefaultSupersedeWindow}
}

// DefaultRecencyWeight is the recency prior's default: off. On the tuning
// half of memorybench's sets (docs/PERFORMANCE.md "Meaning and time in
// memory") 0.04 put the corrected fact first in 32 of 40 questions instead
// of 11 but dropped one planted fact of 60 out of the top 8; supersession
// (DefaultSupersedeOverlap) puts it first in 35 (every one retrieved)
// without losing any, and the prior adds nothing on top of it.
const DefaultRecencyWeight = 0.0

// DefaultSupersedeOverlap and DefaultSupersedeWindow are the supersession
// rule's settings (Supersede; docs/PERFORMANCE.md "Meaning and time in
// memory"): 0.25 is inside the range of overlaps (0.23–0.30) that kept every
// planted fact and ordered every retrieved correction on the tuning half;
// the window is the candidates of one method.
const (
	DefaultSupersedeOverlap = 0.25
	DefaultSupersedeWindow  = 32
)

// DefaultExactMax is Searcher.ExactMax's default: sessions of up to this
// many vectors are searched exactly. Measured (docs/PERFORMANCE.md
// "Retrieval at scale"), the session-filtered HNSW graph reached recall@8
// 0.74–0.86 in 1,000-vector sessions and 0.86–0.98 in 10,000- and
// 40,000-vector ones whatever ef_search; with few repeated messages it
// reached 0.95 in every size only at ef_search 1000, as slow as exact
// search. Exact search costs tens of milliseconds at 40,000 vectors, less
// than the keyword side of the same retrieve.
const DefaultExactMax = 50000

// ExpandMinCosine is the least cosine between a keyword's word vector and
// a neighbour that query expansion adds (GloVe 100-d; 0.6 keeps close
// synonyms: "wizard" → "magician", "sorcerer").
const ExpandMinCosine = 0.6

// ExpandWithWordVectors returns a Searcher.Expand that adds up to n
// neighbours of each keyword from the word-vector table (DefaultWordVectors;
// ErrNoWordVectors when its file is missing).
func ExpandWithWordVectors(n int) (func([]string) []string, error) {
	wv, err := embed.DefaultWordVectors()
	if err != nil {
		return nil, err
	}
	return func(kws []string) []string { return wv.Expand(kws, n, ExpandMinCosine) }, nil
}

// NewExpand returns the game's Searcher.Expand: the keywords, then up to n
// word-vector neighbours of each (when wv is not nil and n > 0), then the
// WordNet words of each (when wn is not nil) not already among them. It is
// nil when neither table is given: the keywords are searched as they are.
func NewExpand(n int, wv *embed.WordVectors, wn *wordnet.Table) func([]string) []string {
	var steps []func([]string) []string
	if wv != nil && n > 0 {
		steps = append(steps, func(kws []string) []string { return wv.Expand(kws, n, ExpandMinCosine) })
	}
	if wn != nil {
		steps = append(steps, wn.Expand)
	}
	if len(steps) == 0 {
		return nil
	}
	return func(kws []string) []string {
		out := append([]string(nil), kws...)
		seen := make(map[string]bool, len(kws))
		for _, k := range kws {
			seen[k] = true
		}
		for _, step := range steps {
			for _, w := range step(kws)[len(kws):] {
				if !seen[w] {
					seen[w] = true
					out = append(out, w)
				}
			}
		}
		return out
	}
}

// Search returns the k messages of the session most relevant to q (hybrid),
// not counting the excluded ones.
func (s *Searcher) Search(ctx context.Context, sessionID uuid.UUID, q string, k int, exclude []uuid.UUID) ([]game.MemoryResult, error) {
	return s.SearchMode(ctx, sessionID, game.Query{Text: q}, Hybrid, k, exclude)
}

// Recall is the hybrid search of a turn's retrieve stage.
func (s *Searcher) Recall(ctx context.Context, sessionID uuid.UUID, q game.Query, k int, exclude []uuid.UUID) ([]game.MemoryResult, error) {
	return s.SearchMode(ctx, sessionID, q, Hybrid, k, exclude)
}

// SearchMode runs one retrieval method.
func (s *Searcher) SearchMode(ctx context.Context, sessionID uuid.UUID, q game.Query, mode Mode, k int, exclude []uuid.UUID) ([]game.MemoryResult, error) {
	rs, kws, err := s.candidates(ctx, sessionID, q, mode, k, exclude)
	if err != nil {
		return nil, err
	}
	if mode != Hybrid {
		return limit(rs, k), nil
	}
	return limit(s.Rank(kws, rs), k), nil
}

// Fused returns every candidate of a hybrid search for k results, fused
// by reciprocal rank but not yet re-ranked by time, and the query terms
// of its keyword side: what Rank takes (the memory benchmark replays
// ranking rules on them).
func (s *Searcher) Fused(ctx context.Context, sessionID uuid.UUID, q game.Query, k int, exclude []uuid.UUID) ([]game.MemoryResult, []string, error) {
	return s.candidates(ctx, sessionID, q, Hybrid, k, exclude)
}

// Rank applies the time-aware rules of hybrid search to fused candidates
// (best first): the recency prior, then supersession.
func (s *Searcher) Rank(kws []string, fused []game.MemoryResult) []game.MemoryResult {
	return Supersede(s.SupersedeOverlap, s.SupersedeWindow, kws, Recency(s.RecencyWeight, fused))
}

// candidates returns one method's ranked results (hybrid: fused, all
// candidates) and the keyword side's terms.
func (s *Searcher) candidates(ctx context.Context, sessionID uuid.UUID, q game.Query, mode Mode, k int, exclude []uuid.UUID) ([]game.MemoryResult, []string, error) {
	n := max(s.Candidates, 2*k)
	if mode == VectorOnly {
		n = k
	}
	var near *nearest
	if mode != KeywordOnly {
		if q.Vector == "" || q.Model == "" {
			e, err := s.models.Serving(ctx)
			if err != nil {
				return nil, nil, err
			}
			vs, err := e.Embed(ctx, []string{q.Text})
			if err != nil {
				return nil, nil, err
			}
			q.Vector, q.Model = embed.VectorText(vs[0]), e.Model()
		}
		near = &nearest{model: q.Model, dim: strings.Count(q.Vector, ",") + 1, vector: q.Vector, efSearch: max(s.EfSearch, n),
			exactMax: s.ExactMax, scanTuples: s.ScanTuples}
	}
	var kws []string
	if mode != VectorOnly {
		kws = embed.Keywords(q.Text)
		if s.Expand != nil {
			kws = s.Expand(kws)
		}
	}
	if near == nil && len(kws) == 0 {
		return []game.MemoryResult{}, kws, nil
	}
	vec, kw, err := s.store.search(ctx, sessionID, near, kws, n, exclude, q.Viewer)
	if err != nil {
		return nil, nil, err
	}
	switch mode {
	case VectorOnly:
		return vec, kws, nil
	case KeywordOnly:
		return kw, kws, nil
	}
	return Fuse(s.RRFK, s.VectorWeight, vec, s.KeywordWeight, kw), kws, nil
}

// Recency multiplies each result's score by 1 + w·r, r its place in time
// among rs (the newest 1, the oldest 0, evenly spaced by rank in message
// order), and re-sorts by score. w = 0 returns rs as it is.
func Recency(w float64, rs []game.MemoryResult) []game.MemoryResult {
	if w == 0 || len(rs) < 2 {
		return rs
	}
	byAge := make([]int, len(rs))
	for i := range byAge {
		byAge[i] = i
	}
	sort.SliceStable(byAge, func(a, b int) bool { return rs[byAge[a]].Message.Seq < rs[byAge[b]].Message.Seq })
	for place, i := range byAge {
		rs[i].Score *= 1 + w*float64(place)/float64(len(rs)-1)
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Score > rs[j].Score })
	return rs
}

func limit(rs []game.MemoryResult, k int) []game.MemoryResult {
	if rs == nil {
		return []game.MemoryResult{}
	}
	return rs[:min(k, len(rs))]
}

// Fuse merges two ranked lists by weighted reciprocal rank fusion: each
// result scores the sum of w/(k + rank) over the lists it appears in (rank
// from 1), so agreement between methods beats a high rank in one. A
// result in both lists has source "hybrid". Ties keep the vector order.
func Fuse(k, wv float64, vector []game.MemoryResult, wk float64, keyword []game.MemoryResult) []game.MemoryResult {
	byID := map[uuid.UUID]*game.MemoryResult{}
	var order []uuid.UUID
	add := func(w float64, list []game.MemoryResult) {
		for i, r := range list {
			rrf := w / (k + float64(i+1))
			if cur, ok := byID[r.Message.ID]; ok {
				cur.Score += rrf
				cur.Source = game.SourceHybrid
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
	out := make([]game.MemoryResult, len(order))
	for i, id := range order {
		out[i] = *byID[id]
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}
