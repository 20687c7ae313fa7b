package embed

import "unicode"

// CountTokens estimates how many model tokens s will use, for prompt budgets.
//
// It is the larger of two rules of thumb: one token per four characters
// (OpenAI's guidance for English BPE tokenisers) and four tokens per three
// words. The character rule tracks ordinary prose, punctuation and numbers;
// the word rule catches text made of many short words, where the character
// rule undercounts. Taking the larger errs on the side of a prompt that fits.
// Neither rule knows scripts written without spaces (CJK uses about a token
// per character), so budgets should keep some headroom.
//
// It returns 0 exactly when s has no non-space character.
func CountTokens(s string) int {
	var chars, words int
	inWord := false
	for _, r := range s {
		chars++
		if unicode.IsSpace(r) {
			inWord = false
			continue
		}
		if !inWord {
			words++
			inWord = true
		}
	}
	if words == 0 {
		return 0
	}
	byChars := (chars + 3) / 4   // ceil(chars/4)
	byWords := (words*8 + 3) / 6 // round(words*4/3)
	return max(byChars, byWords)
}
