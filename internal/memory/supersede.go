package memory

import (
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
	st := stemmer{}
	q := st.set(qterms)
	answers := make([]map[string]bool, n)
	df := map[string]int{}
	for i := range n {
		answers[i] = st.answerSentence(rs[i].Message.Content, q)
		for t := range answers[i] {
			df[t]++
		}
	}
	// Each result, best first, trades places with its closest newer
	// restatement ranked below it (each result trades once): results
	// between the two keep their places.
	moved := make([]bool, n)
	for i := range n {
		if moved[i] {
			continue
		}
		best, bestOverlap := -1, 0.0
		for j := i + 1; j < n; j++ {
			if moved[j] || rs[j].Message.Seq <= rs[i].Message.Seq {
				continue
			}
			if o := overlap(answers[i], answers[j], df); o >= minOverlap && o > bestOverlap {
				best, bestOverlap = j, o
			}
		}
		if best >= 0 {
			// Swap the messages, not the score slots: the list stays
			// sorted, and a tie still puts the newer first.
			rs[i].Score, rs[best].Score = rs[best].Score, rs[i].Score
			rs[i], rs[best] = rs[best], rs[i]
			moved[i], moved[best] = true, true
		}
	}
	return rs
}

// overlap is how much two answer sentences say the same thing: the
// Jaccard overlap of their terms, or 0 unless they share a distinctive
// term, one no more than maxShared answer sentences of the window contain
// (df). Ordinary play repeats its people and places in many messages ("I
// thank the innkeeper", "I watch the innkeeper"); a restatement shares
// what only it and its original say ("Varro", "Whiskers", "toll").
func overlap(a, b map[string]bool, df map[string]int) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	shared, distinctive := 0, false
	for t := range a {
		if b[t] {
			shared++
			distinctive = distinctive || df[t] <= maxShared
		}
	}
	if !distinctive {
		return 0
	}
	return float64(shared) / float64(len(a)+len(b)-shared)
}

// maxShared is how many answer sentences of the window a distinctive term
// may appear in (overlap).
var maxShared = 2

// answerSentence returns the terms of the sentence of text sharing the
// most terms with q (the first such sentence; nil when none shares any).
func (st stemmer) answerSentence(text string, q map[string]bool) map[string]bool {
	var best map[string]bool
	bestHits := 0
	for _, s := range sentences(text) {
		terms := st.set(embed.Keywords(s))
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

// sentences splits text at sentence ends (not at semicolons: "Whiskers
// died; the innkeeper's new cat is named Soot" is one statement).
func sentences(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return r == '.' || r == '!' || r == '?' || r == '\n'
	})
}

// stemmer is a memo of Porter2 stems: the candidates of one search repeat
// most of their words, and stemming is most of the rule's cost.
type stemmer map[string]string

// set returns the stems of words, as a set.
func (st stemmer) set(words []string) map[string]bool {
	out := make(map[string]bool, len(words))
	for _, w := range words {
		s, ok := st[w]
		if !ok {
			s = english.Stem(w, false)
			st[w] = s
		}
		out[s] = true
	}
	return out
}
