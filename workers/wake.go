package workers

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Wake-ups. asynq finds new tasks by polling its queues, and a task
// enqueued just after a poll waits for the next one: that wait was most of
// a queue hop (docs/PERFORMANCE.md "Queue hop latency" and "Figures behind
// the code"). So every enqueue here is followed by a
// Redis PUBLISH on the queue's wake channel, and every worker subscribes to
// the channels of the queues it serves and ends its idle wait when one
// arrives (the Wake channel of asynq.Config, a small patch of ours to
// asynq: third_party/asynq/BRIGHTDAWN.md). Polling stays, at a relaxed
// TASK_CHECK_INTERVAL, for what no wake-up announces: retries and
// scheduled tasks that come due, tasks enqueued by other tools, and
// wake-ups lost while Redis was unreachable.

const wakePrefix = "brightdawn:wake:"

func wakeChannel(queue string) string { return wakePrefix + queue }

// wake announces a task on queue. It is best effort: the task is already
// enqueued, and a lost wake-up only delays it to the next poll.
func wake(ctx context.Context, rdb redis.UniversalClient, queue string) {
	if rdb != nil {
		_ = rdb.Publish(ctx, wakeChannel(queue), "").Err()
	}
}

// listenWake forwards wake-ups for queues to ch, never blocking (ch holds
// one pending wake-up; more add nothing), until ctx ends. go-redis
// re-subscribes by itself after a lost connection.
func listenWake(ctx context.Context, rdb redis.UniversalClient, queues []string, ch chan<- struct{}, log *slog.Logger) {
	channels := make([]string, len(queues))
	for i, q := range queues {
		channels[i] = wakeChannel(q)
	}
	sub := rdb.Subscribe(ctx, channels...)
	defer sub.Close()
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-msgs:
			if !ok {
				log.Warn("wake-up subscription closed; workers poll only")
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}
