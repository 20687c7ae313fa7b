package game

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// TurnRate spends one of a player's turns of the current minute, or
// answers rate_limited (with the time to wait). Implemented by
// *ratelimit.Turns (Redis, shared by every API replica).
type TurnRate interface {
	AllowTurn(ctx context.Context, playerID uuid.UUID) error
}

// TurnLimits bound how fast one player can start turns, so one player's
// flood cannot fill the queues everybody shares.
type TurnLimits struct {
	// Rate limits turns per minute (nil: no per-minute limit).
	Rate TurnRate
	// MaxInFlight is how many of a player's turns may be unfinished
	// (queued, embedding, retrieving or generating) at once; 0: no limit.
	MaxInFlight int
	// MaxCharacters and MaxSessions cap what one player may own; 0: no cap.
	MaxCharacters, MaxSessions int
}

// InFlightRetryAfter is the Retry-After of a refusal for too many turns in
// flight: about the time a turn takes with the offline narrator. Nobody
// can know when the player's oldest turn will end.
const InFlightRetryAfter = 2 * time.Second

// WithTurnLimits sets the per-player turn limits of PostMessage.
func WithTurnLimits(l TurnLimits) ServiceOption {
	return func(s *Service) { s.limits = l }
}

// errTooManyInFlight refuses a new turn when the player already has the
// allowed number of unfinished turns. insertTurn counts them in the batch
// that inserts the turn, after taking a transaction-scoped lock on the
// player, so two concurrent requests cannot both see max-1 and both insert:
// the count and the insert are one atomic step per player. Postgres, not a
// Redis counter, because "in flight" IS the turns' status there: a counter
// kept beside it would have to be decremented on every way a turn ends
// (completion, failure, cancel, the sweeper's timeout) and would drift for
// good after a crash between the two writes or a Redis restart.
//
// On PGlite, transactions are already serialised globally, so the lock is
// free; on Postgres it serialises one player's inserts only. The count
// repeats the predicate of the partial index turns_open_idx, which holds
// the unfinished turns of everybody (few at any moment), so it never scans
// finished history.
var errTooManyInFlight = apperr.Limited(InFlightRetryAfter, "too many turns in flight; wait for the Dungeon Master to answer")
