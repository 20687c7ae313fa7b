package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Options configure a worker process.
type Options struct {
	Concurrency       int
	Queues            []string // empty = all
	TaskCheckInterval time.Duration
	ShutdownTimeout   time.Duration
	SweepInterval     time.Duration
	StuckAfter        time.Duration
	TurnDeadline      time.Duration
	Log               *slog.Logger
	// Observer receives the outcome and duration of every task (nil: none).
	Observer TaskObserver
	// Maintenance receives what the sweeper and re-embed tasks did (nil: none).
	Maintenance MaintenanceObserver

	// Assets, when set, gets a periodic cleanup of stale uploads.
	Assets               AssetCleaner
	AssetCleanupInterval time.Duration
	// StorageReady reports whether the object store has answered yet (nil:
	// always); the asset cleanup waits for it rather than fail at start-up.
	StorageReady func() bool

	// Reembed, when set, runs re-embed jobs (a changed embedding model).
	Reembed Reembedder
	// Exports, when set, writes session exports (exports.go).
	Exports ExportRunner
	// Summaries, when set, keeps sessions' rolling summaries (summary.go).
	Summaries SummaryRunner
}

// Server is an asynq server with the turn handlers.
type Server struct {
	srv      *asynq.Server
	mux      *asynq.ServeMux
	client   *asynq.Client
	queue    *Client
	rdb      redis.UniversalClient
	queues   []string
	wake     chan struct{} // wake-ups for the asynq server (wake.go)
	pipeline *game.Pipeline
	opts     Options
}

// NewServer builds a worker on rdb; queue enqueues what each stage hands on.
func NewServer(rdb redis.UniversalClient, queue *Client, pipeline *game.Pipeline, opts Options) (*Server, error) {
	queues := map[string]int{}
	if len(opts.Queues) == 0 {
		queues = QueueWeights
	}
	for _, q := range opts.Queues {
		q = strings.TrimSpace(q)
		w, ok := QueueWeights[q]
		if !ok {
			return nil, fmt.Errorf("config: WORKER_QUEUES/--queues: unknown queue %q (known: generate, retrieve, embed, embed_low, maintenance)", q)
		}
		queues[q] = w
	}
	s := &Server{client: queue.client, queue: queue, rdb: rdb, wake: make(chan struct{}, 1), pipeline: pipeline, opts: opts, mux: asynq.NewServeMux()}
	for q := range queues {
		s.queues = append(s.queues, q)
	}
	s.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              opts.Concurrency,
		Queues:                   queues,
		TaskCheckInterval:        opts.TaskCheckInterval,
		Wake:                     s.wake,
		DelayedTaskCheckInterval: time.Second,
		ShutdownTimeout:          opts.ShutdownTimeout,
		RetryDelayFunc:           retryDelay,
		IsFailure:                isFailure,
		Logger:                   asynqLogger{opts.Log},
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler:             asynq.ErrorHandlerFunc(s.onError),
	})
	s.mux.Use(s.logContext, s.observe)
	s.mux.HandleFunc(TypeEmbed, s.turn(pipeline.Embed))
	s.mux.HandleFunc(TypeRetrieve, s.turn(pipeline.Retrieve))
	s.mux.HandleFunc(TypeGenerate, s.turn(pipeline.Generate))
	if opts.Summaries != nil {
		s.mux.HandleFunc(TypeEmbedDM, s.summarizeAfter(s.turn(pipeline.EmbedReply)))
		s.mux.HandleFunc(TypeSummary, s.summary)
	} else {
		s.mux.HandleFunc(TypeEmbedDM, s.turn(pipeline.EmbedReply))
	}
	s.mux.HandleFunc(TypeSweep, s.sweep)
	if opts.Exports != nil {
		s.mux.HandleFunc(TypeExport, s.export)
	}
	s.mux.HandleFunc(TypeSessionEmbed, s.embedSession)
	if opts.Assets != nil {
		s.mux.HandleFunc(TypeAssetCleanup, s.cleanupAssets)
	}
	if opts.Reembed != nil {
		s.mux.HandleFunc(TypeReembed, s.reembed)
	}
	return s, nil
}

// Run serves tasks until ctx ends, then shuts down gracefully: running
// tasks get ShutdownTimeout to finish, the rest go back to their queues.
func (s *Server) Run(ctx context.Context) error {
	wakeCtx, stopWake := context.WithCancel(ctx)
	defer stopWake()
	go listenWake(wakeCtx, s.rdb, s.queues, s.wake, s.opts.Log)
	if err := s.srv.Start(s.mux); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	s.opts.Log.Info("worker started", "concurrency", s.opts.Concurrency, "queues", s.opts.Queues)
	go s.scheduleAssetCleanup(ctx)
	go s.scheduleReembed(ctx)
	periodically(ctx, s.opts.SweepInterval, func(now time.Time) { s.enqueueSweep(ctx, now) })
	s.opts.Log.Info("worker shutting down")
	s.srv.Shutdown()
	return nil
}

// enqueueSweep schedules one sweep per interval across all workers: the
// task id names the interval, so only the first worker's enqueue wins. A
// sweep still running when the next comes due makes that one a no-op
// (SweepLock, sweep.go).
func (s *Server) enqueueSweep(ctx context.Context, now time.Time) {
	slot := now.Truncate(s.opts.SweepInterval).Unix()
	_, err := s.client.EnqueueContext(ctx, asynq.NewTask(TypeSweep, nil),
		asynq.TaskID(fmt.Sprintf("sweep:%d", slot)), asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(0), asynq.Timeout(sweepTimeout), asynq.Retention(2*s.opts.SweepInterval))
	switch {
	case err == nil:
		wake(ctx, s.rdb, QueueMaintenance)
	case !errors.Is(err, asynq.ErrTaskIDConflict):
		s.opts.Log.Warn("could not enqueue sweep", "err", err)
	}
}

// turn adapts a pipeline stage to an asynq handler: it runs the stage and
// enqueues the stage it hands the turn on to. A failed enqueue fails the
// task, whose retry runs the stage again (a no-op apart from handing on:
// stages are idempotent) — except for the reply's embedding, which is
// low priority and never worth failing a completed turn's task for.
func (s *Server) turn(stage func(context.Context, uuid.UUID) (string, error)) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p TurnPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("payload: %v: %w", err, asynq.SkipRetry)
		}
		ctx = logging.With(ctx, "turn_id", p.TurnID)
		next, err := stage(ctx, p.TurnID)
		if errors.Is(err, game.ErrAwaitTurn) {
			// An earlier turn of the session is being answered: the
			// stage's own task runs again after awaitDelay, under its id,
			// as a retry that is no failure (isFailure). Any other task of
			// the stage (a recovery's, a hand-on's) hands the wait to that
			// one and ends. So a waiting turn has one task, which the
			// sweeper finds (Requeue) — a new task each look was invisible
			// to it, and each sweep of a turn waiting in a backlog started
			// another chain of looks beside the first.
			stage := stageOfType(t.Type())
			if id, _ := asynq.GetTaskID(ctx); id != TaskID(stage, p.TurnID) {
				return s.queue.Await(ctx, stage, p.TurnID, retryDelay(0, err, t))
			}
			return err
		}
		if err != nil || next == "" {
			return err
		}
		if t.Type() == TypeGenerate {
			s.handOnAwaiting(ctx, p.TurnID)
		}
		if err := s.queue.Enqueue(ctx, next, p.TurnID); err != nil {
			if next == game.StageEmbedDM {
				logging.From(ctx).Warn("enqueue of reply embedding failed", "err", err)
				return nil
			}
			return err
		}
		return nil
	}
}

// handOnAwaiting starts the retrieval of the session's next turn that
// waits for the one just answered; a failure only costs it AwaitTurnDelay.
func (s *Server) handOnAwaiting(ctx context.Context, turnID uuid.UUID) {
	next, ok, err := s.pipeline.NextAwaiting(ctx, turnID)
	if err == nil && ok {
		err = s.queue.RunNow(ctx, game.StageRetrieve, next)
	}
	if err != nil {
		logging.From(ctx).Warn("handing on the next turn failed; it looks again shortly", "err", err)
	}
}

// onError ends the turn `failed` once a stage's retries are spent.
func (s *Server) onError(ctx context.Context, t *asynq.Task, err error) {
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	ctx = logging.Into(ctx, s.taskLogger(ctx, t))
	log := logging.From(ctx)
	if errors.Is(err, game.ErrAwaitTurn) {
		if retried >= maxRetry {
			// Its earlier failures spent its retries, so asynq archives
			// it rather than look again: a task of its own looks again.
			if err := s.queue.Later(ctx, stageOfType(t.Type()), payloadTurn(t), AwaitTurnDelay); err != nil {
				log.Warn("a waiting turn could not look again; the sweeper will", "err", err)
			}
		}
		return
	}
	if retried < maxRetry && !errors.Is(err, asynq.SkipRetry) {
		log.Warn("task failed; will retry", "type", t.Type(), "retried", retried, "err", err)
		return
	}
	log.Error("task failed for good", "type", t.Type(), "err", err)
	if t.Type() == TypeReembed {
		s.reembedFailed(ctx, t, err)
		return
	}
	var p TurnPayload
	code, msg, ok := game.StageFailed(stageOfType(t.Type()))
	if !ok || json.Unmarshal(t.Payload(), &p) != nil {
		return
	}
	// The task's context may be done (its timeout is what failed it): the
	// final write gets a context of its own, bounded, so a database that
	// stops answering cannot hold the worker's error handler forever.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), game.FinalWriteTimeout)
	defer cancel()
	if ferr := s.pipeline.Fail(fctx, p.TurnID, code, msg); ferr != nil {
		log.Error("could not mark turn failed; the sweeper will end it", "err", ferr)
	}
}

// stageOfType is the turn stage a task type runs ("" for other tasks).
func stageOfType(typ string) string {
	for stage, spec := range stages {
		if spec.Type == typ {
			return stage
		}
	}
	return ""
}

func (s *Server) logContext(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		ctx = logging.Into(ctx, s.opts.Log.With("task_id", id, "task_type", t.Type()))
		return h.ProcessTask(ctx, t)
	})
}

// payloadTurn is the turn of a turn stage's task (uuid.Nil if none).
func payloadTurn(t *asynq.Task) uuid.UUID {
	var p TurnPayload
	_ = json.Unmarshal(t.Payload(), &p)
	return p.TurnID
}

// isFailure: a turn waiting for an earlier turn of its session is retried
// without spending a retry.
func isFailure(err error) bool { return err != nil && !errors.Is(err, game.ErrAwaitTurn) }

// retryDelay backs off exponentially from 200 ms, capped at 30 s: turn
// stages are interactive, so the first retries come fast. A waiting turn
// looks again after awaitDelay.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	var await *game.AwaitTurnError
	if errors.As(err, &await) {
		return awaitDelay(await.Ahead)
	}
	d := 200 * time.Millisecond << min(n, 8)
	return min(d, 30*time.Second)
}

type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
