package lore

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// Message is one recent message to match against, oldest first.
type Message struct {
	ID      string
	Content string
}

// Match is an entry that goes into the prompt, and why.
type Match struct {
	Entry Entry
	// Always is true when the entry is in because it is always included;
	// Key and MessageID are then empty unless a key also matched.
	Always bool
	// Key is the entry's key that matched in the most recent message that
	// mentions the entry, as the player wrote the key.
	Key string
	// MessageID and MessageIndex name that message (index into the
	// messages given to Match; higher is more recent).
	MessageID    string
	MessageIndex int
	// Count is how many times any key of the entry occurred in all messages.
	Count int
}

// word is a folded word of a text and its English stem.
type word struct {
	text string // lower-cased, accent-folded
	stem string // Porter2 stem when text is plain ASCII letters, else text
}

type compiledKey struct {
	raw   string
	words []word
	// substring is the folded key for scripts written without spaces
	// (Chinese, Japanese, Thai), where word boundaries cannot be found by
	// splitting: such keys match as substrings of the folded message.
	substring string
}

type compiledEntry struct {
	entry Entry
	keys  []compiledKey
}

// Matcher matches a fixed set of entries; build it once per turn (or cache
// it per lorebook version) and match the turn's recent messages.
type Matcher struct {
	entries []compiledEntry
}

// NewMatcher compiles entries for matching. Disabled entries are dropped.
// Keys are compiled as given; Validate is where bad keys are refused.
func NewMatcher(entries []Entry) *Matcher {
	m := &Matcher{entries: make([]compiledEntry, 0, len(entries))}
	for _, e := range entries {
		if !e.Enabled {
			continue
		}
		ce := compiledEntry{entry: e}
		for _, k := range e.Keys {
			ws := foldWords(k)
			if len(ws) == 0 {
				continue
			}
			ck := compiledKey{raw: k, words: ws}
			if hasUnspacedScript(k) {
				ck.substring = foldString(k)
			}
			ce.keys = append(ce.keys, ck)
		}
		m.entries = append(m.entries, ce)
	}
	return m
}

// Match returns the entries that are always included or whose keys occur in
// msgs (oldest first), in the entries' order. A key matches whole words,
// case-insensitively and ignoring accents; each word of a key matches a
// message word with the same English (Porter2) stem, so "Bram's" matches
// "Bram", "dragons" matches "dragon" and "hunted" matches "hunting" (but
// irregular forms such as "wolves"/"wolf" do not). A key of several words
// matches them in sequence. Keys in scripts written without spaces match as
// substrings.
func (m *Matcher) Match(msgs []Message) []Match {
	texts := make([]msgIndex, len(msgs))
	stems := map[string]string{} // stemming dominates; words repeat across messages
	for i, msg := range msgs {
		texts[i] = indexMessage(msg.Content, stems)
	}
	var out []Match
	for _, ce := range m.entries {
		mt := Match{Entry: ce.entry, Always: ce.entry.Always, MessageIndex: -1}
		for i := len(texts) - 1; i >= 0; i-- {
			for _, k := range ce.keys {
				n := texts[i].count(k)
				if n == 0 {
					continue
				}
				mt.Count += n
				if mt.MessageIndex < 0 {
					mt.Key, mt.MessageID, mt.MessageIndex = k.raw, msgs[i].ID, i
				}
			}
		}
		if mt.Always || mt.Count > 0 {
			out = append(out, mt)
		}
	}
	return out
}

// msgIndex is one message's words and where each stem occurs.
type msgIndex struct {
	words  []word
	byStem map[string][]int
	folded string // only built when a key needs substring matching
	raw    string
}

func indexMessage(s string, stems map[string]string) msgIndex {
	ws := foldWordsCached(s, stems)
	ix := msgIndex{words: ws, byStem: make(map[string][]int, len(ws)), raw: s}
	for i, w := range ws {
		ix.byStem[w.stem] = append(ix.byStem[w.stem], i)
	}
	return ix
}

func (ix *msgIndex) count(k compiledKey) int {
	if k.substring != "" {
		if ix.folded == "" {
			ix.folded = foldString(ix.raw)
		}
		return strings.Count(ix.folded, k.substring)
	}
	n := 0
	for _, start := range ix.byStem[k.words[0].stem] {
		if start+len(k.words) > len(ix.words) {
			continue
		}
		ok := true
		for j := 1; j < len(k.words); j++ {
			if ix.words[start+j].stem != k.words[j].stem {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// foldWords splits s into lower-cased, accent-folded words: runs of letters
// and digits (Unicode-aware). An apostrophe inside a word is dropped and a
// possessive "'s" removed, so "Bram's" is the word "bram".
func foldWords(s string) []word { return foldWordsCached(s, nil) }

// foldWordsCached is foldWords with a cache of stems (nil for none).
func foldWordsCached(s string, stems map[string]string) []word {
	s = foldString(s)
	var out []word
	var b strings.Builder
	flush := func() {
		if b.Len() == 0 {
			return
		}
		t := b.String()
		st, ok := stems[t]
		if !ok {
			st = stem(t)
			if stems != nil {
				stems[t] = st
			}
		}
		out = append(out, word{text: t, stem: st})
		b.Reset()
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		case r == '\'' || r == '’':
			if b.Len() == 0 {
				continue
			}
			rest := s[i:]
			if strings.HasPrefix(rest, "s") {
				next, _ := utf8.DecodeRuneInString(rest[1:])
				if len(rest) == 1 || !(unicode.IsLetter(next) || unicode.IsDigit(next)) {
					i++ // possessive 's
				}
			}
		default:
			flush()
		}
	}
	flush()
	return out
}

// foldString lower-cases s and strips combining marks (NFD), so "Éowyn"
// and "eowyn" are the same text.
func foldString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return norm.NFC.String(b.String())
}

// stem is the Porter2 (Snowball English) stem of w when w is plain ASCII
// letters; other scripts have no stemmer here and match as whole words.
func stem(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return w
		}
	}
	return english.Stem(w, false)
}

// hasUnspacedScript reports whether s contains letters of a script written
// without spaces between words.
func hasUnspacedScript(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar) {
			return true
		}
	}
	return false
}

// sortMatches orders matches by priority: always entries first (in the
// entries' order), then by the most recent message that mentions them, then
// by how often they are mentioned, then in the entries' order.
func sortMatches(ms []Match) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.Always != b.Always {
			return a.Always
		}
		if a.Always {
			return false
		}
		if a.MessageIndex != b.MessageIndex {
			return a.MessageIndex > b.MessageIndex
		}
		return a.Count > b.Count
	})
}
