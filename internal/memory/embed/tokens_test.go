package embed

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCountTokens(t *testing.T) {
	t.Parallel()
	t.Run("text without words counts nothing", func(t *testing.T) {
		for _, s := range []string{"", " ", "\n\t  "} {
			require.Zero(t, CountTokens(s), "%q", s)
		}
	})
	t.Run("prose counts one token per four characters", func(t *testing.T) {
		// 47 characters, 8 words: chars/4 → 12 beats words*4/3 → 11.
		require.Equal(t, 12, CountTokens("The blacksmith's daughter is named Ysolde, sir."))
		require.Equal(t, 1, CountTokens("hi"))
	})
	t.Run("many short words count by words", func(t *testing.T) {
		// 9 words in 17 characters: a BPE tokeniser spends a token on
		// each, chars/4 would say 5.
		require.Equal(t, 12, CountTokens("a b c d e f g h i"))
	})
	t.Run("characters are runes not bytes", func(t *testing.T) {
		require.Equal(t, CountTokens("cafe noel ok"), CountTokens("café noël ok"))
	})
	t.Run("grows linearly with the text", func(t *testing.T) {
		one := CountTokens("I search the ruined chapel for the silver key. ")
		many := CountTokens(strings.Repeat("I search the ruined chapel for the silver key. ", 100))
		require.InDelta(t, 100*one, many, float64(100))
	})
}
