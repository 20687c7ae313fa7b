package dm

import (
	"regexp"
	"strings"
)

// recall answers a question about the past. With retrieved memory the
// answer IS the top memory, quoted, with no roll: this is where a player
// sees that the Dungeon Master remembers. Without memory an Intelligence
// check decides whether the character knows that they do not know.
func (n *narration) recall() {
	n.say(n.dice.pick(recallOpenings))
	if top, ok := n.recallSource(); ok {
		if q := excerpt(top.Content, n.p.Player, maxQuoteWords); q != "" {
			n.vars["{quote}"] = q
			if top.Role == RolePlayer {
				n.say(n.dice.pick(recallOwnWords))
			} else {
				n.say(n.dice.pick(recallAnswers))
			}
			return
		}
	}
	ck := n.dice.rollCheck(n.p.Character, Intelligence, difficulty(n.act), false)
	n.say(ck.String())
	if o := ck.outcome(); o == success || o == critical {
		n.say(n.dice.pick(recallNothingSure))
	} else {
		n.say(n.dice.pick(recallNothingHazy))
	}
}

// recallSource is what a recall question is answered from: the top
// retrieved memory, or else the recent message that shares the most words
// with the question (early in a session everything is recent, and the
// pipeline never retrieves what is already in the recent window). The
// Dungeon Master's lines are preferred: they hold what the world revealed,
// while the player's own lines mostly repeat the question's words.
func (n *narration) recallSource() (Memory, bool) {
	if len(n.p.Memory) > 0 {
		return n.p.Memory[0], true
	}
	best, bestScore := -1, 0
	for i, r := range n.p.Recent {
		shared := sharedWords(r.Content, n.p.Player)
		score := shared * 2
		if r.Role == RoleDM && shared > 0 {
			score += 3
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Memory{}, false
	}
	return Memory{Role: n.p.Recent[best].Role, Content: n.p.Recent[best].Content}, true
}

// sharedWords counts the distinct key words of query found in content.
func sharedWords(content, query string) int {
	have := map[string]bool{}
	for _, w := range splitWords(content) {
		have[keyWord(w)] = true
	}
	n := 0
	seen := map[string]bool{}
	for _, w := range splitWords(query) {
		w = keyWord(w)
		if len(w) > 2 && !contains(quoteStopWords, w) && have[w] && !seen[w] {
			seen[w] = true
			n++
		}
	}
	return n
}

// rollNote matches the narrator's own roll statements, which make poor
// quotes.
var rollNote = regexp.MustCompile(`\((?:[A-Z][a-z]+ (?:check|attack)|HP)[^)]*\)`)

// excerpt quotes content for the narration: it starts at the sentence that
// shares the most words with the player's message (the first sentence when
// none does) and runs on through the following sentences up to maxWords
// words, so a short line of dialogue ("My daughter?") keeps the answer that
// follows it. A cut is marked with "…". The narrator's own roll statements
// and closing questions are left out, and double quotes become single ones,
// since the excerpt is itself quoted.
func excerpt(content, query string, maxWords int) string {
	content = strings.ReplaceAll(rollNote.ReplaceAllString(content, " "), `"`, "'")
	want := map[string]bool{}
	for _, w := range splitWords(query) {
		if w = keyWord(w); len(w) > 2 && !contains(quoteStopWords, w) {
			want[w] = true
		}
	}
	var sents [][]string
	for _, s := range sentences(content) {
		if !isClosing(s) {
			sents = append(sents, strings.Fields(s))
		}
	}
	first, bestScore := 0, 0
	for i, ws := range sents {
		n := 0
		for _, w := range ws {
			if want[keyWord(w)] {
				n++
			}
		}
		if n > bestScore {
			first, bestScore = i, n
		}
	}
	var quote []string
	cut := false
	for _, ws := range sents[min(first, len(sents)):] {
		if room := maxWords - len(quote); len(ws) > room {
			quote, cut = append(quote, ws[:room]...), true
			break
		}
		quote = append(quote, ws...)
	}
	q := strings.Join(quote, " ")
	if cut {
		q = strings.TrimRight(q, ",;:—-") + "…"
	}
	return q
}

// isClosing reports whether a sentence is a Dungeon Master's closing
// question, which says nothing worth remembering.
func isClosing(s string) bool {
	for _, c := range []string{"What do you do", "How do you proceed", "What is your next move", "The moment is yours"} {
		if strings.HasPrefix(s, c) {
			return true
		}
	}
	return false
}

// keyWord reduces a word to what matching cares about: lower case, no
// surrounding punctuation, no possessive.
func keyWord(w string) string {
	w = strings.ToLower(strings.Trim(w, ".,;:!?\"'()[]…—-“”‘’"))
	return strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
}

var quoteStopWords = []string{"the", "and", "was", "were", "what", "who", "where", "when",
	"did", "does", "that", "this", "with", "from", "have", "has", "had", "you", "your",
	"our", "their", "there", "about", "again", "remember", "recall", "name", "named"}

// sentences splits text after sentence-ending punctuation and at line
// breaks.
func sentences(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		start := 0
		fields := strings.Fields(line)
		for i, f := range fields {
			if strings.ContainsAny(f[len(f)-1:], ".!?") || strings.HasSuffix(f, "…") ||
				strings.HasSuffix(f, ".'") || strings.HasSuffix(f, "!'") || strings.HasSuffix(f, "?'") {
				out = append(out, strings.Join(fields[start:i+1], " "))
				start = i + 1
			}
		}
		if start < len(fields) {
			out = append(out, strings.Join(fields[start:], " "))
		}
	}
	return out
}
