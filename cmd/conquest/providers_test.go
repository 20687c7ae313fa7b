package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
)

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// Not parallel: it sets the tables' variables, and the word-vector table
// is loaded once per process (here: found missing).
func TestQueryExpansionTakesWhatTablesThereAre(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(embed.WordVecTableEnv, filepath.Join(dir, "missing", "wordvecs.bin"))
	cfg := &config.Config{}
	cfg.Game.EmbedProvider = "hash"
	cfg.Game.Providers.MemoryExpand = 3
	cfg.Game.Providers.MemoryExpandWordNet = true

	t.Run("without either table start-up goes on, saying so, and keywords are searched as they are", func(t *testing.T) {
		t.Setenv(wordnet.TableEnv, "")
		var logs bytes.Buffer
		require.NoError(t, checkWordVectors(cfg, slog.New(slog.NewTextHandler(&logs, nil))))
		require.Contains(t, logs.String(), "no word-vector table")
		require.Contains(t, logs.String(), "no WordNet table")
		s, err := newSearcher(cfg, nil, nil)
		require.NoError(t, err)
		require.Nil(t, s.Expand)
	})

	db, err := wordnet.Parse("../../internal/memory/wordnet/testdata/dict")
	require.NoError(t, err)
	table := filepath.Join(dir, wordnet.TableFile)
	require.NoError(t, db.Build(2, 8).Write(table))
	t.Setenv(wordnet.TableEnv, table)

	t.Run("with the WordNet table its words are added", func(t *testing.T) {
		require.NoError(t, checkWordVectors(cfg, slog.New(slog.DiscardHandler)))
		s, err := newSearcher(cfg, nil, nil)
		require.NoError(t, err)
		require.Equal(t, []string{"signet", "seal", "stamp"}, s.Expand([]string{"signet"}))
	})
	t.Run("MEMORY_EXPAND_WORDNET=false leaves them out", func(t *testing.T) {
		off := *cfg
		off.Game.Providers.MemoryExpandWordNet = false
		s, err := newSearcher(&off, nil, nil)
		require.NoError(t, err)
		require.Nil(t, s.Expand)
	})
	t.Run("a damaged table stops start-up", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.bin")
		require.NoError(t, writeFile(bad, "not a table"))
		t.Setenv(wordnet.TableEnv, bad)
		require.ErrorContains(t, checkWordVectors(cfg, slog.New(slog.DiscardHandler)), "MEMORY_EXPAND")
	})
}
