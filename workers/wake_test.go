package workers

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// A worker whose queues are empty polls them again only after its
// TaskCheckInterval; a wake-up on enqueue makes it look at once. Here the
// interval is a minute (asynq sleeps at least half of it after its first,
// empty poll), so a task that runs within seconds was started by the
// wake-up, and without one the same task is still waiting.
func TestWakeUpStartsATaskWithoutWaitingForThePoll(t *testing.T) {
	rdb := testkit.Redis(t)
	for _, tc := range []struct {
		name    string
		wakeUps bool
	}{{"with wake-ups", true}, {"without", false}} {
		t.Run(tc.name, func(t *testing.T) {
			queue, ran := startWorker(t, rdb, time.Minute, tc.wakeUps)
			waitForEmptyPoll(t, rdb, queue)
			enqueue(t, rdb, queue)
			if tc.wakeUps {
				wake(context.Background(), rdb, queue)
				select {
				case <-ran:
				case <-time.After(10 * time.Second):
					t.Fatal("the woken worker did not start the task")
				}
				return
			}
			select {
			case <-ran:
				t.Fatal("a task ran before the poll without a wake-up: the test cannot tell wake-ups from polling")
			case <-time.After(2 * time.Second):
			}
		})
	}
}

// A worker listening for wake-ups still finds, by polling, a task no
// wake-up announced (a retry coming due, a lost wake-up).
func TestTasksStillRunByPollingWithoutWakeUps(t *testing.T) {
	rdb := testkit.Redis(t)
	queue, ran := startWorker(t, rdb, 100*time.Millisecond, true)
	enqueue(t, rdb, queue)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the task was not found by polling")
	}
}

// startWorker runs an asynq server on a queue of its own until the test
// ends, listening for wake-ups on it if asked; ran receives one value per
// task it runs.
func startWorker(t *testing.T, rdb redis.UniversalClient, interval time.Duration, wakeUps bool) (queue string, ran <-chan struct{}) {
	t.Helper()
	queue = "waketest-" + uuid.NewString()[:8]
	t.Cleanup(func() { _ = asynq.NewInspectorFromRedisClient(rdb).DeleteQueue(queue, true) })
	cfg := asynq.Config{Concurrency: 1, Queues: map[string]int{queue: 1}, TaskCheckInterval: interval, LogLevel: asynq.ErrorLevel}
	if wakeUps {
		ch := make(chan struct{}, 1)
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		go listenWake(ctx, rdb, []string{queue}, ch, slog.Default())
		cfg.Wake = ch
	}
	done := make(chan struct{}, 1)
	mux := asynq.NewServeMux()
	mux.HandleFunc("task", func(context.Context, *asynq.Task) error {
		done <- struct{}{}
		return nil
	})
	srv := asynq.NewServerFromRedisClient(rdb, cfg)
	require.NoError(t, srv.Start(mux))
	t.Cleanup(srv.Shutdown)
	return queue, done
}

func enqueue(t *testing.T, rdb redis.UniversalClient, queue string) {
	t.Helper()
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	_, err := client.Enqueue(asynq.NewTask("task", nil), asynq.Queue(queue), asynq.MaxRetry(0))
	require.NoError(t, err)
}

// waitForEmptyPoll waits until the server has registered and so made its
// first poll of queue (it polls once at start, finds nothing, and sleeps).
func waitForEmptyPoll(t *testing.T, rdb redis.UniversalClient, queue string) {
	t.Helper()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	require.Eventually(t, func() bool {
		servers, err := insp.Servers()
		if err != nil {
			return false
		}
		for _, s := range servers {
			if _, ok := s.Queues[queue]; ok {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the worker never registered")
	time.Sleep(200 * time.Millisecond) // its first poll, which found nothing
}
