// Package workers runs Bright Dawn's asynq tasks: the embed → retrieve →
// generate stages of a turn, the low-priority embedding of DM replies and
// the sweeper that recovers stuck turns.
package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// Task types, one per stage.
const (
	TypeEmbed    = "turn:embed"
	TypeRetrieve = "turn:retrieve"
	TypeGenerate = "turn:generate"
	TypeEmbedDM  = "turn:embed_dm"
	TypeSweep    = "maintenance:sweep"
)

// Queues and their weights: a turn in generation is served before new
// turns start, and reply embeddings only when the rest is idle-ish.
const (
	QueueGenerate    = "generate"
	QueueRetrieve    = "retrieve"
	QueueEmbed       = "embed"
	QueueEmbedLow    = "embed_low"
	QueueMaintenance = "maintenance"
)

// QueueWeights are the asynq priorities of the queues.
var QueueWeights = map[string]int{
	QueueGenerate:    6,
	QueueRetrieve:    5,
	QueueEmbed:       4,
	QueueEmbedLow:    1,
	QueueMaintenance: 1,
}

// TurnPayload is the typed payload of every turn stage.
type TurnPayload struct {
	TurnID uuid.UUID `json:"turn_id"`
}

// stageSpec is how one stage is enqueued.
type stageSpec struct {
	Type     string
	Queue    string
	Timeout  time.Duration
	MaxRetry int
}

var stages = map[string]stageSpec{
	game.StageEmbed:    {TypeEmbed, QueueEmbed, 30 * time.Second, 5},
	game.StageRetrieve: {TypeRetrieve, QueueRetrieve, 30 * time.Second, 5},
	game.StageGenerate: {TypeGenerate, QueueGenerate, 5 * time.Minute, 3},
	game.StageEmbedDM:  {TypeEmbedDM, QueueEmbedLow, time.Minute, 5},
}

// TaskID is the asynq task id of a turn's stage: derived from the turn, so
// enqueueing the same stage twice can never double it.
func TaskID(stage string, turnID uuid.UUID) string { return stage + ":" + turnID.String() }

// Client enqueues stages and signals cancellations: every queue decision
// of a turn is made here. It is the game's Runner.
type Client struct {
	client    *asynq.Client
	inspector *asynq.Inspector
	rdb       redis.UniversalClient // wake-ups (wake.go); nil: none
}

var _ game.Runner = (*Client)(nil)

// NewClient returns a client on an asynq connection; rdb, the same Redis,
// carries the wake-ups that tell workers a task is waiting (nil: workers
// find it by polling).
func NewClient(client *asynq.Client, inspector *asynq.Inspector, rdb redis.UniversalClient) *Client {
	return &Client{client: client, inspector: inspector, rdb: rdb}
}

// Start enqueues a committed turn's first stage.
func (c *Client) Start(ctx context.Context, turnID uuid.UUID) error {
	return c.Enqueue(ctx, game.StageEmbed, turnID)
}

// Stop cancels the turn's running generation (its retrieval hands the
// turn to generation, so that is the only stage worth stopping).
func (c *Client) Stop(ctx context.Context, turnID uuid.UUID) error {
	return c.CancelRunning(ctx, game.StageGenerate, turnID)
}

// Enqueue puts a turn's stage on its queue. A stage already queued or
// running for the turn is left alone (success).
func (c *Client) Enqueue(ctx context.Context, stage string, turnID uuid.UUID) error {
	return c.enqueue(ctx, stage, turnID, TaskID(stage, turnID))
}

// Requeue enqueues a stage again for a turn whose task was lost (its
// worker died, say). episode names the recovery, so concurrent sweepers
// requeue once, and a new episode is never blocked by the dead worker's
// task id. A task
// still waiting its turn (pending, scheduled, retry) is left alone and
// reported as such (false), so a backlog is neither doubled nor counted as
// a fault; a missing task is enqueued under its own id; an "active" task of
// a turn that stopped moving belongs to a dead worker (a live one
// heartbeats), so the recovery runs under an id of its own.
func (c *Client) Requeue(ctx context.Context, stage string, turnID uuid.UUID, episode string) (bool, error) {
	spec, ok := stages[stage]
	if !ok {
		return false, fmt.Errorf("requeue: unknown stage %q", stage)
	}
	info, err := c.inspector.GetTaskInfo(spec.Queue, TaskID(stage, turnID))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return true, c.Enqueue(ctx, stage, turnID)
	case err != nil:
		return false, err
	case info.State == asynq.TaskStatePending, info.State == asynq.TaskStateScheduled,
		info.State == asynq.TaskStateRetry, info.State == asynq.TaskStateAggregating:
		return false, nil
	}
	return true, c.enqueue(ctx, stage, turnID, TaskID(stage, turnID)+":r"+episode)
}

// RunNow runs a turn's stage at once (the turn it waited for has ended):
// its task waiting to look again is brought forward, a task already
// pending or running is left alone, and a missing one is enqueued. So the
// turn keeps one task (a second, as a hand-on under a new id was, would
// run the stage again beside it).
func (c *Client) RunNow(ctx context.Context, stage string, turnID uuid.UUID) error {
	spec, ok := stages[stage]
	if !ok {
		return fmt.Errorf("run now: unknown stage %q", stage)
	}
	id := TaskID(stage, turnID)
	info, err := c.inspector.GetTaskInfo(spec.Queue, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return c.Enqueue(ctx, stage, turnID)
	case err != nil:
		return err
	case info.State != asynq.TaskStateRetry && info.State != asynq.TaskStateScheduled:
		return nil
	}
	if err := c.inspector.RunTask(spec.Queue, id); err != nil {
		// It moved on by itself meanwhile (due, or taken): fine.
		if info, ierr := c.inspector.GetTaskInfo(spec.Queue, id); ierr == nil &&
			(info.State == asynq.TaskStatePending || info.State == asynq.TaskStateActive) {
			return nil
		}
		return err
	}
	wake(ctx, c.rdb, spec.Queue)
	return nil
}

// Await makes the stage's own task of a waiting turn look again after d:
// it is enqueued unless it exists (waiting or running); one archived (its
// retries spent by earlier failures) is replaced.
func (c *Client) Await(ctx context.Context, stage string, turnID uuid.UUID, d time.Duration) error {
	spec, ok := stages[stage]
	if !ok {
		return fmt.Errorf("await: unknown stage %q", stage)
	}
	id := TaskID(stage, turnID)
	if info, err := c.inspector.GetTaskInfo(spec.Queue, id); err == nil && info.State == asynq.TaskStateArchived {
		if err := c.inspector.DeleteTask(spec.Queue, id); err != nil {
			return err
		}
	}
	return c.enqueue(ctx, stage, turnID, id, asynq.ProcessIn(d))
}

// A turn waiting for an earlier turn of its session looks again after
// AwaitTurnDelay when it is next in line; further back, after
// AwaitTurnPerAhead per open turn ahead of it (each takes an answer at
// least), up to AwaitTurnMaxDelay. The end of the turn before hands the
// next one on at once (RunNow): looking again is for the ends that do not
// (a failure). A session with a long line (hundreds of turns under load)
// would otherwise fill the retrieve queue with looks — four a second per
// waiting turn — and each turn handed on would wait behind them all.
const (
	AwaitTurnDelay    = 250 * time.Millisecond
	AwaitTurnPerAhead = time.Second
	AwaitTurnMaxDelay = 30 * time.Second
)

// awaitDelay is how long a turn with ahead open turns before it waits.
func awaitDelay(ahead int) time.Duration {
	if ahead <= 1 {
		return AwaitTurnDelay
	}
	return min(AwaitTurnPerAhead*time.Duration(ahead), AwaitTurnMaxDelay)
}

// Later enqueues a turn's stage to run after d, under a task id of its
// own: the stage's own task is the one asking, still active.
func (c *Client) Later(ctx context.Context, stage string, turnID uuid.UUID, d time.Duration) error {
	return c.enqueue(ctx, stage, turnID, TaskID(stage, turnID)+":w"+uuid.NewString(), asynq.ProcessIn(d))
}

func (c *Client) enqueue(ctx context.Context, stage string, turnID uuid.UUID, taskID string, extra ...asynq.Option) error {
	spec, ok := stages[stage]
	if !ok {
		return fmt.Errorf("enqueue: unknown stage %q", stage)
	}
	payload, err := json.Marshal(TurnPayload{TurnID: turnID})
	if err != nil {
		return err
	}
	opts := append([]asynq.Option{asynq.TaskID(taskID), asynq.Queue(spec.Queue),
		asynq.Timeout(spec.Timeout), asynq.MaxRetry(spec.MaxRetry)}, extra...)
	_, err = c.client.EnqueueContext(ctx, asynq.NewTask(spec.Type, payload), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err == nil {
		wake(ctx, c.rdb, spec.Queue)
	}
	return err
}

// enqueueOnce enqueues a task under its own id (queue and id set here);
// an id already taken — the task waits or runs, or its result is kept — is
// success, so enqueueing twice does nothing.
func (c *Client) enqueueOnce(ctx context.Context, typ string, payload any, taskID, queue string, opts ...asynq.Option) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	opts = append([]asynq.Option{asynq.TaskID(taskID), asynq.Queue(queue)}, opts...)
	_, err = c.client.EnqueueContext(ctx, asynq.NewTask(typ, b), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err == nil {
		wake(ctx, c.rdb, queue)
	}
	return err
}

// CancelRunning broadcasts a cancellation to the worker running the stage;
// asynq cancels that handler's context, which reaches the model call.
func (c *Client) CancelRunning(_ context.Context, stage string, turnID uuid.UUID) error {
	return c.inspector.CancelProcessing(TaskID(stage, turnID))
}
