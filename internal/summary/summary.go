// Package summary is the offline DM's rolling summariser: extractive, so it
// needs no model. Given the previous summary and the messages it does not
// cover yet, it picks the sentences that carry the story (the named people,
// places and things, numbers, who did what) and returns them, attributed to
// their speakers, within a token budget. It is deterministic: the same input
// always gives the same summary.
package summary

import (
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/kljensen/snowball/english"
)

// Message is one message not yet covered by the summary.
type Message struct {
	Role    string // "player", "dm" or "system"
	Author  string // the player's name for player messages
	Content string
}

// Options bound the summary.
type Options struct {
	// MaxTokens is the summary's budget; the result never costs more.
	MaxTokens int
	// Count estimates tokens (embed.CountTokens when nil), the prompt
	// builder's estimator so the budgets agree.
	Count func(string) int
}

// Scoring weights. A sentence scores the mean document frequency of its
// content words (SumBasic: what the session keeps talking about), plus
// bonuses for the marks of a fact: named entities, numbers, and saying more
// than a few words. Sentences
// already in the previous summary get a bonus so that the summary changes
// gradually rather than being rewritten each time.
const (
	entityBonus   = 0.15
	maxEntities   = 3
	numberBonus   = 0.1
	previousBonus = 0.2
	// wordBonus per content word (up to maxWordBonus words): when every
	// word is said once, the sentence that says more is the better pick.
	wordBonus    = 0.02
	maxWordBonus = 10
	shortPenalty = 0.5 // fewer than fullContent content words
	fullContent  = 3
	minContent   = 2  // fewer content words ("Hm.", "Fine.") never make the summary
	maxSentence  = 60 // words; longer sentences are cut
)

type sentence struct {
	text     string // as it goes into the summary, attributed
	words    []string
	entities int
	number   bool
	previous bool
	order    int
	score    float64
}

// Summarize returns the new rolling summary: the best sentences of the
// previous summary and of msgs, one per line, in story order, costing at
// most opt.MaxTokens. Player sentences are prefixed with the player's name
// and the DM's with "DM", so the summary keeps who did what.
func Summarize(previous string, msgs []Message, opt Options) string {
	count := opt.Count
	if count == nil {
		count = embed.CountTokens
	}
	if opt.MaxTokens <= 0 {
		return ""
	}
	var cands []*sentence
	for _, s := range splitSentences(previous) {
		cands = append(cands, &sentence{text: s, previous: true})
	}
	for _, m := range msgs {
		prefix := ""
		switch m.Role {
		case "player":
			name := strings.Join(strings.Fields(m.Author), " ")
			if name == "" {
				name = "Player"
			}
			prefix = name + ": "
		case "dm":
			prefix = "DM: "
		}
		for _, s := range splitSentences(m.Content) {
			cands = append(cands, &sentence{text: prefix + s})
		}
	}
	entities := findEntities(cands)
	df := map[string]int{}
	for i, c := range cands {
		c.order = i
		body := stripSpeaker(c.text)
		seen := map[string]bool{}
		ents := map[string]bool{}
		for _, w := range strings.FieldsFunc(body, notWord) {
			lw := strings.ToLower(w)
			if entities[lw] {
				ents[lw] = true
			}
			if unicode.IsDigit(firstRune(w)) {
				c.number = true
			}
		}
		for _, k := range embed.Keywords(body) {
			st := english.Stem(k, false)
			if !seen[st] {
				seen[st] = true
				c.words = append(c.words, st)
			}
		}
		c.entities = min(len(ents), maxEntities)
	}
	// What was said many times counts once, where it was said last: a
	// repeated line is not more important for being repeated, and counting
	// its words once per repeat would drown out the one-off facts.
	cands = dedupe(cands)
	for _, c := range cands {
		for _, w := range c.words {
			df[w]++
		}
	}
	// Score, then pick greedily with SumBasic's redundancy update: once a
	// sentence is chosen, its words' weights are squared, so the next pick
	// favours what is not yet said.
	weight := map[string]float64{}
	for w, n := range df {
		weight[w] = float64(n) / float64(len(cands))
	}
	var chosen []*sentence
	remaining := append([]*sentence(nil), cands...)
	for len(remaining) > 0 {
		bi := 0
		for i, c := range remaining {
			c.score = score(c, weight)
			// the highest score; a later sentence wins a tie
			if b := remaining[bi]; c.score > b.score || c.score == b.score && c.order > b.order {
				bi = i
			}
		}
		best := remaining[bi]
		remaining = append(remaining[:bi], remaining[bi+1:]...)
		if len(best.words) < minContent {
			continue
		}
		trial := append(append([]*sentence(nil), chosen...), best)
		if count(render(trial)) > opt.MaxTokens {
			continue // a shorter sentence may still fit
		}
		chosen = trial
		for _, w := range best.words {
			weight[w] *= weight[w]
		}
	}
	return render(chosen)
}

func score(c *sentence, weight map[string]float64) float64 {
	if len(c.words) == 0 {
		return 0
	}
	var sum float64
	for _, w := range c.words {
		sum += weight[w]
	}
	s := sum / float64(len(c.words))
	s += entityBonus*float64(c.entities) + wordBonus*float64(min(len(c.words), maxWordBonus))
	if c.number {
		s += numberBonus
	}
	if c.previous {
		s += previousBonus
	}
	if len(c.words) < fullContent {
		s *= shortPenalty
	}
	return math.Round(s*1e9) / 1e9 // no float noise in ties
}

func render(ss []*sentence) string {
	sorted := append([]*sentence(nil), ss...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].order < sorted[j].order })
	lines := make([]string, len(sorted))
	for i, s := range sorted {
		lines[i] = s.text
	}
	return strings.Join(lines, "\n")
}

// dedupe keeps one sentence per set of content words, the latest (a
// previous-summary sentence stays marked previous).
func dedupe(cands []*sentence) []*sentence {
	last := map[string]int{}
	prev := map[string]bool{}
	for i, c := range cands {
		w := append([]string(nil), c.words...)
		sort.Strings(w)
		k := strings.Join(w, " ")
		last[k] = i
		prev[k] = prev[k] || c.previous
	}
	var out []*sentence
	for i, c := range cands {
		w := append([]string(nil), c.words...)
		sort.Strings(w)
		k := strings.Join(w, " ")
		if last[k] == i {
			c.previous = prev[k]
			out = append(out, c)
		}
	}
	return out
}

// stripSpeaker removes a "Name: " attribution (at most four words) from
// the start of a sentence, so speakers' names do not count as its content.
func stripSpeaker(s string) string {
	if name, after, ok := strings.Cut(s, ": "); ok && len(strings.Fields(name)) <= 4 {
		return after
	}
	return s
}

// findEntities returns the lower-cased words that name people, places and
// things: words capitalised in the middle of a sentence, and words
// capitalised at the start of one that never occur in lower case ("Ysolde
// hid the key" but not "Time passes" when "time" occurs elsewhere). Stop
// words are never entities.
func findEntities(cands []*sentence) map[string]bool {
	lower := map[string]bool{}
	type capWord struct {
		w     string
		start bool
	}
	var caps []capWord
	for _, c := range cands {
		for i, w := range strings.FieldsFunc(stripSpeaker(c.text), notWord) {
			r := firstRune(w)
			switch {
			case unicode.IsLower(r):
				lower[w] = true
			case unicode.IsUpper(r) && w != "I":
				caps = append(caps, capWord{strings.ToLower(w), i == 0})
			}
		}
	}
	out := map[string]bool{}
	for _, c := range caps {
		if c.start && lower[c.w] {
			continue
		}
		if len(embed.Keywords(c.w)) == 0 {
			continue // a capitalised stop word
		}
		out[c.w] = true
	}
	// A word capitalised at a sentence start only, and seen in lower case,
	// is ordinary; one capitalised mid-sentence is a name everywhere.
	return out
}

func notWord(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// splitSentences splits text into sentences at ., ! and ? followed by a
// space (or the end) and at line breaks; whitespace is collapsed, markup
// asterisks (role-play actions, "*nods*") are removed, and over-long
// sentences are cut to maxSentence words.
func splitSentences(text string) []string {
	text = strings.ReplaceAll(text, "*", "")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		var cur strings.Builder
		rs := []rune(line)
		for i, r := range rs {
			cur.WriteRune(r)
			end := (r == '.' || r == '!' || r == '?') && (i+1 == len(rs) || unicode.IsSpace(rs[i+1]) || rs[i+1] == '"' || rs[i+1] == '”')
			if end {
				// keep a closing quote with its sentence
				for i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '”') {
					i++
				}
				out = appendSentence(out, cur.String())
				cur.Reset()
			}
		}
		out = appendSentence(out, cur.String())
	}
	return out
}

func appendSentence(out []string, s string) []string {
	s = strings.Trim(strings.Join(strings.Fields(s), " "), `"” `)
	if s == "" || strings.Trim(s, ".!?…-–— ") == "" {
		return out
	}
	if ws := strings.Fields(s); len(ws) > maxSentence {
		s = strings.Join(ws[:maxSentence], " ") + " …"
	}
	return append(out, s)
}
