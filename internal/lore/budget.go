package lore

import (
	"strings"
	"unicode"
)

// Budget says how much of the prompt lore may take.
type Budget struct {
	// Tokens is the total lore may use.
	Tokens int
	// PerEntry caps what one entry may cost; a longer entry is cut (at a
	// word boundary) to fit. Zero means Tokens.
	PerEntry int
	// Count estimates the tokens of a text; the prompt builder's estimator
	// (embed.CountTokens) so the budgets agree.
	Count func(string) int
}

// SkipReason says why a matched entry stayed out of the prompt.
type SkipReason string

// Skip reasons.
const (
	SkipBudget SkipReason = "budget" // the remaining budget could not hold it
)

// Included is an entry that goes into the prompt.
type Included struct {
	Match
	// Content is what goes into the prompt: the entry's content, cut to
	// Budget.PerEntry when Truncated.
	Content   string
	Tokens    int
	Truncated bool
}

// Skipped is a matched entry left out, and why.
type Skipped struct {
	Match
	Reason SkipReason
	Tokens int
}

// Selection is the outcome of Select: what went in, in priority order, and
// what matched but did not fit.
type Selection struct {
	Included []Included
	Skipped  []Skipped
	Tokens   int
}

// Select chooses which matches enter the prompt, in this priority order:
//
//  1. always-included entries, in the order given;
//  2. matched entries by recency: the one mentioned in the latest message
//     first;
//  3. among those mentioned last in the same message, the one mentioned
//     more often across the recent messages;
//  4. otherwise the order given (callers pass entries in a stable order,
//     for example by creation).
//
// Each entry costs Count(content), at most PerEntry (longer content is cut
// to fit). An entry that does not fit the remaining budget is skipped and
// the next one tried, so a long entry never crowds out several short ones
// that come after it.
func Select(matches []Match, b Budget) Selection {
	ms := append([]Match(nil), matches...)
	sortMatches(ms)
	per := b.PerEntry
	if per <= 0 || per > b.Tokens {
		per = b.Tokens
	}
	var sel Selection
	for _, m := range ms {
		content := m.Entry.Content
		cost := b.Count(content)
		truncated := false
		if cost > per {
			content = cutToFit(content, per, b.Count)
			cost = b.Count(content)
			truncated = true
		}
		if cost == 0 || sel.Tokens+cost > b.Tokens {
			sel.Skipped = append(sel.Skipped, Skipped{Match: m, Reason: SkipBudget, Tokens: cost})
			continue
		}
		sel.Tokens += cost
		sel.Included = append(sel.Included, Included{Match: m, Content: content, Tokens: cost, Truncated: truncated})
	}
	return sel
}

// cutToFit returns the longest prefix of s, ending at a word boundary and
// followed by "…", that costs at most limit tokens. Binary search over
// word boundaries keeps it O(log n) estimator calls.
func cutToFit(s string, limit int, count func(string) int) string {
	var cuts []int // byte offsets where a word ends
	inWord := false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if space && inWord {
			cuts = append(cuts, i)
		}
		inWord = !space
	}
	lo, hi := 0, len(cuts) // find the largest k with cost(prefix(cuts[k-1])) <= limit
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if count(strings.TrimRight(s[:cuts[mid-1]], " \t\n")+"…") <= limit {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return s[:cuts[lo-1]] + "…"
}
