package embed

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func embedOne(t testing.TB, e Embedder, text string) []float32 {
	t.Helper()
	vs, err := e.Embed(context.Background(), []string{text})
	require.NoError(t, err)
	require.Len(t, vs, 1)
	return vs[0]
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func norm2(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestHashEmbedderDescribesItself(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(DefaultDim)
	require.Equal(t, "hash-384", e.Model())
	require.Equal(t, 384, e.Dim())
	require.Equal(t, "hash-64", NewHashEmbedder(64).Model())
	require.Panics(t, func() { NewHashEmbedder(0) })
}

func TestHashEmbedderIsDeterministic(t *testing.T) {
	t.Parallel()
	text := "The blacksmith's daughter is named Ysolde; she forges blades in Émberfall."
	a := embedOne(t, NewHashEmbedder(DefaultDim), text)
	b := embedOne(t, NewHashEmbedder(DefaultDim), text)
	require.Equal(t, a, b, "two embedders must agree")

	// Pinned values: a change here changes every stored vector, which
	// needs a new model name and a re-embed, not just a test update.
	for i, want := range pinned {
		require.InDelta(t, want, a[i], 1e-6, "bucket %d", i)
	}
}

// pinned holds the largest components of the determinism test's vector.
var pinned = map[int]float32{176: 0.26763758, 278: 0.2632902, 80: 0.21028669, 96: -0.19116971}

func TestHashEmbedderReturnsUnitVectors(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(DefaultDim)
	for _, text := range []string{
		"a",
		"Hello, traveller.",
		"I draw my sword and attack the goblin chieftain before he can raise the alarm!",
		"Ünïcödé façade — naïve coöperation, Straße, Ærøskøbing",
		"42",
	} {
		require.InDelta(t, 1.0, norm2(embedOne(t, e, text)), 1e-5, text)
	}
}

func TestHashEmbedderGivesFeaturelessTextANonZeroVector(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(16)
	for _, text := range []string{"", "   ", "?!… —", "\n\t"} {
		v := embedOne(t, e, text)
		want := make([]float32, 16)
		want[0] = 1
		require.Equal(t, want, v, "%q", text)
	}
}

func TestHashEmbedderFindsATextMostSimilarToItself(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(DefaultDim)
	texts := append([]string{ysoldeFact, ysoldeQuestion}, unrelated...)
	vs, err := e.Embed(context.Background(), texts)
	require.NoError(t, err)
	for i := range vs {
		for j := range vs {
			if i != j {
				require.Greater(t, cosine(vs[i], vs[i]), cosine(vs[i], vs[j]), "%q vs %q", texts[i], texts[j])
			}
		}
	}
}

const (
	ysoldeFact     = "the blacksmith's daughter is named Ysolde"
	ysoldeQuestion = "what was the name of the blacksmith's daughter?"
)

var unrelated = []string{
	"I draw my sword and attack the goblin at the gate.",
	"We travel north along the river road toward the mountains.",
	"The innkeeper pours another mug of ale and wipes the counter.",
	"A cold wind howls through the ruined tower as night falls.",
	"I cast a fireball at the band of orcs in the clearing.",
}

func TestHashEmbedderRanksAParaphraseAboveUnrelatedSentences(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(DefaultDim)
	fact := embedOne(t, e, ysoldeFact)
	question := embedOne(t, e, ysoldeQuestion)
	target := cosine(fact, question)
	for _, u := range unrelated {
		require.Greater(t, target, cosine(embedOne(t, e, u), question), u)
	}
}

func TestHashEmbedderRetrievesPlantedFacts(t *testing.T) {
	t.Parallel()
	facts := []struct{ fact, question string }{
		{ysoldeFact, ysoldeQuestion},
		{"The old hermit said the dragon sleeps beneath Mount Korran.", "Where does the dragon sleep?"},
		{"Captain Varro owes the thieves' guild three hundred gold crowns.", "How much money does the captain owe to the guild?"},
		{"The password to the vault is 'silver moon'.", "what's the vault password again?"},
		{"You find a rusted iron key hidden inside the boot of the dead soldier.", "Where did I find the iron key?"},
		{"Ysolde gave you an amulet carved with a raven, a gift from her mother.", "who gave me the raven amulet?"},
		{"The innkeeper Bram warns you never to drink from the black well.", "What did Bram warn us about?"},
		{"The bridge over the Silverrun collapsed during the storm last spring.", "what happened to the bridge on the silverrun river?"},
		{"Lord Aldric's seal is a golden stag on a field of green.", "describe aldric's heraldry, the stag seal"},
		{"The wizard Melchior lives in the crooked tower by the marsh.", "where did melchiors tower stand"},
		{"We defeated the goblins of Grimfang cave and took their treasure.", "the grimfang goblins — did we beat them?"},
		{"The merchants travel to Port Selwyn every tenth day to sell spices.", "when do the merchants go to port selwyn?"},
	}
	// Distractors share words with the questions on purpose.
	docs := append([]string(nil), unrelated...)
	docs = append(docs,
		"What do you do next? The guards are watching the door.",
		"I ask the old man what he was doing in the forest at night.",
		"The blacksmith hammers at the anvil, sparks flying everywhere.",
		"Where is the nearest town? I need to buy supplies and a new horse.",
		"You search the room and find nothing of value but dust and cobwebs.",
		"The daughter of the mayor smiles at you from across the square.",
		"What was that noise? Something moved behind the barrels.",
		"I want to rest at the inn and heal my wounds before we go on.",
		"The dragon's roar shakes the valley, and the villagers flee in terror.",
		"I sneak past the guards and pick the lock on the vault door.",
	)
	for _, f := range facts {
		docs = append(docs, f.fact)
	}
	e := NewHashEmbedder(DefaultDim)
	vs, err := e.Embed(context.Background(), docs)
	require.NoError(t, err)
	for _, f := range facts {
		q := embedOne(t, e, f.question)
		best, bestScore := -1, -2.0
		for i, v := range vs {
			if s := cosine(q, v); s > bestScore {
				best, bestScore = i, s
			}
		}
		require.Equal(t, f.fact, docs[best], "question %q", f.question)
	}
}

func TestHashEmbedderIgnoresCaseAndPunctuation(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(DefaultDim)
	for _, pair := range [][2]string{
		{"The Blacksmith’s Daughter is named YSOLDE!", "the blacksmith's daughter, is named ysolde"},
		{"\"Hello,\" said the old man... (quietly)", "hello said the old man quietly"},
		{"Café Noël", "cafe noel"},
		{"Straße", "strasse"},
	} {
		require.Equal(t, embedOne(t, e, pair[0]), embedOne(t, e, pair[1]), "%q vs %q", pair[0], pair[1])
	}
}

func TestHashEmbedderStopsWhenTheContextIsCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	vs, err := NewHashEmbedder(DefaultDim).Embed(ctx, []string{"one", "two"})
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, vs)
}

func TestHashEmbedderEmbedsABatchInOrder(t *testing.T) {
	t.Parallel()
	e := NewHashEmbedder(DefaultDim)
	vs, err := e.Embed(context.Background(), []string{"first", "second"})
	require.NoError(t, err)
	require.Equal(t, embedOne(t, e, "first"), vs[0])
	require.Equal(t, embedOne(t, e, "second"), vs[1])

	vs, err = e.Embed(context.Background(), nil)
	require.NoError(t, err)
	require.Empty(t, vs)
}

func TestWordsFoldsTextIntoFeatures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"The blacksmith's daughter", "the blacksmith daughter"},
		{"don't STOP", "dont stop"},
		{"'quoted' words’", "quoted words"},
		{"Ysolde's.", "ysolde"},
		{"naïve Émile", "naive emile"},
		{"co-operate, 3rd-level", "co operate 3rd level"},
		{"  ", ""},
	} {
		got := words(tc.in)
		require.Equal(t, tc.want, joinSpace(got), tc.in)
	}
}

func joinSpace(ws []string) string {
	s := ""
	for i, w := range ws {
		if i > 0 {
			s += " "
		}
		s += w
	}
	return s
}

// BenchmarkHashEmbed embeds one message of about 60 words, a typical turn.
func BenchmarkHashEmbed(b *testing.B) {
	const msg = "I creep along the mossy wall toward the old mill, keeping low so the " +
		"guards on the bridge cannot see me. When I reach the door I listen for voices, " +
		"then try the handle. If it is locked I will use my thieves' tools; the blacksmith's " +
		"daughter Ysolde told us the miller keeps the ledger hidden under the floorboards " +
		"beside the hearth, and I mean to find it before dawn."
	e := NewHashEmbedder(DefaultDim)
	ctx := context.Background()
	texts := []string{msg}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
}
