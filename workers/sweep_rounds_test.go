package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/workers"
)

// dueRounds stands in for the pipeline's round closing: it "closes" its
// rounds once, as of the time asked.
type dueRounds struct {
	turns []uuid.UUID
	asked time.Time
}

func (d *dueRounds) CloseDueRounds(_ context.Context, now time.Time, _ int) ([]uuid.UUID, error) {
	d.asked = now
	out := d.turns
	d.turns = nil
	return out, nil
}

// noStuckTurns has no stuck turn.
type noStuckTurns struct{}

func (noStuckTurns) StuckTurns(context.Context, time.Time, int) ([]game.Turn, error) { return nil, nil }
func (noStuckTurns) Fail(context.Context, uuid.UUID, game.FailureCode, string) error { return nil }
func (noStuckTurns) Touch(context.Context, uuid.UUID) error                          { return nil }

func TestSweeperClosesRoundsPastTheirTimeAndStartsTheirTurns(t *testing.T) {
	a, b := uuid.New(), uuid.New()
	rounds := &dueRounds{turns: []uuid.UUID{a, b}}
	rec := &queueRecorder{}
	w := workers.Sweeper{Turns: noStuckTurns{}, Rounds: rounds, Queue: rec, StuckAfter: time.Minute, Deadline: time.Hour}
	now := time.Now()
	_, err := w.Sweep(context.Background(), now)
	require.NoError(t, err)
	require.Equal(t, now, rounds.asked, "rounds are closed as of the sweep's time")
	require.Equal(t, []string{game.StageEmbed + ":" + a.String(), game.StageEmbed + ":" + b.String()}, rec.requeued,
		"each closed round's turn is started at its first stage")

	_, err = w.Sweep(context.Background(), now.Add(time.Second))
	require.NoError(t, err)
	require.Len(t, rec.requeued, 2, "nothing more to close")
}
