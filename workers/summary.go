package workers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/codeofconquest/brightdawn/internal/logging"
)

// TypeSummary rolls a session's summary forward. It runs on the
// maintenance queue (weight 1): a summary is never more urgent than a
// turn, and a turn never waits for one.
const TypeSummary = "maintenance:summary"

// SummaryRunner is what the summary task needs (implemented by *game.Summarizer).
type SummaryRunner interface {
	// Due reads the session of a completed turn and whether its summary
	// has fallen behind the recent window.
	Due(ctx context.Context, turnID uuid.UUID) (sessionID uuid.UUID, due bool, err error)
	Update(ctx context.Context, sessionID uuid.UUID) error
}

// SummaryPayload names the session.
type SummaryPayload struct {
	SessionID uuid.UUID `json:"session_id"`
}

// EnqueueSummary starts a session's summary task. Its task id is the
// session's and it keeps no result, so one task per session waits or runs
// at a time; a turn that completes while one runs finds the id taken, and
// the running task, which goes on while the history keeps outgrowing the
// summary, or the next turn's covers it.
func (c *Client) EnqueueSummary(ctx context.Context, sessionID uuid.UUID) error {
	return c.enqueueOnce(ctx, TypeSummary, SummaryPayload{SessionID: sessionID}, "summary:"+sessionID.String(), QueueMaintenance,
		asynq.MaxRetry(3), asynq.Timeout(10*time.Minute))
}

func (s *Server) summary(ctx context.Context, t *asynq.Task) error {
	var p SummaryPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.SessionID == uuid.Nil {
		return fmt.Errorf("payload: %v: %w", err, asynq.SkipRetry)
	}
	return s.opts.Summaries.Update(logging.With(ctx, "session_id", p.SessionID), p.SessionID)
}

// summarizeAfter wraps the last stage of a turn: once it is done, the
// session's summary task starts if the summary is due. Neither the check
// nor the enqueue can fail the stage: a summary is low priority, and the
// next turn checks again.
func (s *Server) summarizeAfter(h asynq.HandlerFunc) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		if err := h(ctx, t); err != nil {
			return err
		}
		var p TurnPayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return nil
		}
		sessionID, due, err := s.opts.Summaries.Due(ctx, p.TurnID)
		if err == nil && due {
			err = s.queue.EnqueueSummary(ctx, sessionID)
		}
		if err != nil {
			logging.From(ctx).Warn("could not start the session's summary", "turn_id", p.TurnID, "err", err)
		}
		return nil
	}
}
