package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// sets are the question sets, in the order of the table.
var sets = []string{"planted", "paraphrase", "corrections"}

// halves name the two halves of every set (campaign.HeldOut).
var halves = []string{"tune", "held-out"}

// halfOf is the index in halves of item i of a set.
func halfOf(i int) int {
	if campaign.HeldOut(i) {
		return 1
	}
	return 0
}

// cellSet is the first index of q's cells: its set, counted per half.
func cellSet(q question) int { return q.half*len(sets) + slices.Index(sets, q.set) }

// tally is one (set, embedder, mode) cell.
type tally struct {
	asked, hits, newer int
	rr                 float64
}

// cellMap holds the tallies by (cellSet, embedder, mode) index.
type cellMap map[[3]int]*tally

// add counts one question's results and returns the ranks of its answer
// and of its stale message (0: absent).
func (c cellMap) add(key [3]int, q question, res []game.MemoryResult) (rank, stale int) {
	rank, stale = rankOf(res, q.answer), rankOf(res, q.stale)
	t := c[key]
	if t == nil {
		t = &tally{}
		c[key] = t
	}
	t.asked++
	if rank > 0 {
		t.hits++
		t.rr += 1 / float64(rank)
		if stale == 0 || rank < stale {
			t.newer++
		}
	}
	return rank, stale
}

// print writes the table: recall@k, MRR@k and, for corrections, newer first.
func (c cellMap) print(embs, modes []string, k, half int) {
	fmt.Printf("| set | embedder | retrieval | recall@%d | MRR@%d | newer first |\n|---|---|---|---|---|---|\n", k, k)
	for si, set := range sets {
		for ei, e := range embs {
			for mi, m := range modes {
				t := c[[3]int{half*len(sets) + si, ei, mi}]
				if t == nil {
					continue
				}
				newer := "–"
				if set == "corrections" {
					newer = fmt.Sprintf("%d/%d", t.newer, t.asked)
				}
				fmt.Printf("| %s | `%s` | %s | %.3f | %.3f | %s |\n", set, e, m, float64(t.hits)/float64(t.asked), t.rr/float64(t.asked), newer)
			}
		}
	}
}

func modelNames(embs []embed.Embedder) []string {
	out := make([]string, len(embs))
	for i, e := range embs {
		out[i] = e.Model()
	}
	return out
}

// record is one hybrid question's fused candidates, as -dump writes them.
type record struct {
	Embedder string      `json:"embedder"`
	Set      string      `json:"set"`
	Text     string      `json:"text"`
	Terms    []string    `json:"terms"`
	Answer   uuid.UUID   `json:"answer"`
	Stale    uuid.UUID   `json:"stale,omitzero"`
	Half     int         `json:"half"`
	Fused    []candidate `json:"fused"`
}

type candidate struct {
	ID      uuid.UUID `json:"id"`
	Seq     int64     `json:"seq"`
	Score   float64   `json:"score"`
	Content string    `json:"content"`
}

func newRecord(emb string, q question, terms []string, fused []game.MemoryResult) record {
	r := record{Embedder: emb, Set: q.set, Text: q.text, Terms: terms, Answer: q.answer, Stale: q.stale, Half: q.half}
	for _, f := range fused {
		r.Fused = append(r.Fused, candidate{f.Message.ID, f.Message.Seq, f.Score, f.Message.Content})
	}
	return r
}

// replay re-ranks a -dump file's fused candidates with each combination of
// recency weight and supersession overlap, without a database: the hybrid
// rows of the table, for trying ranking rules quickly.
func replay(path string, recency, supersede []float64, k, window int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	var embs []string
	for _, r := range recs {
		if !slices.Contains(embs, r.Embedder) {
			embs = append(embs, r.Embedder)
		}
	}
	base := memory.NewSearcher(nil, nil)
	if window > 0 {
		base.SupersedeWindow = window
	}
	var names []string
	var searchers []*memory.Searcher
	for _, w := range append([]float64{0}, recency...) {
		for _, o := range append([]float64{0}, supersede...) {
			s := *base
			s.RecencyWeight, s.SupersedeOverlap = w, o
			names = append(names, modeName(w, o))
			searchers = append(searchers, &s)
		}
	}
	cells := cellMap{}
	for _, r := range recs {
		q := question{set: r.Set, text: r.Text, answer: r.Answer, stale: r.Stale, half: r.Half}
		for mi, s := range searchers {
			fused := make([]game.MemoryResult, len(r.Fused))
			for i, c := range r.Fused {
				fused[i] = game.MemoryResult{Message: game.Message{ID: c.ID, Seq: c.Seq, Content: c.Content}, Score: c.Score}
			}
			res := s.Rank(r.Terms, fused)
			cells.add([3]int{cellSet(q), slices.Index(embs, r.Embedder), mi}, q, res[:min(k, len(res))])
		}
	}
	fmt.Printf("replay of %s: %d questions\n\n", path, len(recs))
	for h, name := range halves {
		if slices.ContainsFunc(recs, func(r record) bool { return r.Half == h }) {
			fmt.Printf("\nhalf %q:\n\n", name)
			cells.print(embs, names, k, h)
		}
	}
	return nil
}

// modeName names a hybrid ranking by its recency weight and supersession
// overlap.
func modeName(w, o float64) string {
	var parts []string
	if w > 0 {
		parts = append(parts, fmt.Sprintf("recency %g", w))
	}
	if o > 0 {
		parts = append(parts, fmt.Sprintf("supersede %g", o))
	}
	if len(parts) == 0 {
		return "hybrid, RRF only"
	}
	return "hybrid, " + strings.Join(parts, " + ")
}
