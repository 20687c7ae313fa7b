package game

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func results(source string, ids ...uuid.UUID) []MemoryResult {
	out := make([]MemoryResult, len(ids))
	for i, id := range ids {
		out[i] = MemoryResult{Message: Message{ID: id}, Source: source}
		if source == SourceVector {
			out[i].VectorScore = 0.5
		} else {
			out[i].KeywordScore = 2
		}
	}
	return out
}

func TestFuseRanksAgreementFirst(t *testing.T) {
	a, b, c, d := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	got := Fuse(60, 1, results(SourceVector, a, b, c), 1, results(SourceKeyword, d, c))
	var order []uuid.UUID
	for _, r := range got {
		order = append(order, r.Message.ID)
	}
	require.Equal(t, []uuid.UUID{c, a, d, b}, order, "found by both beats first place in one; ties keep the vector order")
	require.Equal(t, SourceHybrid, got[0].Source)
	require.InDelta(t, 1.0/63+1.0/62, got[0].Score, 1e-12)
	require.Equal(t, 0.5, got[0].VectorScore)
	require.Equal(t, 2.0, got[0].KeywordScore)
	require.Equal(t, SourceVector, got[1].Source)
	require.Equal(t, SourceKeyword, got[2].Source)
}

func TestFuseWeightsAMethod(t *testing.T) {
	a, d := uuid.New(), uuid.New()
	got := Fuse(60, 1, results(SourceVector, a), 2, results(SourceKeyword, d))
	require.Equal(t, d, got[0].Message.ID)
	require.InDelta(t, 2.0/61, got[0].Score, 1e-12)
}

func TestFuseOfNothingIsEmpty(t *testing.T) {
	require.Empty(t, Fuse(60, 1, nil, 1, nil))
}
