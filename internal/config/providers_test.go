package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWordVecEmbedderConfig(t *testing.T) {
	t.Parallel()
	check := func(model string, dim int, recency float64, expand int) []string {
		g := Game{EmbedProvider: "wordvec", EmbedModel: model, EmbedDim: dim, DMProvider: "offline",
			Providers: Providers{EmbedSendDimensions: "auto", EmbedBatchSize: 64, ReembedBatchSize: 200, HNSWEfSearch: 100, HNSWExactMax: 50000, HNSWMaxScanTuples: 20000,
				MemoryRecencyWeight: recency, MemoryExpand: expand}}
		var bad []string
		g.validateProviders(func(name, format string, args ...any) {
			if strings.HasPrefix(name, "EMBED_") || strings.HasPrefix(name, "MEMORY_") { // the settings under test
				bad = append(bad, name+": "+fmt.Sprintf(format, args...))
			}
		})
		return bad
	}
	t.Run("the two word-vector models are accepted at their dimensions", func(t *testing.T) {
		require.Empty(t, check("glove-100-sif", 100, 0.04, 3))
		require.Empty(t, check("glove-100-sif+hash-384-v2", 484, 0, 0))
	})
	t.Run("a wrong model or dimension is refused, naming EMBED_MODEL", func(t *testing.T) {
		for _, tc := range []struct {
			model string
			dim   int
		}{{"glove-100-sif", 384}, {"glove-300", 300}, {"glove-100-sif+hash-384-v2", 100}} {
			bad := check(tc.model, tc.dim, 0.04, 3)
			require.Len(t, bad, 1, "%v", tc)
			require.Contains(t, bad[0], "EMBED_MODEL")
		}
	})
	t.Run("memory ranking settings out of range are refused", func(t *testing.T) {
		require.Contains(t, check("glove-100-sif", 100, -0.1, 3)[0], "MEMORY_RECENCY_WEIGHT")
		require.Contains(t, check("glove-100-sif", 100, 2, 3)[0], "MEMORY_RECENCY_WEIGHT")
		require.Contains(t, check("glove-100-sif", 100, 0.04, 11)[0], "MEMORY_EXPAND")
		g := Game{EmbedProvider: "hash", EmbedModel: "hash-384-v2", EmbedDim: 384, DMProvider: "offline",
			Providers: Providers{EmbedSendDimensions: "auto", EmbedBatchSize: 64, ReembedBatchSize: 200, HNSWEfSearch: 100, MemorySupersedeOverlap: 1.5}}
		var bad []string
		g.validateProviders(func(name, _ string, _ ...any) { bad = append(bad, name) })
		require.Contains(t, bad, "MEMORY_SUPERSEDE_OVERLAP")
	})
}

func TestHNSWSearchSettingsOutOfRangeAreRefused(t *testing.T) {
	t.Parallel()
	check := func(exactMax, scanTuples int) []string {
		g := Game{EmbedProvider: "hash", EmbedModel: "hash-384-v2", EmbedDim: 384, DMProvider: "offline",
			Providers: Providers{EmbedSendDimensions: "auto", EmbedBatchSize: 64, ReembedBatchSize: 200, HNSWEfSearch: 100,
				HNSWExactMax: exactMax, HNSWMaxScanTuples: scanTuples}}
		var bad []string
		g.validateProviders(func(name, format string, args ...any) {
			if strings.HasPrefix(name, "HNSW_") {
				bad = append(bad, name)
			}
		})
		return bad
	}
	require.Empty(t, check(2000, 20000))
	require.Empty(t, check(0, 100))
	require.Equal(t, []string{"HNSW_EXACT_MAX"}, check(-1, 20000))
	require.Equal(t, []string{"HNSW_MAX_SCAN_TUPLES"}, check(2000, 10))
}
