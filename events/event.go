package events

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/game"
)

// The event types of docs/API.md (section Streams): a turn's are named by
// the domain (internal/game/events.go), the reset by this transport.
const (
	TypeTurnStatus    = game.EventTurnStatus
	TypeDMDelta       = game.EventDMDelta
	TypeDMDone        = game.EventDMDone
	TypeTurnFailed    = game.EventTurnFailed
	TypeTurnCancelled = game.EventTurnCancelled
	// TypeReset: {reason} the requested history is gone; reload over REST.
	// Only the SSE server writes it; it is never stored in a stream.
	TypeReset = "reset"
	// TypeSessionDeleted: {session_id} the session was deleted. The last
	// event of its stream: every stream of the session, turn streams
	// included, ends after it.
	TypeSessionDeleted = game.EventSessionDeleted
)

// MaxDataSize bounds the JSON data of one event.
const MaxDataSize = 1 << 20

// maxTypeLength bounds an event type (it is written on an `event:` line).
const maxTypeLength = 64

// Event is one entry of a session stream.
type Event struct {
	// ID is the stream entry id ("<ms>-<seq>"); empty before publishing.
	ID string
	// Type is one of the Type* constants.
	Type string
	// TurnID is the turn the event belongs to ("" for session-wide events).
	TurnID string
	// Data is one compact JSON object; it contains "turn_id" when TurnID is set.
	Data json.RawMessage
	// To and Except address the event (docs/PARTY.md): To, when set, is
	// the only player who receives it (a whisper's); Except, when set, is
	// the one player who does not (a typist). Canonical uuids or "".
	To, Except string
	// Ephemeral events are announced live only: never stored in the
	// stream's history, written without an `id:` line (typing).
	Ephemeral bool
}

// VisibleTo reports whether the player whose id (canonical form) is viewer
// may receive the event.
func (e Event) VisibleTo(viewer string) bool {
	return (e.To == "" || e.To == viewer) && (e.Except == "" || e.Except != viewer)
}

// Terminal reports whether the event is the last one of its turn: a turn
// stream ends after it. The final turn.status is published just before it.
func (e Event) Terminal() bool { return IsTerminal(e.Type) }

// EndsSession reports whether the event ends every stream of its session.
func (e Event) EndsSession() bool { return e.Type == TypeSessionDeleted }

// IsTerminal reports whether an event type ends a turn.
func IsTerminal(typ string) bool {
	return typ == TypeDMDone || typ == TypeTurnFailed || typ == TypeTurnCancelled
}

// NewEvent builds an event of a turn (or of the whole session when turnID is
// uuid.Nil). data must marshal to a JSON object (nil means {}); the helper
// adds "turn_id" to it, and refuses a different turn_id already present.
func NewEvent(typ string, turnID uuid.UUID, data any) (Event, error) {
	if err := validType(typ); err != nil {
		return Event{}, err
	}
	raw := []byte("{}")
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return Event{}, fmt.Errorf("events: marshal %s data: %w", typ, err)
		}
		raw = b
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '{' {
		return Event{}, fmt.Errorf("events: %s data must be a JSON object, got %.40q", typ, raw)
	}
	e := Event{Type: typ, Data: raw}
	if turnID == uuid.Nil {
		return e, nil
	}
	e.TurnID = turnID.String()
	present, err := dataTurnID(raw)
	if err != nil {
		return Event{}, err
	}
	switch {
	case present == nil:
		// Insert turn_id as the first member: {"turn_id":"…", rest…}.
		var b bytes.Buffer
		b.Grow(len(raw) + 52)
		b.WriteString(`{"turn_id":"`)
		b.WriteString(e.TurnID)
		b.WriteByte('"')
		if rest := bytes.TrimSpace(raw[1:]); len(rest) > 0 && rest[0] != '}' {
			b.WriteByte(',')
		}
		b.Write(raw[1:])
		e.Data = b.Bytes()
	case *present != e.TurnID:
		return Event{}, fmt.Errorf("events: %s data has turn_id %q, not %s", typ, *present, e.TurnID)
	}
	return e, nil
}

// validType keeps event types to a safe alphabet: they are written raw on
// an SSE `event:` line and must never carry a line break.
func validType(typ string) error {
	if typ == "" || len(typ) > maxTypeLength {
		return fmt.Errorf("events: event type must be 1 to %d characters", maxTypeLength)
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("events: event type %q: only a-z, 0-9, '.', '_' and '-' are allowed", typ)
		}
	}
	return nil
}

// dataTurnID returns the string turn_id of a JSON object, nil if absent.
func dataTurnID(data []byte) (*string, error) {
	var probe struct {
		TurnID *string `json:"turn_id"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("events: data: %w", err)
	}
	return probe.TurnID, nil
}

// normalize validates e for publishing and returns its compact data.
func (e Event) normalize() ([]byte, error) {
	if err := validType(e.Type); err != nil {
		return nil, err
	}
	if e.Type == TypeReset {
		return nil, fmt.Errorf("events: %s is written by the SSE server, never published", TypeReset)
	}
	if e.TurnID != "" {
		u, err := uuid.Parse(e.TurnID)
		if err != nil || u.String() != e.TurnID {
			return nil, fmt.Errorf("events: turn id %q is not a canonical UUID", e.TurnID)
		}
	}
	data := bytes.TrimSpace(e.Data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("events: %s data must be a JSON object", e.Type)
	}
	if len(data) > MaxDataSize {
		return nil, fmt.Errorf("events: %s data is larger than %d bytes", e.Type, MaxDataSize)
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	// Compact also validates, and guarantees one line on the SSE `data:` field.
	if err := json.Compact(&buf, data); err != nil {
		return nil, fmt.Errorf("events: %s data: %w", e.Type, err)
	}
	if e.TurnID != "" {
		present, err := dataTurnID(buf.Bytes())
		if err != nil {
			return nil, err
		}
		if present == nil || *present != e.TurnID {
			return nil, fmt.Errorf("events: %s data must contain turn_id %q (use NewEvent)", e.Type, e.TurnID)
		}
	}
	return buf.Bytes(), nil
}
