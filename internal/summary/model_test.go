package summary

import (
	"strings"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequest(t *testing.T) {
	t.Parallel()
	p := Request("Ana met Bram.", []Message{
		{Role: "player", Author: "Ana", Content: "I ask Bram\nabout the key."},
		{Role: "dm", Content: "Bram shrugs."},
		{Role: "system", Content: "Ana rolled 14."},
	}, 200)
	assert.Contains(t, p.System, "at most 150 words")
	assert.Equal(t, "Summary so far:\nAna met Bram.\n\nNew messages:\nAna: I ask Bram about the key.\nDM: Bram shrugs.\nGame note: Ana rolled 14.", p.Player)
	assert.Equal(t, 200, p.MaxTokens)
	assert.Contains(t, Request("", nil, 50).Player, "(none yet)")
}

func TestFit(t *testing.T) {
	t.Parallel()
	text := "Ana met Bram the smith.\n\n  Bram owes the guild forty crowns. He hid the key.\nThe Duke wants the map."
	t.Run("keeps everything that fits, without blank lines", func(t *testing.T) {
		assert.Equal(t, "Ana met Bram the smith.\nBram owes the guild forty crowns. He hid the key.\nThe Duke wants the map.", Fit(text, 1000, nil))
	})
	t.Run("never exceeds the budget, cutting at lines, sentences, then words", func(t *testing.T) {
		for budget := range 40 {
			got := Fit(text, budget, nil)
			require.LessOrEqual(t, embed.CountTokens(got), budget, "budget %d: %q", budget, got)
			if got != "" {
				assert.True(t, strings.HasPrefix(got, "Ana"), got)
			}
		}
		words := func(s string) int { return len(strings.Fields(s)) }
		assert.Equal(t, "Ana met Bram the smith.\nBram owes the guild forty crowns.", Fit(text, 11, words))
		assert.Equal(t, "Ana met …", Fit(text, 3, words))
	})
}
