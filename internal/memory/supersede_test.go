package memory

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// ranked builds fused results, best first, from (turn, text) pairs.
func ranked(msgs ...game.Message) []game.MemoryResult {
	out := make([]game.MemoryResult, len(msgs))
	for i, m := range msgs {
		m.ID = uuid.New()
		out[i] = game.MemoryResult{Message: m, Score: 1 / float64(60+i+1)}
	}
	return out
}

func contents(rs []game.MemoryResult) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Message.Content)
	}
	return out
}

func TestSupersedeRanksTheCorrectionAboveItsStaleVersion(t *testing.T) {
	t.Parallel()
	stale := game.Message{Seq: 40, Content: "Rain drums on the roofs of the docks. Captain Varro commands the city watch."}
	unique := game.Message{Seq: 10, Content: "The old hermit whispers that the dragon sleeps beneath Mount Korran."}
	chatter := game.Message{Seq: 500, Content: "I ask the captain what they know about the market."}
	newer := game.Message{Seq: 420, Content: "The road to the inn is quiet. Captain Varro was dismissed; Mirelle now commands the city watch."}
	q := embed.Keywords("Who commands the city watch?")

	got := Supersede(0.3, 32, q, ranked(stale, unique, chatter, newer))
	require.Equal(t, []string{newer.Content, unique.Content, chatter.Content, stale.Content}, contents(got),
		"the correction takes the stale statement's place; the unique fact and the chatter keep theirs")
}

func TestSupersedeKeepsAUniqueOldFactFirst(t *testing.T) {
	t.Parallel()
	fact := game.Message{Seq: 12, Content: "You find a lantern near the well. The password to the vault under the temple is 'silver moon'."}
	later := []game.Message{
		{Seq: 300, Content: "I walk to the vault and look around."},
		{Seq: 420, Content: "Nothing stirs at the temple. Somewhere a dog barks, and a guard hurries past with a key."},
		{Seq: 510, Content: "I ask the mayor's daughter what they know about the vault."},
	}
	q := embed.Keywords("What is the vault password?")

	got := Supersede(0.3, 32, q, ranked(append([]game.Message{fact}, later...)...))
	require.Equal(t, fact.Content, got[0].Message.Content, "later messages that merely mention the vault do not restate the fact")
}

func TestSupersedeOffLeavesTheOrder(t *testing.T) {
	t.Parallel()
	rs := ranked(game.Message{Seq: 1, Content: "The toll on the king's road is one copper."},
		game.Message{Seq: 9, Content: "The toll on the king's road has been raised to five coppers."})
	want := contents(rs)
	require.Equal(t, want, contents(Supersede(0, 32, embed.Keywords("How much is the toll?"), rs)))
	require.Equal(t, want, contents(Supersede(0.3, 32, nil, rs)), "no question terms: nothing to compare")
}

func TestSupersedeComparesAnswerSentences(t *testing.T) {
	t.Parallel()
	st := stemmer{}
	q := st.set(embed.Keywords("What is the innkeeper's cat called?"))
	old := st.answerSentence("A cold wind blows through the market. The innkeeper's cat is named Whiskers.", q)
	newer := st.answerSentence("Whiskers died; the innkeeper's new cat is named Soot.", q)
	require.True(t, old["whisker"] && old["cat"] && !old["wind"], "the sentence about the cat, not the narration: %v", old)
	require.True(t, newer["soot"] && newer["die"], "a semicolon does not end the statement: %v", newer)
	df := map[string]int{"whisker": 2, "cat": 3, "innkeep": 9, "name": 4}
	require.InDelta(t, 4.0/7, overlap(old, newer, df), 1e-9, "cat, innkeeper, named, Whiskers of 7 words")
	require.Zero(t, overlap(old, st.set(embed.Keywords("The cat sleeps by the fire at the inn.")), df),
		"sharing only words many messages use is no restatement")
}

// BenchmarkSupersede is the rule's cost on a full window: 32 candidates of
// a narration sentence and a statement each.
func BenchmarkSupersede(b *testing.B) {
	var msgs []game.Message
	for i := range 32 {
		msgs = append(msgs, game.Message{Seq: int64(i * 7 % 32), Content: "Rain drums on the roofs of the market. The innkeeper mutters about the weather and the price of a lantern. " +
			[]string{"Captain Varro commands the city watch.", "I ask the captain what they know about the docks.", "The toll on the king's road is one copper."}[i%3]})
	}
	q := embed.Keywords("Who commands the city watch?")
	for b.Loop() {
		Supersede(0.25, 32, q, ranked(msgs...))
	}
}
