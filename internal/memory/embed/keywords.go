package embed

// Keywords returns the words of text that carry meaning for a keyword
// search: lower-cased, accent-folded, possessives removed, stop words
// dropped, each once, in order. Every keyword is letters and digits only,
// so it is safe to join into a Postgres tsquery.
func Keywords(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range words(text) {
		if stopWords[w] || seen[w] || !plain(w) {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// plain reports whether w is ASCII letters and digits: tsquery syntax
// characters can never slip through, and the english stemmer sees words
// it knows.
func plain(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return w != ""
}
