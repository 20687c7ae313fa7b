package workers

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// StuckTurns is the domain side of the sweeper (implemented by
// *game.Pipeline): which turns stopped moving, and how a turn ends or is
// marked as looked after.
type StuckTurns interface {
	StuckTurns(ctx context.Context, before time.Time, limit int) ([]game.Turn, error)
	Fail(ctx context.Context, turnID uuid.UUID, code game.FailureCode, message string) error
	Touch(ctx context.Context, turnID uuid.UUID) error
}

// DueRounds closes the rounds past their time (implemented by
// *game.Pipeline) and returns the turns that answer them.
type DueRounds interface {
	CloseDueRounds(ctx context.Context, now time.Time, limit int) ([]uuid.UUID, error)
}

// Requeuer enqueues a stuck turn's stage again (implemented by *Client).
type Requeuer interface {
	Requeue(ctx context.Context, stage string, turnID uuid.UUID, episode string) (bool, error)
}

// Sweeper recovers turns stuck in a non-final stage (untouched for
// StuckAfter): it re-enqueues their current stage (task ids keep that
// idempotent) or, once a turn is older than Deadline, ends it failed.
type Sweeper struct {
	Turns      StuckTurns
	Queue      Requeuer
	StuckAfter time.Duration
	Deadline   time.Duration
	// Rounds, when set, are closed once past their time: no process has
	// to be awake when a round times out (docs/PARTY.md).
	Rounds DueRounds
	// Observer, when set, counts the turns requeued and failed.
	Observer MaintenanceObserver
}

// sweepBatch bounds the turns one sweep looks at; the next sweep takes the rest.
const sweepBatch = 500

// Sweep looks at the turns stuck as seen at now and returns how many it
// acted on.
func (w Sweeper) Sweep(ctx context.Context, now time.Time) (int, error) {
	if w.Rounds != nil {
		started, err := w.Rounds.CloseDueRounds(ctx, now, sweepBatch)
		for _, id := range started {
			// A missing task is enqueued; should this fail, the turn is
			// queued in Postgres and recovered as a stuck turn.
			if _, err := w.Queue.Requeue(ctx, game.StageEmbed, id, "round"); err != nil {
				logging.From(ctx).Warn("starting a round's turn failed; the sweeper retries", "turn_id", id, "err", err)
			}
		}
		if err != nil {
			return 0, err
		}
	}
	turns, err := w.Turns.StuckTurns(ctx, now.Add(-w.StuckAfter), sweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range turns {
		if t.CreatedAt.Before(now.Add(-w.Deadline)) {
			if err := w.Turns.Fail(ctx, t.ID, game.FailTimeout, "the turn did not finish in time"); err != nil {
				return n, err
			}
			w.swept("failed")
			n++
			continue
		}
		// The stage the turn waits for: its queued task is the one to
		// look for (a re-run of the stage before would redo its work and
		// hand on to a task id the first hand-on may have freed).
		stage := game.StageOfTurn(t)
		// The stage's own task may still hold its id (a dead worker's task
		// stays "active" until asynq's lease runs out, a minute or more),
		// so the recovery gets an id of its own: one per turn and stage,
		// so a live task caught running by the sweep (a turn that waited
		// past TURN_STUCK_AFTER in a backlog) gains at most one beside it,
		// not one per sweep.
		requeued, err := w.Queue.Requeue(ctx, stage, t.ID, "stuck")
		if err != nil {
			return n, err
		}
		if !requeued {
			// Its task is waiting in a backlog: not stuck, nothing to
			// write (touching it would add a write per waiting turn and
			// sweep exactly when the database is busiest).
			continue
		}
		if err := w.Turns.Touch(ctx, t.ID); err != nil {
			return n, err
		}
		logging.From(ctx).Info("sweeper re-enqueued a stuck turn", "turn_id", t.ID, "stage", stage)
		w.swept("requeued")
		n++
	}
	return n, nil
}

func (w Sweeper) swept(action string) {
	if w.Observer != nil {
		w.Observer.TurnsSwept(action, 1)
	}
}

// sweepTimeout bounds one sweep (its task's timeout); the sweep lock
// outlives it a little, so a sweep whose worker died frees it by itself.
const (
	sweepTimeout = time.Minute
	sweepLockTTL = sweepTimeout + 10*time.Second
	sweepLockKey = "brightdawn:sweep:running"
)

// SweepLock lets one sweep run at a time across all workers: each interval
// enqueues a sweep of its own, and a sweep slower than the interval (a
// large backlog, a slow database) would otherwise run beside the next
// ones, each on the same stuck turns, taking worker slots the turns need.
// It is one Redis key with a TTL (one key: fine on Redis Cluster).
type SweepLock struct {
	RDB redis.UniversalClient
	TTL time.Duration
}

// releaseSweepScript deletes the lock only if it is still the caller's (a
// sweep that outlived its TTL must not free the next sweep's lock).
var releaseSweepScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`)

// Run runs fn if no other sweep holds the lock, and reports whether it ran.
func (l SweepLock) Run(ctx context.Context, fn func(context.Context) error) (bool, error) {
	token := uuid.NewString()
	ok, err := l.RDB.SetNX(ctx, sweepLockKey, token, l.TTL).Result()
	if err != nil || !ok {
		return false, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = releaseSweepScript.Run(rctx, l.RDB, []string{sweepLockKey}, token).Err()
	}()
	return true, fn(ctx)
}

func (s *Server) sweep(ctx context.Context, _ *asynq.Task) error {
	ran, err := SweepLock{RDB: s.rdb, TTL: sweepLockTTL}.Run(ctx, s.sweepNow)
	if err == nil && !ran {
		logging.From(ctx).Debug("an earlier sweep is still running; this one is skipped")
	}
	return err
}

func (s *Server) sweepNow(ctx context.Context) error {
	w := Sweeper{Turns: s.pipeline, Rounds: s.pipeline, Queue: s.queue, StuckAfter: s.opts.StuckAfter, Deadline: s.opts.TurnDeadline, Observer: s.opts.Maintenance}
	n, err := w.Sweep(ctx, time.Now())
	if n > 0 {
		logging.From(ctx).Info("sweep done", "turns", n)
	}
	return err
}
