package workers

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
)

// BenchmarkQueueHop measures one queue hop — enqueue to handler start —
// with asynq's default polling and with this project's tuning, at idle
// (one task at a time) and at 50 turns/s (150 hops/s: embed, retrieve and
// generate each hop once per turn), and with wake-ups on enqueue (wake.go),
// where the interval is only the fallback. Run it with the test stack:
//
//	go run ./cmd/stack test -- go test -run XXX -bench QueueHop -benchtime 1x ./workers
//
// It reports p50 and p99 in ms; docs/PERFORMANCE.md records the figures.
func BenchmarkQueueHop(b *testing.B) {
	rdb := testkit.Redis(b)
	for _, setting := range []struct {
		name     string
		interval time.Duration
		wake     bool // wake-ups on enqueue (wake.go)
	}{
		{"asynq-default-1s", 0, false}, {"tuned-4ms", 4 * time.Millisecond, false}, {"tuned-2ms", 2 * time.Millisecond, false},
		{"tuned-1ms", time.Millisecond, false}, {"tuned-100us", 100 * time.Microsecond, false},
		{"wake-100ms", 100 * time.Millisecond, true}, {"wake-1s", time.Second, true},
	} {
		for _, load := range []struct {
			name  string
			rate  float64 // hops per second
			count int
		}{{"idle", 10, 40}, {"50-turns-per-s", 150, 1500}} {
			if setting.interval == 0 && load.name != "idle" {
				load.count = 300
			}
			b.Run(setting.name+"/"+load.name, func(b *testing.B) {
				lat := measureHops(b, rdb, setting.interval, setting.wake, load.rate, load.count)
				b.ReportMetric(pct(lat, 50), "p50-ms")
				b.ReportMetric(pct(lat, 99), "p99-ms")
				b.ReportMetric(float64(len(lat)), "hops")
			})
		}
	}
}

func measureHops(b *testing.B, rdb redis.UniversalClient, interval time.Duration, wakeUps bool, rate float64, count int) []float64 {
	queue := "hopbench-" + uuid.NewString()[:8]
	var mu sync.Mutex
	var lat []float64
	done := make(chan struct{})
	cfg := asynq.Config{
		Concurrency: 20, Queues: map[string]int{queue: 1}, TaskCheckInterval: interval,
		LogLevel: asynq.ErrorLevel,
	}
	if wakeUps {
		ch := make(chan struct{}, 1)
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		go listenWake(ctx, rdb, []string{queue}, ch, slog.Default())
		cfg.Wake = ch
	}
	srv := asynq.NewServerFromRedisClient(rdb, cfg)
	mux := asynq.NewServeMux()
	mux.HandleFunc("hop", func(ctx context.Context, t *asynq.Task) error {
		var sent time.Time
		if err := json.Unmarshal(t.Payload(), &sent); err != nil {
			return err
		}
		d := time.Since(sent)
		mu.Lock()
		lat = append(lat, float64(d.Microseconds())/1000)
		if len(lat) == count {
			close(done)
		}
		mu.Unlock()
		return nil
	})
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	defer func() { _ = asynq.NewInspectorFromRedisClient(rdb).DeleteQueue(queue, true) }()
	time.Sleep(300 * time.Millisecond) // let the server register
	gap := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for i := 0; i < count; i++ {
		time.Sleep(time.Until(next))
		next = next.Add(gap)
		payload, _ := json.Marshal(time.Now())
		if _, err := client.Enqueue(asynq.NewTask("hop", payload), asynq.Queue(queue), asynq.MaxRetry(0)); err != nil {
			b.Fatal(err)
		}
		if wakeUps {
			wake(context.Background(), rdb, queue)
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d hops arrived", len(lat), count)
	}
	return lat
}

func pct(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}
