package memory

import (
	"sort"
	"strings"

	"github.com/kljensen/snowball/english"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// Supersede puts, among retrieved messages that state the same thing, the
// newer ones first: a time-aware rule applied only within groups of
// near-restatements, instead of a recency prior on every result.
//
// A message's answer sentence is its sentence sharing the most terms
// (Porter2 stems of embed.Keywords) with the question's terms qterms
// (embed.Keywords of the question, with query expansion's extra words if
// any); comparing sentences rather than whole messages matters because a
// fact is usually one sentence inside a longer narration. Two results are
// about the same thing when their answer sentences share at least one
// question term and the Jaccard overlap of their terms is at least
// minOverlap ("Captain Varro commands the city watch." and "Captain Varro
// was dismissed; Mirelle now commands the city watch.": the answer
// sentence of the second is "Mirelle now commands the city watch", overlap
// 3/7). Groups are the connected pairs among the first window results.
//
// Within a group, the members take the group's scores in time order: the
// newest gets the best score, the next newest the second best, and so on
// (message order, i.e. by turns, not wall time). Results outside every
// group, such as a distant fact stated once, keep their score, so a unique
// fact loses a place only to a later restatement of itself (or a later
// message the overlap mistakes for one). minOverlap 0 turns the rule off.
// rs must be sorted by score, best first, as Fuse returns it; the result is
// re-sorted.
func Supersede(minOverlap float64, window int, qterms []string, rs []game.MemoryResult) []game.MemoryResult {
	if minOverlap <= 0 || len(rs) < 2 || len(qterms) == 0 {
		return rs
	}
	n := min(window, len(rs))
	q := stemSet(qterms)
	answers := make([]map[string]bool, n)
	for i := range n {
		answers[i] = answerSentence(rs[i].Message.Content, q)
	}
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			if sameSubject(answers[i], answers[j], q, minOverlap) {
				parent[find(j)] = find(i)
			}
		}
	}
	groups := map[int][]int{}
	for i := range n {
		groups[find(i)] = append(groups[find(i)], i)
	}
	changed := false
	for _, g := range groups {
		if len(g) < 2 {
			continue
		}
		scores := make([]float64, len(g)) // g is in rank order: best score first
		for k, i := range g {
			scores[k] = rs[i].Score
		}
		byAge := append([]int(nil), g...)
		sort.SliceStable(byAge, func(a, b int) bool { return rs[byAge[a]].Message.Seq > rs[byAge[b]].Message.Seq })
		for k, i := range byAge {
			if rs[i].Score != scores[k] {
				rs[i].Score = scores[k]
				changed = true
			}
		}
	}
	if changed {
		// Equal scores (a group's slot and an outsider's) keep the
		// newer first.
		sort.SliceStable(rs, func(i, j int) bool {
			if rs[i].Score != rs[j].Score {
				return rs[i].Score > rs[j].Score
			}
			return rs[i].Message.Seq > rs[j].Message.Seq
		})
	}
	return rs
}

// sameSubject reports whether two answer sentences share a question term
// and overlap by at least minOverlap (Jaccard of their terms).
func sameSubject(a, b, q map[string]bool, minOverlap float64) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	shared, sharedQ := 0, false
	for t := range a {
		if b[t] {
			shared++
			sharedQ = sharedQ || q[t]
		}
	}
	return sharedQ && float64(shared) >= minOverlap*float64(len(a)+len(b)-shared)
}

// answerSentence returns the terms of the sentence of text sharing the
// most terms with q (the first such sentence; nil when none shares any).
func answerSentence(text string, q map[string]bool) map[string]bool {
	var best map[string]bool
	bestHits := 0
	for _, s := range sentences(text) {
		terms := stemSet(embed.Keywords(s))
		hits := 0
		for t := range terms {
			if q[t] {
				hits++
			}
		}
		if hits > bestHits {
			best, bestHits = terms, hits
		}
	}
	return best
}

// sentences splits text at sentence ends and semicolons.
func sentences(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == '.' || r == '!' || r == '?' || r == ';' || r == '\n'
	})
}

func stemSet(words []string) map[string]bool {
	out := make(map[string]bool, len(words))
	for _, w := range words {
		out[english.Stem(w, false)] = true
	}
	return out
}
