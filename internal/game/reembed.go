package game

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/postgres"
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

const jobCols = `id, model, from_model, status, cursor_seq, done, total, attempts, error, created_at, updated_at, finished_at`

func scanJob(row pgx.Row) (ReembedJob, error) {
	var j ReembedJob
	err := row.Scan(&j.ID, &j.Model, &j.FromModel, &j.Status, &j.CursorSeq, &j.Done, &j.Total, &j.Attempts, &j.Error, &j.CreatedAt, &j.UpdatedAt, &j.FinishedAt)
	return j, err
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
	rows, err := r.store.pool.Query(ctx, `SELECT `+jobCols+` FROM game.reembed_jobs ORDER BY created_at DESC LIMIT 20`)
	if err != nil {
		return ReembedStatus{}, postgres.Translate(err, "reembed jobs")
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReembedJob, error) { return scanJob(r) })
	if err != nil {
		return ReembedStatus{}, postgres.Translate(err, "reembed jobs")
	}
	if jobs == nil {
		jobs = []ReembedJob{}
	}
	return ReembedStatus{Models: models, Jobs: jobs}, nil
}

// Job returns a job by id.
func (r *Reembedder) Job(ctx context.Context, id uuid.UUID) (ReembedJob, error) {
	j, err := scanJob(r.store.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM game.reembed_jobs WHERE id = $1`, id))
	return j, postgres.Translate(err, "reembed job")
}

// Restartable returns running jobs not advanced since `before` (their task
// died), and failed jobs of a model still being built when retryFailed.
// Each is marked with one more attempt, which names its next task.
func (r *Reembedder) Restartable(ctx context.Context, before time.Time, retryFailed bool) ([]ReembedJob, error) {
	rows, err := r.store.pool.Query(ctx, `UPDATE game.reembed_jobs j SET attempts = attempts + 1, status = 'running',
			error = NULL, finished_at = NULL, updated_at = now()
		WHERE (j.status = 'running' AND j.updated_at < $1)
		   OR ($2 AND j.status = 'failed' AND EXISTS (SELECT 1 FROM game.embedding_models m WHERE m.model = j.model AND m.status = 'building')
		       AND NOT EXISTS (SELECT 1 FROM game.reembed_jobs o WHERE o.model = j.model AND o.status = 'running'))
		RETURNING `+jobCols, before, retryFailed)
	if err != nil {
		return nil, postgres.Translate(err, "reembed jobs")
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReembedJob, error) { return scanJob(r) })
	return jobs, postgres.Translate(err, "reembed jobs")
}

// FailJob records that a job's task gave up; `conquest reembed start`
// (or the next start-up) resumes it from its cursor.
func (r *Reembedder) FailJob(ctx context.Context, id uuid.UUID, reason string) error {
	_, err := r.store.pool.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'failed', error = $2, updated_at = now(), finished_at = now()
		WHERE id = $1 AND status = 'running'`, id, reason)
	return postgres.Translate(err, "reembed job")
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
	msgs, err := collectMessages(r.store.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages
		WHERE seq > $1 ORDER BY seq LIMIT $2`, j.CursorSeq, r.batch))
	if err != nil || len(msgs) == 0 {
		return 0, err
	}
	if err := r.embedInto(ctx, j, msgs, true); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

func (r *Reembedder) embedInto(ctx context.Context, j ReembedJob, msgs []Message, advance bool) error {
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
	rows := make([]VectorRow, len(msgs))
	for i, m := range msgs {
		rows[i] = VectorRow{MessageID: m.ID, SessionID: m.SessionID, Vector: vecs[i]}
	}
	err = r.store.Tx(ctx, func(q querier) error {
		if err := r.store.SetEmbeddings(ctx, q, j.Model, rows); err != nil {
			return err
		}
		if !advance {
			_, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET done = done + $2, updated_at = now() WHERE id = $1`, j.ID, len(msgs))
			return err
		}
		_, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET cursor_seq = greatest(cursor_seq, $2), done = done + $3,
			total = greatest(total, done + $3), updated_at = now() WHERE id = $1 AND status = 'running'`, j.ID, msgs[len(msgs)-1].Seq, len(msgs))
		return err
	})
	return postgres.Translate(err, "reembed")
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
		missing, err := collectMessages(r.store.pool.Query(ctx, `SELECT `+messageCols+` FROM game.messages m
			WHERE NOT EXISTS (SELECT 1 FROM game.message_embeddings e WHERE e.model = $1 AND e.message_id = m.id)
			ORDER BY seq LIMIT $2`, j.Model, r.batch))
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
	var old *string
	err := r.store.Tx(ctx, func(q querier) error {
		tag, err := q.Exec(ctx, `UPDATE game.reembed_jobs SET status = 'completed', finished_at = now(), updated_at = now()
			WHERE id = $1 AND status = 'running'`, j.ID)
		if err != nil || tag.RowsAffected() == 0 {
			return err // cancelled meanwhile: switch nothing
		}
		if err := q.QueryRow(ctx, `UPDATE game.embedding_models SET status = 'retired', retired_at = now()
			WHERE status = 'active' AND model <> $1 RETURNING model`, j.Model).Scan(&old); err != nil && err != pgx.ErrNoRows {
			return err
		}
		_, err = q.Exec(ctx, `UPDATE game.embedding_models SET status = 'active', activated_at = now() WHERE model = $1`, j.Model)
		return err
	})
	if err != nil {
		return postgres.Translate(err, "reembed")
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
	for {
		tag, err := r.store.pool.Exec(ctx, `DELETE FROM game.message_embeddings WHERE model = $1 AND message_id IN
			(SELECT message_id FROM game.message_embeddings WHERE model = $1 LIMIT 5000)`, *old)
		if err != nil {
			return postgres.Translate(err, "reembed cleanup")
		}
		if tag.RowsAffected() == 0 {
			break
		}
	}
	return postgres.Translate(dropModelIndex(ctx, r.store.pool, *old), "reembed cleanup")
}
