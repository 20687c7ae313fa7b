package wordnet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestATableBuiltFromTheDatabaseExpandsKeywordsAfterARoundTrip(t *testing.T) {
	t.Parallel()
	db, err := Parse("testdata/dict")
	require.NoError(t, err)
	built := db.Build(2, 8)
	path := filepath.Join(t.TempDir(), TableFile)
	require.NoError(t, built.Write(path))
	table, err := Load(path)
	require.NoError(t, err)
	require.Equal(t, 2, table.Senses)
	require.Equal(t, 8, table.Per)
	require.Equal(t, 8, table.Len(), "every lemma that can be a keyword")

	for _, tb := range []*Table{built, table} {
		require.Equal(t, []string{
			"nobleman", "signets", "mice", "hello",
			"noble", "aristocrat", "lord", // synonym, hypernym (not "blue_blood"), hyponym
			"signet", "seal", "stamp", // the lemma of an inflected keyword, then its hypernym's words
			"mouse", // an irregular form's lemma
		}, tb.Expand([]string{"nobleman", "signets", "mice", "hello"}))
	}

	t.Run("the same database gives the same bytes", func(t *testing.T) {
		var a, b bytes.Buffer
		_, err := built.WriteTo(&a)
		require.NoError(t, err)
		_, err = table.WriteTo(&b)
		require.NoError(t, err)
		require.Equal(t, a.Bytes(), b.Bytes())
	})
	t.Run("at most Per words per keyword, none twice", func(t *testing.T) {
		require.Equal(t, []string{"nobleman", "lord", "noble"}, db.Build(2, 1).Expand([]string{"nobleman", "lord"}))
	})
	t.Run("a damaged table is an error", func(t *testing.T) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, cut := range []int{3, len(magic) + 3, len(b) / 2, len(b) - 1} {
			_, err := ParseTable(b[:cut])
			require.Error(t, err, "cut at %d", cut)
		}
		_, err = ParseTable(append(b, 0))
		require.Error(t, err)
	})
}

func TestAMissingTableSaysHowToBuildIt(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), TableFile))
	require.ErrorIs(t, err, ErrNoTable)
	require.ErrorContains(t, err, "go tool task wordvecs")
	_, err = Parse(t.TempDir())
	require.Error(t, err, "a directory without the database")
}

func TestTheTableIsBesideTheWordVectorsUnlessSet(t *testing.T) {
	t.Setenv(TableEnv, "")
	require.Equal(t, filepath.Join("data", "vecs", TableFile), TablePath(filepath.Join("data", "vecs", "wordvecs.bin")))
	t.Setenv(TableEnv, "/elsewhere/wn.bin")
	require.Equal(t, "/elsewhere/wn.bin", TablePath("data/vecs/wordvecs.bin"))
}
