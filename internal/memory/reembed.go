package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Re-embed job statuses.
const (
	JobRunning   = "running"
	JobCompleted = "completed"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
)

// ReembedJob recomputes every message's vector for a new model.
type ReembedJob struct {
	ID         uuid.UUID  `json:"id"`
	Model      string     `json:"model"`
	FromModel  *string    `json:"from_model,omitempty"`
	Status     string     `json:"status"`
	CursorSeq  int64      `json:"cursor_seq"`
	Done       int64      `json:"done"`
	Total      int64      `json:"total"`
	Attempts   int        `json:"attempts"`
	Error      *string    `json:"error,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Progress is Done/Total, 0..1.
func (j ReembedJob) Progress() float64 {
	if j.Total <= 0 {
		return 1
	}
	return min(1, float64(j.Done)/float64(j.Total))
}

// ReembedStatus is what operators see: the model registry and recent jobs.
type ReembedStatus struct {
	Models []EmbeddingModel `json:"models"`
	Jobs   []ReembedJob     `json:"jobs"`
}

// Reembedder runs re-embed jobs in batches.
type Reembedder struct {
	store  *Store
	models *Models
	batch  int
}

// NewReembedder returns a runner that embeds batch messages per step.
func NewReembedder(store *Store, models *Models, batch int) *Reembedder {
	if batch <= 0 {
		batch = 200
	}
	return &Reembedder{store: store, models: models, batch: batch}
}

// Status returns the registry and the last 20 jobs.
func (r *Reembedder) Status(ctx context.Context) (ReembedStatus, error) {
	models, err := r.store.EmbeddingModels(ctx)
	if err != nil {
		return ReembedStatus{}, err
	}
	jobs, err := r.store.recentJobs(ctx, 20)
	if err != nil {
		return ReembedStatus{}, err
	}
	if jobs == nil {
		jobs = []ReembedJob{}
	}
	return ReembedStatus{Models: models, Jobs: jobs}, nil
}

// Job returns a job by id.
func (r *Reembedder) Job(ctx context.Context, id uuid.UUID) (ReembedJob, error) {
	return r.store.job(ctx, id)
}

// Restartable returns running jobs not advanced since `before` (their task
// died), and failed jobs of a model still being built when retryFailed.
// Each is marked with one more attempt, which names its next task.
func (r *Reembedder) Restartable(ctx context.Context, before time.Time, retryFailed bool) ([]ReembedJob, error) {
	return r.store.restartable(ctx, before, retryFailed)
}

// FailJob records that a job's task gave up; `conquest reembed start`
// (or the next start-up) resumes it from its cursor.
func (r *Reembedder) FailJob(ctx context.Context, id uuid.UUID, reason string) error {
	return r.store.failJob(ctx, id, reason)
}

// Run works on a job until it completes, is cancelled, or ctx ends (the
// task's timeout or a shutdown: the cursor is saved after every batch, so
// the next run resumes there). progress is called after each batch.
//
// attempt is the job's attempt the caller was started for: when a stale
// job was restarted (Restartable) while an old run still lives, the old
// run sees the newer attempt and stops, so one job never has two runners
// for long.
func (r *Reembedder) Run(ctx context.Context, id uuid.UUID, attempt int, progress func(ReembedJob)) error {
	for {
		j, err := r.Job(ctx, id)
		if err != nil {
			return err
		}
		if j.Status != JobRunning || j.Attempts != attempt {
			return nil
		}
		n, err := r.step(ctx, j)
		if err != nil {
			return fmt.Errorf("reembed %s: %w", j.Model, err)
		}
		if n == 0 {
			return r.finish(ctx, j)
		}
		if progress != nil {
			if j, err := r.Job(ctx, id); err == nil {
				progress(j)
			}
		}
	}
}

// step embeds the next batch after the cursor and advances it in the same
// transaction as the vectors are written.
func (r *Reembedder) step(ctx context.Context, j ReembedJob) (int, error) {
	msgs, err := r.store.messagesAfter(ctx, j.CursorSeq, r.batch)
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	if err := r.embedInto(ctx, j, msgs, true); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

func (r *Reembedder) embedInto(ctx context.Context, j ReembedJob, msgs []message, advance bool) error {
	em, err := r.modelOf(ctx, j.Model)
	if err != nil {
		return err
	}
	e, err := r.models.Embedder(em)
	if err != nil {
		return err
	}
	texts := make([]string, len(msgs))
	for i, m := range msgs {
		texts[i] = m.Content
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		return err
	}
	rows := make([]game.VectorRow, len(msgs))
	for i, m := range msgs {
		rows[i] = game.VectorRow{MessageID: m.ID, SessionID: m.SessionID, Vector: vecs[i]}
	}
	return r.store.saveBatch(ctx, j, rows, msgs[len(msgs)-1].Seq, advance)
}

func (r *Reembedder) modelOf(ctx context.Context, model string) (EmbeddingModel, error) {
	all, err := r.store.EmbeddingModels(ctx)
	if err != nil {
		return EmbeddingModel{}, err
	}
	for _, m := range all {
		if m.Model == model {
			return m, nil
		}
	}
	return EmbeddingModel{}, fmt.Errorf("embedding model %q is not registered", model)
}

// finish fills in messages that still lack the new model's vector (written
// behind the cursor while the job ran, before their embed stage wrote both
// models), then switches the served model in one transaction and drops
// the old model's vectors and index.
func (r *Reembedder) finish(ctx context.Context, j ReembedJob) error {
	for {
		missing, err := r.store.messagesWithout(ctx, j.Model, r.batch)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			break
		}
		if err := r.embedInto(ctx, j, missing, false); err != nil {
			return err
		}
	}
	old, err := r.store.completeJob(ctx, j)
	if err != nil {
		return err
	}
	r.models.Forget()
	if old == nil {
		return nil
	}
	logging.From(ctx).Info("embedding model switched", "model", j.Model, "from", *old)
	// The old vectors are now dead weight. Served-model caches in other
	// processes may look at them for up to modelsTTL more; deleting in
	// batches after that keeps those reads working and transactions short.
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(modelsTTL * 2):
	}
	return r.store.dropModel(ctx, *old)
}
