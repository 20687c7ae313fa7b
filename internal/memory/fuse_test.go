package memory

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/game"
)

func results(source string, ids ...uuid.UUID) []game.MemoryResult {
	out := make([]game.MemoryResult, len(ids))
	for i, id := range ids {
		out[i] = game.MemoryResult{Message: game.Message{ID: id}, Source: source}
		if source == game.SourceVector {
			out[i].VectorScore = 0.5
		} else {
			out[i].KeywordScore = 2
		}
	}
	return out
}

func TestFuseRanksAgreementFirst(t *testing.T) {
	t.Parallel()
	a, b, c, d := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	got := Fuse(60, 1, results(game.SourceVector, a, b, c), 1, results(game.SourceKeyword, d, c))
	var order []uuid.UUID
	for _, r := range got {
		order = append(order, r.Message.ID)
	}
	require.Equal(t, []uuid.UUID{c, a, d, b}, order, "found by both beats first place in one; ties keep the vector order")
	require.Equal(t, game.SourceHybrid, got[0].Source)
	require.InDelta(t, 1.0/63+1.0/62, got[0].Score, 1e-12)
	require.Equal(t, 0.5, got[0].VectorScore)
	require.Equal(t, 2.0, got[0].KeywordScore)
	require.Equal(t, game.SourceVector, got[1].Source)
	require.Equal(t, game.SourceKeyword, got[2].Source)
}

func TestFuseWeightsAMethod(t *testing.T) {
	t.Parallel()
	a, d := uuid.New(), uuid.New()
	got := Fuse(60, 1, results(game.SourceVector, a), 2, results(game.SourceKeyword, d))
	require.Equal(t, d, got[0].Message.ID)
	require.InDelta(t, 2.0/61, got[0].Score, 1e-12)
}

func TestFuseOfNothingIsEmpty(t *testing.T) {
	t.Parallel()
	require.Empty(t, Fuse(60, 1, nil, 1, nil))
}

func TestRecencyPutsTheNewerOfNearTiesFirst(t *testing.T) {
	t.Parallel()
	at := func(seq int64, score float64) game.MemoryResult {
		return game.MemoryResult{Message: game.Message{ID: uuid.New(), Seq: seq}, Score: score}
	}
	t.Run("a correction fused just below its stale version comes first", func(t *testing.T) {
		stale, corrected, other := at(10, 0.0328), at(500, 0.0320), at(200, 0.0150)
		got := Recency(0.04, []game.MemoryResult{stale, corrected, other})
		require.Equal(t, corrected.Message.ID, got[0].Message.ID)
		require.Equal(t, stale.Message.ID, got[1].Message.ID)
	})
	t.Run("an old fact ranked clearly higher keeps its place", func(t *testing.T) {
		fact, recent := at(10, 0.0328), at(500, 0.0250)
		got := Recency(0.04, []game.MemoryResult{fact, recent})
		require.Equal(t, fact.Message.ID, got[0].Message.ID)
	})
	t.Run("weight 0 changes nothing", func(t *testing.T) {
		a, b := at(10, 0.0328), at(500, 0.0320)
		got := Recency(0, []game.MemoryResult{a, b})
		require.Equal(t, a.Message.ID, got[0].Message.ID)
	})
}
