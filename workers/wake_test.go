package workers

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// A worker whose queues are empty polls them again only after its
// TaskCheckInterval; a wake-up on enqueue makes it look at once. Here the
// interval is a minute (asynq sleeps at least half of it after its first,
// empty poll), so a task that runs within seconds was started by the
// wake-up, and without one the same task is still waiting.
func TestWakeUpStartsATaskWithoutWaitingForThePoll(t *testing.T) {
	rdb := testRedis(t)
	for _, tc := range []struct {
		name    string
		wakeUps bool
	}{{"with wake-ups", true}, {"without", false}} {
		t.Run(tc.name, func(t *testing.T) {
			queue := "waketest-" + uuid.NewString()[:8]
			t.Cleanup(func() { _ = asynq.NewInspectorFromRedisClient(rdb).DeleteQueue(queue, true) })
			ran := make(chan struct{}, 1)
			cfg := asynq.Config{Concurrency: 1, Queues: map[string]int{queue: 1}, TaskCheckInterval: time.Minute, LogLevel: asynq.ErrorLevel}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			if tc.wakeUps {
				ch := make(chan struct{}, 1)
				go listenWake(ctx, rdb, []string{queue}, ch, slog.Default())
				cfg.Wake = ch
			}
			srv := asynq.NewServerFromRedisClient(rdb, cfg)
			mux := asynq.NewServeMux()
			mux.HandleFunc("wake", func(context.Context, *asynq.Task) error {
				ran <- struct{}{}
				return nil
			})
			require.NoError(t, srv.Start(mux))
			defer srv.Shutdown()
			waitForEmptyPoll(t, rdb, queue)

			client := asynq.NewClientFromRedisClient(rdb)
			defer client.Close()
			_, err := client.Enqueue(asynq.NewTask("wake", nil), asynq.Queue(queue), asynq.MaxRetry(0))
			require.NoError(t, err)
			if tc.wakeUps {
				wake(ctx, rdb, queue)
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

// A lost subscription or a missing wake channel never loses a task: the
// poll still finds it.
func TestTasksStillRunByPollingWithoutWakeUps(t *testing.T) {
	rdb := testRedis(t)
	queue := "waketest-" + uuid.NewString()[:8]
	t.Cleanup(func() { _ = asynq.NewInspectorFromRedisClient(rdb).DeleteQueue(queue, true) })
	ran := make(chan struct{}, 1)
	never := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 1, Queues: map[string]int{queue: 1},
		TaskCheckInterval: 100 * time.Millisecond, Wake: never, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc("poll", func(context.Context, *asynq.Task) error {
		ran <- struct{}{}
		return nil
	})
	require.NoError(t, srv.Start(mux))
	defer srv.Shutdown()
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	_, err := client.Enqueue(asynq.NewTask("poll", nil), asynq.Queue(queue), asynq.MaxRetry(0))
	require.NoError(t, err)
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the task was not found by polling")
	}
}

func testRedis(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		t.Fatal("REDIS_URL is not set: run the tests with `go tool task test`")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// waitForEmptyPoll waits until the server has registered and so made its
// first poll of queue (it polls once at start, finds nothing, and sleeps).
func waitForEmptyPoll(t *testing.T, rdb *redis.Client, queue string) {
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
