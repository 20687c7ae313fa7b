package embed

import (
	"context"
	"math"
	"testing"
)

// FuzzHashEmbed feeds untrusted message text to the hash embedder: every
// vector must be finite, unit length and deterministic.
func FuzzHashEmbed(f *testing.F) {
	f.Add("the blacksmith's daughter is named Ysolde")
	f.Add("")
	f.Add("?!…")
	f.Add("Ünïcödé façade — naïve, Straße, Ærøskøbing, 東京")
	f.Add("\xff\xfe invalid utf-8 '' ' s's")
	e := NewHashEmbedder(64)
	f.Fuzz(func(t *testing.T, text string) {
		vs, err := e.Embed(context.Background(), []string{text, text})
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for i, x := range vs[0] {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("component %d is %v", i, x)
			}
			if x != vs[1][i] {
				t.Fatal("not deterministic")
			}
			sum += float64(x) * float64(x)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("norm² %v", sum)
		}
		if n := CountTokens(text); n < 0 {
			t.Fatalf("CountTokens %d", n)
		}
	})
}
