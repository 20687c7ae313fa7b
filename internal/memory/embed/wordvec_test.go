package embed

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// needWordVectors skips a test in -short mode when WORDVEC_TABLE is unset
// and fails it otherwise: the table is built by `go tool task wordvecs` or
// by the test stack (`go run ./cmd/stack test`), which exports the variable.
func needWordVectors(t *testing.T) {
	t.Helper()
	if os.Getenv(WordVecTableEnv) != "" {
		return
	}
	if testing.Short() {
		t.Skip("WORDVEC_TABLE is unset: no word-vector table (go tool task wordvecs)")
	}
	t.Fatal("WORDVEC_TABLE is unset: build the table with `go tool task wordvecs` and set WORDVEC_TABLE to its absolute path, or run the tests under `go run ./cmd/stack test`")
}

func TestWordVecEmbedder(t *testing.T) {
	t.Parallel()
	needWordVectors(t)
	e, err := NewWordVecEmbedder()
	require.NoError(t, err)
	require.Equal(t, "wordvec:glove-100-sif", e.Model())
	require.Equal(t, 100, e.Dim())
	vs, err := e.Embed(context.Background(), []string{
		"What did the old sailor lose?",
		"The fisherman's anchor went down in the storm.",
		"The duchess is secretly allergic to honey.",
		"", "Ysolde", "Ysolde!",
	})
	require.NoError(t, err)
	for _, v := range vs {
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		require.InDelta(t, 1, math.Sqrt(n), 1e-4, "every vector is a unit vector")
	}
	t.Run("a paraphrase sharing no word is nearer than an unrelated fact", func(t *testing.T) {
		require.Greater(t, cosine(vs[0], vs[1]), cosine(vs[0], vs[2]))
	})
	t.Run("an unknown name matches itself", func(t *testing.T) {
		require.InDelta(t, 1, cosine(vs[4], vs[5]), 1e-6)
	})
	t.Log(cosine(vs[0], vs[1]), cosine(vs[0], vs[2]))
}

func TestNeighbours(t *testing.T) {
	t.Parallel()
	needWordVectors(t)
	wv, err := DefaultWordVectors()
	require.NoError(t, err)
	for _, w := range []string{"sailor", "healer", "shop", "wizard", "password", "knight", "ysolde"} {
		t.Log(w, wv.Neighbours(w, 4, 0.6))
	}
	require.Contains(t, wv.Neighbours("sailor", 10, 0.5), "sailors")
	require.Empty(t, wv.Neighbours("ysolde", 4, 0.5), "an unknown word has no neighbours")
}

func TestAMissingTableSaysHowToBuildIt(t *testing.T) {
	t.Parallel()
	_, err := LoadWordVectors(t.TempDir() + "/wordvecs.bin")
	require.ErrorIs(t, err, ErrNoWordVectors)
	require.ErrorContains(t, err, "go tool task wordvecs")
}
