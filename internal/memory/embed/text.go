package embed

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// words splits text into lower-cased, accent-folded words. Anything that is
// not a letter or a digit separates words, so punctuation never reaches a
// feature. Apostrophes inside a word are dropped ("don't" → "dont") and a
// possessive "'s" is removed ("blacksmith's" → "blacksmith"), so a name reads
// the same in "Ysolde's hammer" and "Ysolde".
func words(text string) []string {
	if !isASCII(text) {
		// NFD splits "é" into "e" and a combining accent, which the scan
		// below drops as a non-letter: a cheap diacritic fold.
		text = norm.NFD.String(text)
	}
	// All words go into one buffer and become substrings of one string:
	// one allocation for the text instead of one per word.
	b := make([]byte, 0, len(text))
	var bounds []int // end offsets in b, one per word
	start := 0
	flush := func() {
		if len(b) > start {
			bounds = append(bounds, len(b))
			start = len(b)
		}
	}
	for i := 0; i < len(text); {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
			b = append(b, byte(r))
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			b = append(b, byte(r+'a'-'A'))
		case isApostrophe(r):
			if len(b) == start {
				continue // a leading quote mark, not part of the word
			}
			if rest := text[i:]; (strings.HasPrefix(rest, "s") || strings.HasPrefix(rest, "S")) &&
				(len(rest) == 1 || !isWordRune(firstRune(rest[1:]))) {
				i++ // possessive 's
			}
		case unicode.Is(unicode.Mn, r):
			// combining mark left by NFD: fold "é" to "e"
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if f, ok := ligatures[r]; ok {
				b = append(b, f...)
			} else {
				b = utf8.AppendRune(b, unicode.ToLower(r))
			}
		default:
			flush()
		}
	}
	flush()
	all := string(b)
	out := make([]string, len(bounds))
	from := 0
	for i, end := range bounds {
		out[i] = all[from:end]
		from = end
	}
	return out
}

// ligatures folds the Latin letters that NFD does not decompose.
var ligatures = map[rune]string{
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe",
	'ø': "o", 'Ø': "o", 'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l",
	'þ': "th", 'Þ': "th", 'ð': "d", 'Ð': "d", 'ı': "i",
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' || r == '‘' }

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func firstRune(s string) rune {
	if s == "" {
		return utf8.RuneError
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// stopWords are dropped from word and bigram features: they occur in nearly
// every message, so they would make unrelated messages look alike. They get
// no character n-grams either (see extract).
var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		a an the and or but if then so than of to in on at by for with from
		into onto about as is are was were be been being am do does did done
		have has had i me my mine you your yours he him his she her hers it its
		we us our ours they them their theirs this that these those there here
		what which who whom whose when where why how not no nor can could will
		would shall should may might must just also very too s t ll d re ve m
		up out over all any some such own same only again once`) {
		m[w] = true
	}
	return m
}()
