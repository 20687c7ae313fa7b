package game_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
)

// failingModel is a DM whose every call ends in one permanent error.
type failingModel struct{ code string }

func (m failingModel) Name() string { return "failing" }
func (m failingModel) Stream(context.Context, dm.Prompt, func(string) error) (dm.Usage, error) {
	return dm.Usage{}, &dm.Error{Code: m.code, Message: "the failing model failed"}
}

func TestAModelErrorFailsTheTurnWithItsCode(t *testing.T) {
	for _, code := range []game.FailureCode{game.FailModelUnavailable, game.FailModelRateLimited, game.FailModelTimeout, game.FailModelError} {
		t.Run(string(code), func(t *testing.T) {
			b := newBundle(t)
			pipe := game.NewPipeline(b.store, b.rec, b.models, b.search, failingModel{string(code)}, game.PipelineOptions{MemoryK: 8, RecentN: 4})
			ctx := context.Background()
			playerID, turn := b.newTurn(t, "I ask the oracle.")
			for _, s := range []stage{pipe.Embed, pipe.Retrieve} {
				require.NoError(t, run(ctx, s, turn.ID))
			}
			next, err := pipe.Generate(ctx, turn.ID)
			require.NoError(t, err, "a permanent error is not retried")
			require.Empty(t, next)
			got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
			require.NoError(t, err)
			require.Equal(t, game.StatusFailed, got.Status)
			require.Equal(t, code, got.Error.Code)
			require.Equal(t, "the failing model failed", got.Error.Message)
			require.Equal(t, 1, b.rec.count(game.EventTurnFailed, turn.ID.String()))
		})
	}
}

func TestAPlayerMessageOverThePromptBudgetFailsAsPromptTooLong(t *testing.T) {
	b := newBundle(t)
	pipe := game.NewPipeline(b.store, b.rec, b.models, b.search, dm.NewOffline(dm.OfflineOptions{}), game.PipelineOptions{MemoryK: 8, RecentN: 4, PromptBudget: 20})
	ctx := context.Background()
	playerID, turn := b.newTurn(t, strings.Repeat("I walk very slowly along the endless corridor. ", 20))
	require.NoError(t, run(ctx, pipe.Embed, turn.ID))
	next, err := pipe.Retrieve(ctx, turn.ID)
	require.NoError(t, err)
	require.Empty(t, next, "the turn goes no further")
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusFailed, got.Status)
	require.Equal(t, game.FailPromptTooLong, got.Error.Code)
}

func TestStageFailedNamesTheStage(t *testing.T) {
	for stage, want := range map[string]game.FailureCode{game.StageEmbed: "embed_failed", game.StageRetrieve: "retrieve_failed", game.StageGenerate: "generate_failed"} {
		code, msg, ok := game.StageFailed(stage)
		require.True(t, ok, stage)
		require.Equal(t, want, code)
		require.Equal(t, "the "+stage+" stage failed after retries", msg)
	}
	_, _, ok := game.StageFailed(game.StageEmbedDM)
	require.False(t, ok, "a reply's embedding never fails its turn")
}

// The list is the API's: every code is documented, and documented once.
func TestEveryFailureCodeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/TURN_ERRORS.md")
	require.NoError(t, err)
	seen := map[game.FailureCode]bool{}
	for _, c := range game.FailureCodes {
		require.False(t, seen[c], "%s listed twice", c)
		seen[c] = true
		require.Equal(t, 1, strings.Count(string(doc), "| `"+string(c)+"` |"), "docs/TURN_ERRORS.md has one row for %s", c)
	}
	for _, c := range []string{dm.CodeUnavailable, dm.CodeRateLimited, dm.CodeTimeout, dm.CodeError, dm.CodePromptTooLong} {
		require.True(t, seen[game.FailureCode(c)], "the model's code %s is a turn failure code", c)
	}
}
