package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/codeofconquest/brightdawn/internal/logging"
)

// TypeAssetCleanup removes uploads that were never completed.
const TypeAssetCleanup = "maintenance:assets_cleanup"

// AssetCleaner is what the cleanup task needs (implemented by *assets.Service).
type AssetCleaner interface {
	// PendingCutoff is the creation time before which a pending upload is
	// stale, by this process's ASSET_PENDING_TTL.
	PendingCutoff() time.Time
	// Cleanup removes stale pending uploads (object, then row) and
	// finishes interrupted deletions; it returns how many it removed.
	Cleanup(ctx context.Context, pendingBefore time.Time) (int, error)
}

// AssetCleanupPayload carries the enqueuing process's cutoff, so the
// result does not depend on which worker happens to run the task.
type AssetCleanupPayload struct {
	PendingBefore time.Time `json:"pending_before"`
}

// scheduleAssetCleanup enqueues one cleanup per interval across all
// workers (the task id names the interval, as for the sweeper) until ctx
// ends.
func (s *Server) scheduleAssetCleanup(ctx context.Context) {
	if s.opts.Assets == nil || s.opts.AssetCleanupInterval <= 0 {
		return
	}
	every := s.opts.AssetCleanupInterval
	periodically(ctx, every, func(now time.Time) {
		payload, err := json.Marshal(AssetCleanupPayload{PendingBefore: s.opts.Assets.PendingCutoff()})
		if err != nil {
			s.opts.Log.Error("asset cleanup payload", "err", err)
			return
		}
		slot := now.Truncate(every).Unix()
		_, err = s.client.EnqueueContext(ctx, asynq.NewTask(TypeAssetCleanup, payload),
			asynq.TaskID(fmt.Sprintf("assets_cleanup:%s:%d", every, slot)), asynq.Queue(QueueMaintenance),
			asynq.MaxRetry(0), asynq.Timeout(5*time.Minute), asynq.Retention(2*every))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && ctx.Err() == nil {
			s.opts.Log.Warn("could not enqueue asset cleanup", "err", err)
		}
	})
}

func (s *Server) cleanupAssets(ctx context.Context, t *asynq.Task) error {
	var p AssetCleanupPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.PendingBefore.IsZero() {
		return fmt.Errorf("payload: %v: %w", err, asynq.SkipRetry)
	}
	if s.opts.StorageReady != nil && !s.opts.StorageReady() {
		// The dev stack starts S3 beside the game: nothing to clean yet, and
		// the next interval's task runs once it answers.
		logging.From(ctx).Info("asset cleanup skipped: object storage is still starting")
		return nil
	}
	n, err := s.opts.Assets.Cleanup(ctx, p.PendingBefore)
	if n > 0 {
		logging.From(ctx).Info("asset cleanup done", "removed", n)
	}
	return err
}
