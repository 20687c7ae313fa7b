// Package dice parses dice notation and rolls verifiable dice: every die of
// a turn is derived from the turn's secret seed with HMAC-SHA256, so once
// the seed is revealed anyone can recompute it (docs/DICE.md).
package dice

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of the notation (API.md "Dice and rules").
const (
	MaxCount    = 100  // dice in one roll
	MaxModifier = 1000 // |K| in NdM+K
	maxLen      = 32   // characters of a notation, before parsing
)

// Keep says which dice of a roll count toward its total.
type Keep uint8

const (
	KeepAll     Keep = iota // every die: NdM
	KeepHighest             // 2d20kh1: advantage
	KeepLowest              // 2d20kl1: disadvantage
)

// Notation is a parsed roll: Count dice with Sides faces, plus Modifier.
type Notation struct {
	Count    int
	Sides    int
	Modifier int
	Keep     Keep
}

// ErrNotation is wrapped by every parse error, so callers can map it to a
// 400 with errors.Is; the message names the problem.
var ErrNotation = errors.New("invalid dice notation")

func notationErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrNotation, fmt.Sprintf(format, a...))
}

// ValidSides reports whether a die with that many faces exists here:
// 2, 3, 4, 6, 8, 10, 12, 20 or 100.
func ValidSides(sides int) bool {
	switch sides {
	case 2, 3, 4, 6, 8, 10, 12, 20, 100:
		return true
	}
	return false
}

// Parse reads NdM[+|-K], 2d20kh1 (advantage) or 2d20kl1 (disadvantage),
// with an optional modifier after the keep. N may be omitted ("d20" is
// 1d20); letters are case-insensitive and spaces are ignored.
func Parse(s string) (Notation, error) {
	if len(s) > maxLen {
		return Notation{}, notationErr("longer than %d characters", maxLen)
	}
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	if s == "" {
		return Notation{}, notationErr("empty; expected something like 1d20+3")
	}
	var n Notation
	i := 0
	count, i, ok := digits(s, i)
	switch {
	case !ok:
		n.Count = 1
	case count < 1:
		return Notation{}, notationErr("the number of dice must be at least 1")
	case count > MaxCount:
		return Notation{}, notationErr("at most %d dice, not %d", MaxCount, count)
	default:
		n.Count = count
	}
	if i >= len(s) || s[i] != 'd' {
		return Notation{}, notationErr("%q: expected NdM, for example 1d20+3", s)
	}
	i++
	sides, i, ok := digits(s, i)
	if !ok {
		return Notation{}, notationErr("%q: the number of sides is missing after d", s)
	}
	if !ValidSides(sides) {
		return Notation{}, notationErr("a d%d does not exist; sides must be 2, 3, 4, 6, 8, 10, 12, 20 or 100", sides)
	}
	n.Sides = sides
	if strings.HasPrefix(s[i:], "kh") || strings.HasPrefix(s[i:], "kl") {
		keep := KeepHighest
		if s[i+1] == 'l' {
			keep = KeepLowest
		}
		i += 2
		k, j, ok := digits(s, i)
		if !ok || k != 1 || n.Count != 2 || n.Sides != 20 {
			return Notation{}, notationErr("%q: keeping dice is only for advantage (2d20kh1) and disadvantage (2d20kl1)", s)
		}
		i = j
		n.Keep = keep
	}
	if i < len(s) {
		sign := s[i]
		if sign != '+' && sign != '-' {
			return Notation{}, notationErr("%q: unexpected %q; a modifier is +K or -K", s, s[i:])
		}
		k, j, ok := digits(s, i+1)
		if !ok {
			return Notation{}, notationErr("%q: the modifier after %c is missing", s, sign)
		}
		if j != len(s) {
			return Notation{}, notationErr("%q: unexpected %q after the modifier", s, s[j:])
		}
		if k > MaxModifier {
			return Notation{}, notationErr("the modifier must be between -%d and +%d", MaxModifier, MaxModifier)
		}
		if sign == '-' {
			k = -k
		}
		n.Modifier = k
	}
	return n, nil
}

// digits reads a decimal number of at most 6 digits at s[i:]; ok is false
// when there is no digit. Longer numbers are read as a value too large for
// any limit, so they fail the limit checks rather than overflowing.
func digits(s string, i int) (v, next int, ok bool) {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, i, false
	}
	if j-i > 6 {
		return 1 << 30, j, true
	}
	v, _ = strconv.Atoi(s[i:j])
	return v, j, true
}

// MustParse is Parse for notations written in code; it panics on error.
func MustParse(s string) Notation {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

// String is the canonical form: 1d20+3, 2d20kh1-1, 3d6.
func (n Notation) String() string {
	b := make([]byte, 0, 16)
	b = strconv.AppendInt(b, int64(n.Count), 10)
	b = append(b, 'd')
	b = strconv.AppendInt(b, int64(n.Sides), 10)
	switch n.Keep {
	case KeepHighest:
		b = append(b, "kh1"...)
	case KeepLowest:
		b = append(b, "kl1"...)
	}
	if n.Modifier > 0 {
		b = append(b, '+')
	}
	if n.Modifier != 0 {
		b = strconv.AppendInt(b, int64(n.Modifier), 10)
	}
	return string(b)
}

// WithModifier returns n with k added to its modifier.
func (n Notation) WithModifier(k int) Notation {
	n.Modifier += k
	return n
}
