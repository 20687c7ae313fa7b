package dice

import (
	"errors"
	"testing"
)

// FuzzParse: any input either parses into a notation within the limits
// whose canonical form parses back to itself, or fails with ErrNotation.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1d20+3", "2d20kh1", "2d20kl1-2", "d6", "100d100", "1d7", "3d6 + 2", "", "1d20++"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrNotation) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrNotation", s, err)
			}
			return
		}
		if n.Count < 1 || n.Count > MaxCount || !ValidSides(n.Sides) || n.Modifier < -MaxModifier || n.Modifier > MaxModifier {
			t.Fatalf("Parse(%q) = %+v: outside the limits", s, n)
		}
		back, err := Parse(n.String())
		if err != nil || back != n {
			t.Fatalf("Parse(%q) = %+v; its canonical form %q reparses to %+v, %v", s, n, n.String(), back, err)
		}
	})
}
