package game_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/postgres"
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

// pausingModel freezes the database (pauses the proxy in front of it) and
// then fails with a permanent error: the turn's failure is the write that
// meets a database which stopped answering.
type pausingModel struct {
	proxy *testkit.Proxy
	calls int
}

func (m *pausingModel) Name() string { return "pausing" }
func (m *pausingModel) Stream(context.Context, dm.Prompt, func(string) error) (dm.Usage, error) {
	m.calls++
	if m.calls == 1 {
		m.proxy.Pause()
	}
	return dm.Usage{}, &dm.Error{Code: dm.CodeUnavailable, Message: "the pausing model is unavailable"}
}

// A final write (a turn's failure, written on a context without the
// task's cancellation) against a database that stops answering gives up at
// its own deadline instead of holding the worker forever; the task's retry
// writes it once the database answers again.
func TestAFinalWriteToAStuckDatabaseGivesUpAndIsRetried(t *testing.T) {
	b := newBundle(t)
	proxy := testkit.NewProxy(t, testkit.DatabaseAddr(t))
	pool, err := postgres.Open(context.Background(), testkit.DatabaseURLVia(t, proxy.Addr()), 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	store := game.NewStore(pool)
	model := &pausingModel{proxy: proxy}
	pipe := game.NewPipeline(store, b.rec, b.models, b.search, model,
		game.PipelineOptions{MemoryK: 8, RecentN: 4, FinalWriteTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	playerID, turn := b.newTurn(t, "I ring the bell.")
	for _, s := range []stage{pipe.Embed, pipe.Retrieve} {
		require.NoError(t, run(ctx, s, turn.ID))
	}

	// The first run's failure write hangs on the frozen database: the
	// stage must give up (an error, so the queue retries it), not hang.
	result := make(chan error, 1)
	go func() { result <- run(ctx, pipe.Generate, turn.ID) }()
	select {
	case err := <-result:
		require.Error(t, err, "the write gave up; the task is retried")
	case <-time.After(60 * time.Second):
		proxy.Resume()
		t.Fatal("the final write hung on a database that stopped answering")
	}
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusGenerating, got.Status, "nothing was written")

	// The database answers again; the retry writes the failure.
	proxy.Resume()
	require.NoError(t, run(ctx, pipe.Generate, turn.ID))
	got, err = b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusFailed, got.Status)
	require.Equal(t, game.FailModelUnavailable, got.Error.Code)
	require.Equal(t, 2, model.calls, "the retry ran the model again")
	require.Equal(t, 1, b.rec.count(game.EventTurnFailed, turn.ID.String()))
}
