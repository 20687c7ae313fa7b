package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory"
)

// TypeReembed recomputes every message's vector for a new embedding model.
const TypeReembed = "maintenance:reembed"

// Reembedder is what the re-embed task needs (implemented by *memory.Reembedder).
type Reembedder interface {
	Run(ctx context.Context, id uuid.UUID, attempt int, progress func(memory.ReembedJob)) error
	FailJob(ctx context.Context, id uuid.UUID, reason string) error
	Restartable(ctx context.Context, before time.Time, retryFailed bool) ([]memory.ReembedJob, error)
}

// ReembedPayload names the job and the attempt a task runs.
type ReembedPayload struct {
	JobID   uuid.UUID `json:"job_id"`
	Attempt int       `json:"attempt"`
}

// reembedStaleAfter is how long a running job may go without progress
// before its task counts as lost (a killed worker) and is enqueued again.
// A batch of a slow provider takes seconds, so minutes mean dead.
const reembedStaleAfter = 5 * time.Minute

// EnqueueReembed puts a job's task on the maintenance queue. The task id
// names the job and attempt: enqueueing twice does nothing, and asynqmon
// shows the task (with its progress as the task's result) under that id.
func EnqueueReembed(ctx context.Context, client *asynq.Client, j memory.ReembedJob) error {
	payload, err := json.Marshal(ReembedPayload{JobID: j.ID, Attempt: j.Attempts})
	if err != nil {
		return err
	}
	_, err = client.EnqueueContext(ctx, asynq.NewTask(TypeReembed, payload),
		asynq.TaskID(fmt.Sprintf("reembed:%s:%d", j.ID, j.Attempts)), asynq.Queue(QueueMaintenance),
		asynq.MaxRetry(20), asynq.Timeout(2*time.Hour), asynq.Retention(24*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

func (s *Server) reembed(ctx context.Context, t *asynq.Task) error {
	var p ReembedPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.JobID == uuid.Nil {
		return fmt.Errorf("payload: %v: %w", err, asynq.SkipRetry)
	}
	log := logging.From(ctx).With("job_id", p.JobID)
	last := time.Time{}
	if o := s.opts.Maintenance; o != nil {
		defer o.ReembedStarted()()
	}
	return s.opts.Reembed.Run(ctx, p.JobID, p.Attempt, func(j memory.ReembedJob) {
		if o := s.opts.Maintenance; o != nil {
			o.ReembedProgressed()
		}
		// asynqmon shows a task's result: progress lives there as well as
		// in game.reembed_jobs (GET /ops/reembed, `conquest reembed status`).
		if js, err := json.Marshal(map[string]any{"model": j.Model, "done": j.Done, "total": j.Total, "cursor_seq": j.CursorSeq,
			"progress": fmt.Sprintf("%.1f%%", 100*j.Progress())}); err == nil {
			_, _ = t.ResultWriter().Write(js)
		}
		if time.Since(last) > 5*time.Second {
			log.Info("re-embedding", "model", j.Model, "done", j.Done, "total", j.Total)
			last = time.Now()
		}
	})
}

// reembedFailed records a job whose task spent its retries; the next
// `conquest reembed start` or worker start-up resumes it from its cursor.
func (s *Server) reembedFailed(ctx context.Context, t *asynq.Task, err error) {
	var p ReembedPayload
	if json.Unmarshal(t.Payload(), &p) != nil || s.opts.Reembed == nil {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), game.FinalWriteTimeout)
	defer cancel()
	if ferr := s.opts.Reembed.FailJob(fctx, p.JobID, err.Error()); ferr != nil {
		logging.From(ctx).Error("could not mark re-embed job failed", "job_id", p.JobID, "err", ferr)
	}
}

// scheduleReembed re-enqueues re-embed jobs whose task was lost (its
// worker was killed and the task's retries or lease ran out), once a
// minute, until ctx ends.
func (s *Server) scheduleReembed(ctx context.Context) {
	if s.opts.Reembed == nil {
		return
	}
	periodically(ctx, time.Minute, func(now time.Time) {
		jobs, err := s.opts.Reembed.Restartable(ctx, now.Add(-reembedStaleAfter), false)
		if err != nil {
			s.opts.Log.Warn("could not look for stale re-embed jobs", "err", err)
			return
		}
		for _, j := range jobs {
			if err := EnqueueReembed(ctx, s.client, j); err != nil {
				s.opts.Log.Warn("could not re-enqueue re-embed job", "job_id", j.ID, "err", err)
			}
		}
	})
}
