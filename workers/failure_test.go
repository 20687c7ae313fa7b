package workers_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/workers"
)

// brokenModel fails every call with an error that is not the model's
// permanent *dm.Error (a bug, a lost connection): the stage is retried.
type brokenModel struct{}

func (brokenModel) Name() string { return "broken" }
func (brokenModel) Stream(context.Context, dm.Prompt, func(string) error) (dm.Usage, error) {
	return dm.Usage{}, errors.New("connection reset")
}

// A stage that keeps failing is retried, and once its retries are spent
// the worker's error handler ends the turn failed as "<stage>_failed",
// through the real asynq server, Redis and Postgres.
func TestAStageThatSpendsItsRetriesFailsTheTurnAsStageFailed(t *testing.T) {
	// Database 13: the black-box tests' conquest workers, running at the
	// same time on REDIS_URL's database, would otherwise answer this turn.
	w := startWorker(t, testkit.PrivateRedis(t, 13), brokenModel{}, 2)
	ctx, svc, rec := context.Background(), w.svc, w.rec

	playerID := uuid.New()
	s, err := svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Failing stage"})
	require.NoError(t, err)
	_, turn, err := svc.PostMessage(ctx, playerID, s.ID, "I knock on the door.", "")
	require.NoError(t, err)

	// The generate task's 3 retries back off 0.2+0.4+0.8 s.
	var got game.Turn
	require.Eventually(t, func() bool {
		got, err = svc.GetTurn(ctx, playerID, turn.ID)
		return err == nil && game.Final(got.Status)
	}, 60*time.Second, 100*time.Millisecond, "the turn ends")
	require.Equal(t, game.StatusFailed, got.Status)
	require.NotNil(t, got.Error)
	require.Equal(t, game.FailureCode("generate_failed"), got.Error.Code)
	require.Equal(t, "the generate stage failed after retries", got.Error.Message)
	require.Equal(t, 4, got.Attempts, "generation ran once and was retried 3 times")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Equal(t, []uuid.UUID{turn.ID}, rec.failed, "one turn.failed event")
}

// turnWorker is a real asynq worker serving the turn stages, with the
// game service and pipeline it runs on.
type turnWorker struct {
	svc   *game.Service
	pipe  *game.Pipeline
	queue *workers.Client
	insp  *asynq.Inspector
	rec   *queueRecorder
	rdb   redis.UniversalClient
}

// startWorker starts a worker of concurrency slots on rdb (a private
// database: see PrivateRedis) answering with model, stopped at the test's
// end. Its own sweeper stays idle: tests sweep when they mean to.
func startWorker(t *testing.T, rdb redis.UniversalClient, model dm.Model, concurrency int) turnWorker {
	t.Helper()
	d := newDomain(t)
	w := turnWorker{rec: &queueRecorder{}, insp: asynq.NewInspectorFromRedisClient(rdb), rdb: rdb}
	ac := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { ac.Close() })
	w.queue = workers.NewClient(ac, w.insp, rdb)
	w.svc = game.NewService(d.store, w.queue, w.rec, d.emb, d.search)
	w.pipe = game.NewPipeline(d.store, w.rec, d.models, d.search, model, game.PipelineOptions{MemoryK: 4, RecentN: 4})
	srv, err := workers.NewServer(rdb, w.queue, w.pipe, workers.Options{
		Concurrency: concurrency, TaskCheckInterval: 100 * time.Millisecond, ShutdownTimeout: time.Second,
		SweepInterval: time.Hour, StuckAfter: time.Hour, TurnDeadline: time.Hour,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return w
}
