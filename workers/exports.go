package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
)

// TypeExport writes a session export into the exports bucket. It runs on
// the maintenance queue: an export is never more urgent than a turn.
const TypeExport = "maintenance:export"

// ExportRunner is what the export task needs (implemented by *game.Exporter).
type ExportRunner interface {
	Run(ctx context.Context, id uuid.UUID) error
}

// ExportPayload names the export.
type ExportPayload struct {
	ExportID uuid.UUID `json:"export_id"`
}

// EnqueueExport starts an export's task; the task id is the export's, so
// enqueueing twice does nothing.
func (c *Client) EnqueueExport(ctx context.Context, id uuid.UUID) error {
	return c.enqueueOnce(ctx, TypeExport, ExportPayload{ExportID: id}, "export:"+id.String(), QueueMaintenance,
		asynq.MaxRetry(5), asynq.Timeout(10*time.Minute), asynq.Retention(time.Hour))
}

func (s *Server) export(ctx context.Context, t *asynq.Task) error {
	var p ExportPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ExportID == uuid.Nil {
		return fmt.Errorf("payload: %v: %w", err, asynq.SkipRetry)
	}
	return s.opts.Exports.Run(ctx, p.ExportID)
}

// TypeSessionEmbed embeds an imported session's messages in batches, on
// the low-priority embedding queue; the task's result shows the progress.
const TypeSessionEmbed = "embed:session"

// SessionEmbedPayload names the session.
type SessionEmbedPayload struct {
	SessionID uuid.UUID `json:"session_id"`
}

// EnqueueSessionEmbed starts the embedding of an imported session.
func (c *Client) EnqueueSessionEmbed(ctx context.Context, sessionID uuid.UUID) error {
	return c.enqueueOnce(ctx, TypeSessionEmbed, SessionEmbedPayload{SessionID: sessionID}, "embed-session:"+sessionID.String(), QueueEmbedLow,
		asynq.MaxRetry(10), asynq.Timeout(30*time.Minute), asynq.Retention(time.Hour))
}

func (s *Server) embedSession(ctx context.Context, t *asynq.Task) error {
	var p SessionEmbedPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.SessionID == uuid.Nil {
		return fmt.Errorf("payload: %v: %w", err, asynq.SkipRetry)
	}
	return s.pipeline.EmbedSession(ctx, p.SessionID, func(done int) {
		if w := t.ResultWriter(); w != nil {
			_, _ = w.Write([]byte(fmt.Sprintf(`{"embedded":%d}`, done)))
		}
	})
}
