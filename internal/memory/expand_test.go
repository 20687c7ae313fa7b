package memory_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
)

func TestQueryExpansionAddsWordNetWordsWhenItsTableIsThere(t *testing.T) {
	t.Parallel()
	db, err := wordnet.Parse("wordnet/testdata/dict")
	require.NoError(t, err)
	wn := db.Build(2, 8)
	kws := embed.Keywords("What is on the nobleman's signet?")
	require.Equal(t, []string{"nobleman", "signet"}, kws)

	t.Run("without any table the keywords are searched as they are", func(t *testing.T) {
		require.Nil(t, memory.NewExpand(3, nil, nil))
	})
	t.Run("with the WordNet table its words follow the keywords", func(t *testing.T) {
		require.Equal(t, []string{"nobleman", "signet", "noble", "aristocrat", "lord", "seal", "stamp"},
			memory.NewExpand(3, nil, wn)(kws))
	})
	t.Run("with the word vectors too, their neighbours come first and nothing twice", func(t *testing.T) {
		if os.Getenv(embed.WordVecTableEnv) == "" {
			t.Skip("WORDVEC_TABLE is unset: no word-vector table (go tool task wordvecs)")
		}
		wv, err := embed.DefaultWordVectors()
		require.NoError(t, err)
		vecsOnly := memory.NewExpand(3, wv, nil)(kws)
		both := memory.NewExpand(3, wv, wn)(kws)
		require.Equal(t, vecsOnly, both[:len(vecsOnly)])
		for _, w := range []string{"noble", "aristocrat", "lord", "seal", "stamp"} {
			require.Contains(t, both, w)
		}
		seen := map[string]bool{}
		for _, w := range both {
			require.False(t, seen[w], "%q twice in %v", w, both)
			seen[w] = true
		}
	})
}
