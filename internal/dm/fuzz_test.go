package dm

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNarrate feeds untrusted player text and remembered content to the
// narrator: it must not panic, must be deterministic, and must produce a
// single-spaced reply that streams back exactly.
func FuzzNarrate(f *testing.F) {
	f.Add("I attack the goblin with my shortsword", "The smith's daughter is Ysolde.", int64(1))
	f.Add("What was the name of the blacksmith's daughter?", `"My daughter? Her name is Ysolde."`, int64(2))
	f.Add("", "", int64(0))
	f.Add("I sneak {target} past {You}", "{quote} {Target}", int64(-5))
	f.Add("Ünïcödé ÉMILE attacks", "(Strength check: 1 + 2 = 3 vs DC 4 — failure)", int64(7))
	f.Fuzz(func(t *testing.T, player, remembered string, seed int64) {
		p := Prompt{Character: aria(), Player: player, Seed: seed}
		if remembered != "" {
			p.Memory = []Memory{{Role: RoleDM, Content: remembered}}
		}
		text := narrate(p)
		if text != narrate(p) {
			t.Fatal("not deterministic")
		}
		if text == "" || strings.Contains(text, "  ") || strings.TrimSpace(text) != text {
			t.Fatalf("badly spaced reply %q", text)
		}
		if utf8.ValidString(player) && utf8.ValidString(remembered) && !utf8.ValidString(text) {
			t.Fatalf("invalid UTF-8 from valid input: %q", text)
		}
	})
}
