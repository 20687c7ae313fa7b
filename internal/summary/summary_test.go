package summary

import (
	"fmt"
	"strings"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// session is 120 messages of ordinary play with three facts planted in it.
func session() []Message {
	chatter := []Message{
		{Role: "player", Author: "Ana", Content: "I look around the room."},
		{Role: "dm", Content: "The room is quiet. *The wind howls outside.* You see nothing unusual."},
		{Role: "player", Author: "Ana", Content: "Okay, I wait for a bit and listen."},
		{Role: "dm", Content: "Time passes. The fire crackles and the night grows colder."},
	}
	var out []Message
	for i := range 30 {
		out = append(out, chatter...)
		switch i {
		case 5:
			out = append(out, Message{Role: "dm", Content: "Hm. Ysolde hid the silver key under the old mill wheel. She says nothing more."})
		case 14:
			out = append(out, Message{Role: "player", Author: "Ana", Content: "Fine. I promise the Duke of Harrow 300 gold crowns for the map."})
		case 25:
			out = append(out, Message{Role: "dm", Content: "Bram the smith was poisoned by Captain Vell at the Iron Gate."})
		}
	}
	return out
}

var facts = []string{
	"DM: Ysolde hid the silver key under the old mill wheel.",
	"Ana: I promise the Duke of Harrow 300 gold crowns for the map.",
	"DM: Bram the smith was poisoned by Captain Vell at the Iron Gate.",
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	t.Run("keeps the planted facts, attributed, within budget", func(t *testing.T) {
		for _, budget := range []int{60, 120, 300} {
			got := Summarize("", session(), Options{MaxTokens: budget})
			assert.LessOrEqual(t, embed.CountTokens(got), budget)
			for _, f := range facts {
				assert.Contains(t, got, f, "budget %d:\n%s", budget, got)
			}
		}
	})
	t.Run("says each thing once however often it was said", func(t *testing.T) {
		got := Summarize("", session(), Options{MaxTokens: 300})
		assert.Equal(t, 1, strings.Count(got, "The fire crackles and the night grows colder."), got)
	})
	t.Run("keeps story order", func(t *testing.T) {
		got := Summarize("", session(), Options{MaxTokens: 120})
		a, b, c := strings.Index(got, "Ysolde"), strings.Index(got, "Harrow"), strings.Index(got, "Vell")
		assert.True(t, a < b && b < c, got)
	})
	t.Run("rolls: the previous summary's facts survive new chatter", func(t *testing.T) {
		first := Summarize("", session()[:40], Options{MaxTokens: 60})
		require.Contains(t, first, facts[0])
		var more []Message
		for range 20 {
			more = append(more, Message{Role: "dm", Content: "Rain drums on the roof of the inn all evening."}, Message{Role: "player", Author: "Ana", Content: "I order another drink."})
		}
		second := Summarize(first, more, Options{MaxTokens: 60})
		assert.Contains(t, second, facts[0])
		assert.LessOrEqual(t, embed.CountTokens(second), 60)
	})
	t.Run("is deterministic", func(t *testing.T) {
		a := Summarize("Earlier: Ana met Bram.", session(), Options{MaxTokens: 100})
		for range 5 {
			assert.Equal(t, a, Summarize("Earlier: Ana met Bram.", session(), Options{MaxTokens: 100}))
		}
	})
	t.Run("uses the given estimator", func(t *testing.T) {
		words := func(s string) int { return len(strings.Fields(s)) }
		got := Summarize("", session(), Options{MaxTokens: 40, Count: words})
		assert.LessOrEqual(t, words(got), 40)
		assert.NotEmpty(t, got)
	})
	t.Run("never exceeds a tiny budget", func(t *testing.T) {
		for budget := range 12 {
			got := Summarize("", session(), Options{MaxTokens: budget})
			assert.LessOrEqual(t, embed.CountTokens(got), budget, "budget %d: %q", budget, got)
		}
	})
	t.Run("is empty for nothing to summarise", func(t *testing.T) {
		assert.Empty(t, Summarize("", nil, Options{MaxTokens: 100}))
		assert.Empty(t, Summarize("", []Message{{Role: "dm", Content: "…"}}, Options{MaxTokens: 100}))
	})
}

func TestSplitSentences(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"One. Two! Three?", []string{"One.", "Two!", "Three?"}},
		{"*nods* Fine.\nNext line", []string{"nods Fine.", "Next line"}},
		{`"Stop!" she cries. 3.5 gold.`, []string{"Stop!", "she cries.", "3.5 gold."}},
		{"...", nil},
		{strings.Repeat("word ", 100), []string{strings.TrimSpace(strings.Repeat("word ", maxSentence)) + " …"}},
	} {
		assert.Equal(t, tc.want, splitSentences(tc.in), "%q", tc.in)
	}
}

func BenchmarkSummarize300(b *testing.B) {
	var msgs []Message
	for i := range 150 {
		msgs = append(msgs,
			Message{Role: "player", Author: "Ana", Content: fmt.Sprintf("I ask about the road to town %d. Then I check my pack.", i)},
			Message{Role: "dm", Content: fmt.Sprintf("The guard %d points north. Captain Vell watches you from the wall. It is raining.", i)})
	}
	for b.Loop() {
		Summarize("", msgs, Options{MaxTokens: 400})
	}
}
