package workers

import (
	"context"
	"time"
)

// periodically calls fn with the tick's time every d until ctx ends: the
// clock of the workers' maintenance (the sweep, asset cleanup, lost
// re-embed jobs).
func periodically(ctx context.Context, d time.Duration, fn func(now time.Time)) {
	ticker := time.NewTicker(d)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			fn(now)
		}
	}
}
