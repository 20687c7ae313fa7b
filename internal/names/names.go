// Package names holds the one check every name-like field shares
// (character name and class, session title, display name, asset filename,
// inventory items and conditions): a name a player sees must show what it is.
package names

import (
	"errors"
	"unicode"
)

// Why a name is refused. The messages read after the field's name
// ("name must not contain …"), so callers can wrap them as they are.
var (
	ErrBidi      = errors.New("must not contain bidirectional control characters")
	ErrControl   = errors.New("must not contain control characters")
	ErrInvisible = errors.New("must contain a visible character")
)

// Check refuses bidirectional controls (U+202A–U+202E, U+2066–U+2069 and
// the marks U+200E, U+200F, U+061C), which make a name display as another
// ("gpj.exe" shown as "exe.jpg"); control characters, including the line
// and paragraph separators; and names made only of spaces, format
// characters (zero-width space, joiners, BOM) and the Hangul fillers that
// render blank. Emptiness, length and UTF-8 validity are the caller's: their
// limits differ per field.
func Check(s string) error {
	visible := false
	for _, r := range s {
		switch {
		case IsBidiControl(r):
			return ErrBidi
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return ErrControl
		case unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r) && !isBlankFiller(r):
			visible = true
		}
	}
	if !visible {
		return ErrInvisible
	}
	return nil
}

// IsBidiControl reports a bidirectional embedding, override, isolate or mark.
func IsBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

// isBlankFiller reports letters that render as nothing (Hangul fillers),
// a known way to make an "empty" name that Unicode calls a letter.
func isBlankFiller(r rune) bool {
	return r == 0x3164 || r == 0x115F || r == 0x1160 || r == 0xFFA0
}
