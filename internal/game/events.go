package game

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/logging"
)

// The events a turn publishes to its session's stream (their JSON is the
// API's contract: docs/API and the web client read them). The events
// package carries them (Redis Streams, pub/sub, SSE); the domain only
// names them and says what they hold.
const (
	// EventTurnStatus: {turn_id, status} on every status change of a turn.
	EventTurnStatus = "turn.status"
	// EventDMDelta: {turn_id, text, attempt} the next piece of the DM's reply.
	EventDMDelta = "dm.delta"
	// EventDMDone: {turn_id, message} the stored DM message. Final.
	EventDMDone = "dm.done"
	// EventTurnFailed: {turn_id, error:{code,message}}. Final.
	EventTurnFailed = "turn.failed"
	// EventTurnCancelled: {turn_id, dice_seed}. Final.
	EventTurnCancelled = "turn.cancelled"
	// EventRoll: {turn_id?, roll} a roll of a turn's rules engine (as it is
	// drawn, before the narration that tells it) or a player's own roll.
	EventRoll = "roll"
	// EventSheetChanged: {turn_id, character_id, changes:[{path, from, to,
	// reason}], sheet} the turn's changes, once stored (before dm.done).
	EventSheetChanged = "sheet.changed"
	// EventSessionDeleted: {session_id} the session was deleted; the last
	// event of its stream (SessionEnder).
	EventSessionDeleted = "session.deleted"
)

// The final events (dm.done, turn.failed, turn.cancelled) also carry the
// turn's revealed dice_seed.

// Publisher appends an event of a turn to its session's stream and returns
// the stream entry's id. data marshals to a JSON object, to which the
// transport adds the turn's id as "turn_id" (implemented by
// *events.Publisher).
type Publisher interface {
	PublishTurn(ctx context.Context, sessionID, turnID uuid.UUID, typ string, data any) (string, error)
}

// SessionEnder ends the event stream of a deleted session: its open
// streams on every replica get EventSessionDeleted and end, and its event
// history is dropped (implemented by *events.Publisher).
type SessionEnder interface {
	EndSession(ctx context.Context, sessionID uuid.UUID) error
}

// Audience narrows who of a session's members receives an event (whispers,
// typing). The zero value is everybody, stored in the stream's history.
type Audience struct {
	To        uuid.UUID // only this player (uuid.Nil: everybody)
	Except    uuid.UUID // everybody but this player (uuid.Nil: nobody excepted)
	Ephemeral bool      // live only: never stored in the stream's history, no id
}

// AudiencePublisher publishes to an audience (implemented by
// *events.Publisher): each SSE connection gets only what its player may see.
type AudiencePublisher interface {
	PublishAudience(ctx context.Context, sessionID, turnID uuid.UUID, a Audience, typ string, data any) (string, error)
}

// errNoAudience: a private event with a publisher that cannot address it
// is dropped, never broadcast.
var errNoAudience = errors.New("game: the publisher cannot address an audience; private event dropped")

// publishTurnEvent publishes an event of a turn to whoever may see the
// turn: everybody, or a whisper's author alone.
func publishTurnEvent(ctx context.Context, pub Publisher, t Turn, typ string, data any) (string, error) {
	if t.PrivateTo == nil {
		return pub.PublishTurn(ctx, t.SessionID, t.ID, typ, data)
	}
	ap, ok := pub.(AudiencePublisher)
	if !ok {
		return "", errNoAudience
	}
	return ap.PublishAudience(ctx, t.SessionID, t.ID, Audience{To: *t.PrivateTo}, typ, data)
}

func logPublishFailure(ctx context.Context, typ string, err error) {
	logging.From(ctx).Error("publish failed", "type", typ, "err", err)
}

func publishStatus(ctx context.Context, pub Publisher, t Turn) {
	data := map[string]any{"status": t.Status}
	if t.DiceCommitment != "" && !Final(t.Status) {
		data["dice_commitment"] = t.DiceCommitment
	}
	publish(ctx, pub, t, EventTurnStatus, data)
}

// publish sends an event of a turn; a failure is logged, never fatal: the
// state is in Postgres, and clients that miss it reload over REST.
func publish(ctx context.Context, pub Publisher, t Turn, typ string, data map[string]any) string {
	id, err := publishTurnEvent(ctx, pub, t, typ, data)
	if err != nil {
		logging.From(ctx).Error("publish failed", "turn_id", t.ID, "type", typ, "err", err)
	}
	return id
}
