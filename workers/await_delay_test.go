package workers

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// A waiting turn looks again as often as its place in line is worth: the
// next in line every 250 ms, one further back a second per turn ahead, up
// to 30 s; and waiting spends none of its stage's retries.
func TestAWaitingTurnLooksAgainByItsPlaceInLine(t *testing.T) {
	wait := func(ahead int) time.Duration { return retryDelay(0, &game.AwaitTurnError{Ahead: ahead}, nil) }
	require.Equal(t, 250*time.Millisecond, wait(1))
	require.Equal(t, 4*time.Second, wait(4))
	require.Equal(t, 30*time.Second, wait(200))
	require.Equal(t, 200*time.Millisecond, retryDelay(0, errors.New("connection reset"), nil), "a failure backs off as before")

	require.False(t, isFailure(&game.AwaitTurnError{Ahead: 1}))
	require.True(t, isFailure(errors.New("connection reset")))
	require.ErrorIs(t, &game.AwaitTurnError{Ahead: 3}, game.ErrAwaitTurn)
}
