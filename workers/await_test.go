package workers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/workers"
)

// heldModel answers once release is closed: the turn it answers stays
// "generating" meanwhile, and the session's next turn waits for it.
type heldModel struct{ release chan struct{} }

func (heldModel) Name() string { return "held" }
func (m heldModel) Stream(ctx context.Context, _ dm.Prompt, emit func(string) error) (dm.Usage, error) {
	select {
	case <-m.release:
	case <-ctx.Done():
		return dm.Usage{}, ctx.Err()
	}
	return dm.Usage{}, emit("The door creaks open.")
}

// onlyTurn shows the sweeper one turn: the one under test.
type onlyTurn struct {
	*game.Pipeline
	id uuid.UUID
}

func (o onlyTurn) StuckTurns(ctx context.Context, before time.Time, limit int) ([]game.Turn, error) {
	ts, err := o.Pipeline.StuckTurns(ctx, before, limit)
	var out []game.Turn
	for _, t := range ts {
		if t.ID == o.id {
			out = append(out, t)
		}
	}
	return out, err
}

// A free-mode turn waiting for an earlier turn of its session has one
// task, under its retrieval's own id, however long it waits and however
// often the sweeper looks at it (as a turn behind a long backlog is seen:
// untouched past TURN_STUCK_AFTER): the sweeper finds that task waiting
// and adds none. Before, each look was a task with a new id, invisible to
// the sweeper, whose every sweep of the turn started another chain of
// looks beside the first (and embedded its message again).
func TestAWaitingTurnKeepsOneTaskThroughSweeps(t *testing.T) {
	model := heldModel{release: make(chan struct{})}
	w := startWorker(t, testkit.PrivateRedis(t, 11), model, 4)
	released := false
	t.Cleanup(func() { // before the worker stops (cleanups run last first)
		if !released {
			close(model.release)
		}
	})
	ctx, svc, pipe, queue, insp := context.Background(), w.svc, w.pipe, w.queue, w.insp

	playerID := uuid.New()
	s, err := svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Waiting turn"})
	require.NoError(t, err)
	_, first, err := svc.PostMessage(ctx, playerID, s.ID, "I knock on the door.", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := svc.GetTurn(ctx, playerID, first.ID)
		return err == nil && got.Status == game.StatusGenerating
	}, 30*time.Second, 50*time.Millisecond, "the first turn is being answered")
	_, second, err := svc.PostMessage(ctx, playerID, s.ID, "I wait behind my friend.", "")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := svc.GetTurn(ctx, playerID, second.ID)
		return err == nil && got.Timings.EmbedEndedAt != nil
	}, 30*time.Second, 50*time.Millisecond, "the second turn is embedded and waits")

	sweeper := workers.Sweeper{Turns: onlyTurn{pipe, second.ID}, Queue: queue, StuckAfter: time.Second, Deadline: time.Hour}
	requeued := 0
	for range 3 {
		waitingTask(t, insp, second.ID)
		// Seen from a minute on, the waiting turn looks untouched.
		n, err := sweeper.Sweep(ctx, time.Now().Add(time.Minute))
		require.NoError(t, err)
		requeued += n
		time.Sleep(1500 * time.Millisecond) // what a new task would run and hand on in
	}
	// A recovery's task caught the turn waiting (the sweep found its own
	// task running, as a dead worker's would be): it hands the wait to the
	// turn's own task and ends.
	extra := workers.TaskID(game.StageRetrieve, second.ID) + ":rstuck"
	ac := asynq.NewClientFromRedisClient(w.rdb)
	defer ac.Close()
	_, err = ac.Enqueue(asynq.NewTask(workers.TypeRetrieve, []byte(`{"turn_id":"`+second.ID.String()+`"}`)),
		asynq.TaskID(extra), asynq.Queue(workers.QueueRetrieve))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := insp.GetTaskInfo(workers.QueueRetrieve, extra)
		return errors.Is(err, asynq.ErrTaskNotFound)
	}, 10*time.Second, 20*time.Millisecond, "the recovery's task ends")
	waitingTask(t, insp, second.ID)
	ids := turnTaskIDs(t, insp, second.ID)
	require.Equal(t, []string{workers.TaskID(game.StageRetrieve, second.ID)}, ids, "one task: the retrieval's own")
	require.Zero(t, requeued, "the sweeper finds the waiting turn's task and adds none")

	close(model.release)
	released = true
	require.Eventually(t, func() bool {
		got, err := svc.GetTurn(ctx, playerID, second.ID)
		return err == nil && got.Status == game.StatusCompleted
	}, 30*time.Second, 50*time.Millisecond, "the waiting turn is answered once the first is")
	got, err := svc.GetTurn(ctx, playerID, first.ID)
	require.NoError(t, err)
	require.Equal(t, game.StatusCompleted, got.Status)
}

// waitingTask waits until the turn has a task waiting for its next look
// and none running (a running task, to the sweeper, may be a dead
// worker's).
func waitingTask(t *testing.T, insp *asynq.Inspector, turnID uuid.UUID) {
	t.Helper()
	require.Eventually(t, func() bool {
		active, err := insp.ListActiveTasks(workers.QueueRetrieve)
		if err != nil {
			return false
		}
		for _, ti := range active {
			if strings.Contains(string(ti.Payload), turnID.String()) {
				return false
			}
		}
		return len(turnTaskIDs(t, insp, turnID)) > 0
	}, 10*time.Second, 10*time.Millisecond, "the waiting turn's task waits")
}

// turnTaskIDs are the ids of the turn's tasks in every state but done, on
// the embed and retrieve queues, sorted.
func turnTaskIDs(t *testing.T, insp *asynq.Inspector, turnID uuid.UUID) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, q := range []string{workers.QueueEmbed, workers.QueueRetrieve} {
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
			insp.ListActiveTasks, insp.ListPendingTasks, insp.ListScheduledTasks, insp.ListRetryTasks,
		} {
			tasks, err := list(q)
			if errors.Is(err, asynq.ErrQueueNotFound) {
				continue
			}
			require.NoError(t, err)
			for _, ti := range tasks {
				if strings.Contains(string(ti.Payload), turnID.String()) {
					seen[ti.ID] = true
				}
			}
		}
	}
	var ids []string
	for id := range seen {
		ids = append(ids, id)
	}
	return ids
}

// When the turn a waiting turn waited for ends, the waiting turn's own
// task is brought forward rather than a second one enqueued beside it
// (which would run its retrieval twice); with no task, one is enqueued.
func TestRunNowBringsTheWaitingTaskForward(t *testing.T) {
	rdb := testkit.PrivateRedis(t, 11)
	ctx := context.Background()
	ac := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { ac.Close() })
	insp := asynq.NewInspectorFromRedisClient(rdb)
	queue := workers.NewClient(ac, insp, rdb) // no worker: tasks stay where they are
	waiting, missing := uuid.New(), uuid.New()
	id := workers.TaskID(game.StageRetrieve, waiting)
	_, err := ac.Enqueue(asynq.NewTask(workers.TypeRetrieve, []byte(`{"turn_id":"`+waiting.String()+`"}`)),
		asynq.TaskID(id), asynq.Queue(workers.QueueRetrieve), asynq.ProcessIn(time.Hour))
	require.NoError(t, err)

	for range 2 { // the second finds it pending and leaves it
		require.NoError(t, queue.RunNow(ctx, game.StageRetrieve, waiting))
		info, err := insp.GetTaskInfo(workers.QueueRetrieve, id)
		require.NoError(t, err)
		require.Equal(t, asynq.TaskStatePending, info.State)
		require.Equal(t, []string{id}, turnTaskIDs(t, insp, waiting), "one task")
	}
	require.NoError(t, queue.RunNow(ctx, game.StageRetrieve, missing))
	require.Equal(t, []string{workers.TaskID(game.StageRetrieve, missing)}, turnTaskIDs(t, insp, missing))
}

// A turn's retrieval, while earlier turns of its session are open, says
// how many: its place in line.
func TestAWaitingTurnKnowsItsPlaceInLine(t *testing.T) {
	b := newSweepBundle(t)
	ctx := context.Background()
	playerID := uuid.New()
	s, err := b.svc.CreateSession(ctx, playerID, game.SessionInput{Title: "A line"})
	require.NoError(t, err)
	var turns []game.Turn
	for _, msg := range []string{"I open the door.", "I look inside.", "I step in."} {
		_, tr, err := b.svc.PostMessage(ctx, playerID, s.ID, msg, "")
		require.NoError(t, err)
		turns = append(turns, tr)
	}
	for i, tr := range turns[1:] {
		_, err := b.pipe.Retrieve(ctx, tr.ID)
		var await *game.AwaitTurnError
		require.ErrorAs(t, err, &await)
		require.Equal(t, i+1, await.Ahead)
	}
}
