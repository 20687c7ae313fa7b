package events

import (
	"testing"

	"github.com/google/uuid"
)

// BenchmarkSubscriptionChurn measures what a reconnect costs the hub when
// its session is not watched yet on this process (the expensive case): a
// SUBSCRIBE confirmed by Redis, then, when the client leaves, an
// UNSUBSCRIBE (Linger -1). Parallel clients, as reconnect storms are.
// Figures: docs/PERFORMANCE.md "Fan-out per replica".
func BenchmarkSubscriptionChurn(b *testing.B) {
	h := startHub(b, HubOptions{Linger: -1})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := h.Subscribe(uuid.New())
			if err := s.Err(); err != nil {
				b.Fatal(err)
			}
			select {
			case <-s.Ready():
			case <-s.done:
				b.Fatal(s.Err())
			}
			s.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reconnects/s")
}
