package workers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// TaskObserver receives the outcome and duration of every task handled by
// this worker (Prometheus metrics; see internal/metrics). outcome is
// "succeeded", "retry" (failed, asynq will retry), "failed" (for good) or
// "waiting" (the turn waits for an earlier turn of its session; it looks
// again shortly).
type TaskObserver interface {
	TaskDone(taskType, queue, outcome string, d time.Duration)
}

// MaintenanceObserver receives what the background jobs did (Prometheus
// metrics; see internal/metrics): stuck turns the sweeper acted on
// (action "requeued" or "failed") and re-embed tasks running and the
// batches they finished, so an alert can tell a stalled job.
type MaintenanceObserver interface {
	TurnsSwept(action string, n int)
	ReembedStarted() (done func())
	ReembedProgressed()
}

// observe is the mux middleware (inside logContext) that logs each task's
// start and end at debug level — which process ran what, for operators
// and tests — and reports to Options.Observer.
func (s *Server) observe(h asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		began := time.Now()
		queue, _ := asynq.GetQueueName(ctx)
		log := logging.From(ctx)
		var p TurnPayload
		if json.Unmarshal(t.Payload(), &p) == nil && p.TurnID != uuid.Nil {
			log = log.With("turn_id", p.TurnID)
		}
		log.Debug("task started", "queue", queue)
		err := h.ProcessTask(ctx, t)
		outcome, d := taskOutcome(ctx, err), time.Since(began)
		log.Debug("task done", "queue", queue, "outcome", outcome, "duration_ms", float64(d.Microseconds())/1000)
		if s.opts.Observer != nil {
			s.opts.Observer.TaskDone(t.Type(), queue, outcome, d)
		}
		return err
	})
}

func taskOutcome(ctx context.Context, err error) string {
	if err == nil {
		return "succeeded"
	}
	if errors.Is(err, game.ErrAwaitTurn) {
		return "waiting"
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	if retried < maxRetry && !errors.Is(err, asynq.SkipRetry) {
		return "retry"
	}
	return "failed"
}

// taskLogger is the logger of a task outside its handler's context (the
// ErrorHandler gets asynq's own context): it names the task, and the turn
// when the payload has one, like the handler's lines do.
func (s *Server) taskLogger(ctx context.Context, t *asynq.Task) *slog.Logger {
	id, _ := asynq.GetTaskID(ctx)
	l := s.opts.Log.With("task_id", id, "task_type", t.Type())
	var p TurnPayload
	if json.Unmarshal(t.Payload(), &p) == nil && p.TurnID != uuid.Nil {
		l = l.With("turn_id", p.TurnID)
	}
	return l
}
