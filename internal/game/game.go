// Package game is Bright Dawn's domain: characters, sessions, messages and
// turns, with every read and write scoped to the player who owns it.
package game

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// Limits on what players may store.
const (
	MaxNameLen      = 64
	MaxClassLen     = 32
	MaxTitleLen     = 120
	MaxContentRunes = 8000
	MaxNotesRunes   = 4000
	MaxInventory    = 100
	MaxItemRunes    = 100
	MaxPageSize     = 100
	DefaultPageSize = 50
	MaxMemoryK      = 50
	MaxQueryRunes   = 1000
	MaxIdemKeyLen   = 128
)

// Character is a player's character.
type Character struct {
	ID              uuid.UUID   `json:"id"`
	PlayerID        uuid.UUID   `json:"-"`
	Name            string      `json:"name"`
	Class           string      `json:"class"`
	Level           int         `json:"level"`
	Sheet           rules.Sheet `json:"sheet"`
	PortraitAssetID *uuid.UUID  `json:"portrait_asset_id,omitempty"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	// SheetVersion counts the sheet's writes (a turn applies its changes
	// only to the version its engine read).
	SheetVersion int64 `json:"-"`
}

// CharacterInput creates a character.
type CharacterInput struct {
	Name  string `json:"name"`
	Class string `json:"class"`
	Level *int   `json:"level"`
	// Sheet is read with the rule pack's Normalize (API.md: str/dex…,
	// plain-string items).
	Sheet json.RawMessage `json:"sheet"`
}

// CharacterPatch changes some fields of a character.
type CharacterPatch struct {
	Name  *string         `json:"name"`
	Class *string         `json:"class"`
	Level *int            `json:"level"`
	Sheet json.RawMessage `json:"sheet"`
	// PortraitAssetID sets (a ready portrait asset of the player's) or,
	// with null, clears the portrait.
	PortraitAssetID OptionalID `json:"portrait_asset_id"`
	// IfMatch is the client's If-Match header: the ETag of the version the
	// patch was made against ("" or "*" = any version).
	IfMatch string `json:"-"`
}

// ETag names a character's version for If-Match: its last update, to the
// microsecond Postgres keeps.
func (c Character) ETag() string {
	return fmt.Sprintf(`"%d"`, c.UpdatedAt.UnixMicro())
}

// Session is a game session.
type Session struct {
	ID          uuid.UUID  `json:"id"`
	OwnerID     uuid.UUID  `json:"owner_id"`
	Title       string     `json:"title"`
	CharacterID *uuid.UUID `json:"character_id"`
	// DiceCommitment is the commitment of the session's open seed, from
	// which the players' own rolls are drawn (revealed when a turn of the
	// session is accepted; docs/DICE.md).
	DiceCommitment *string   `json:"dice_commitment,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	// ForkedFrom is the session this one was forked from, at the message
	// ForkedAtMessageID of that session (docs/STORY.md).
	ForkedFrom        *uuid.UUID `json:"forked_from,omitempty"`
	ForkedAtMessageID *uuid.UUID `json:"forked_at_message_id,omitempty"`
	// Mode is how the party's messages become turns: "free" (each is a
	// turn) or "rounds" (docs/PARTY.md); RoundTimeout is a round's time in
	// seconds.
	Mode         string `json:"mode"`
	RoundTimeout int    `json:"round_timeout"`
}

// SessionInput creates a session.
type SessionInput struct {
	Title       string     `json:"title"`
	CharacterID *uuid.UUID `json:"character_id"`
}

// Message roles.
const (
	RolePlayer = "player"
	RoleDM     = "dm"
	RoleSystem = "system"
)

// Message is one line of a session's story.
type Message struct {
	ID        uuid.UUID  `json:"id"`
	SessionID uuid.UUID  `json:"session_id"`
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	TurnID    *uuid.UUID `json:"turn_id"`
	AuthorID  *uuid.UUID `json:"author_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Seq       int64      `json:"-"`
	// Visibility is "public" or "private" (a whisper: seen by PrivateTo
	// and the DM only, docs/PARTY.md).
	Visibility string     `json:"visibility"`
	PrivateTo  *uuid.UUID `json:"-"`
}

// Message visibilities.
const (
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Turn statuses.
const (
	StatusQueued     = "queued"
	StatusEmbedding  = "embedding"
	StatusRetrieving = "retrieving"
	StatusGenerating = "generating"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
)

// Final reports whether a status ends a turn.
func Final(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCancelled
}

// TurnError is why a turn failed.
type TurnError struct {
	Code    FailureCode `json:"code"`
	Message string      `json:"message"`
}

// ContextItem is one message or lore entry that entered a turn's prompt.
type ContextItem struct {
	MessageID uuid.UUID `json:"message_id,omitzero"` // zero for lore and the summary
	Score     float64   `json:"score"`
	Source    string    `json:"source"` // "vector", "keyword", "hybrid", "recent", "lore", "summary"
	Role      string    `json:"role,omitempty"`
	Tokens    int       `json:"tokens,omitempty"`
	// VectorScore is the cosine similarity and KeywordScore the ts_rank
	// of a retrieved message, when that method found it; Score is then
	// the fused (reciprocal rank) score.
	VectorScore  float64 `json:"vector_score,omitempty"`
	KeywordScore float64 `json:"keyword_score,omitempty"`
	// A lore entry (Source "lore") is recorded with its id, title, the key
	// that matched (empty when it is always included) and the content that
	// went into the prompt, so a retried generate stage uses the same text.
	LoreID  string `json:"lore_id,omitempty"`
	Title   string `json:"title,omitempty"`
	Matched string `json:"matched,omitempty"`
	Always  bool   `json:"always,omitempty"`
	Content string `json:"content,omitempty"`
	// The rolling summary (Source "summary") is recorded with its content
	// and the last message it covers.
	ThroughMessageID *uuid.UUID `json:"through_message_id,omitempty"`
}

// Timings are the stage timestamps of a turn.
type Timings struct {
	EmbedStartedAt    *time.Time `json:"embed_started_at,omitempty"`
	EmbedEndedAt      *time.Time `json:"embed_ended_at,omitempty"`
	RetrieveStartedAt *time.Time `json:"retrieve_started_at,omitempty"`
	RetrieveEndedAt   *time.Time `json:"retrieve_ended_at,omitempty"`
	GenerateStartedAt *time.Time `json:"generate_started_at,omitempty"`
	GenerateEndedAt   *time.Time `json:"generate_ended_at,omitempty"`
	FinishedAt        *time.Time `json:"finished_at,omitempty"`
}

// Turn is the processing of one player message into a DM reply.
type Turn struct {
	ID               uuid.UUID     `json:"id"`
	SessionID        uuid.UUID     `json:"session_id"`
	PlayerID         uuid.UUID     `json:"-"`
	PlayerMessageID  uuid.UUID     `json:"player_message_id"`
	DMMessageID      *uuid.UUID    `json:"dm_message_id,omitempty"`
	Status           string        `json:"status"`
	Error            *TurnError    `json:"error,omitempty"`
	Provider         string        `json:"provider,omitempty"`
	Model            string        `json:"model,omitempty"`
	Seed             int64         `json:"-"`
	Attempts         int           `json:"attempts"`
	Context          []ContextItem `json:"context,omitempty"`
	PromptTokens     *int          `json:"prompt_tokens,omitempty"`
	CompletionTokens *int          `json:"completion_tokens,omitempty"`
	Timings          Timings       `json:"timings"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
	IdempotencyKey   *string       `json:"-"`
	// DiceCommitment is hex(sha256(dice seed)), public from acceptance;
	// DiceSeed is the seed, set only once the turn is final (the store
	// keeps it in diceSeed until then).
	DiceCommitment string         `json:"dice_commitment,omitempty"`
	DiceSeed       string         `json:"dice_seed,omitempty"`
	Rolls          []Roll         `json:"rolls,omitempty"`
	Changes        []ChangeRecord `json:"changes,omitempty"`
	// Alternatives are the DM replies to the turn's player message, one
	// per regeneration, with Selected on the one the story continues
	// from (GET /api/turns/{id}; docs/STORY.md).
	Alternatives []Alternative `json:"alternatives,omitempty"`
	diceSeed     []byte
	// PrivateTo is set on a whisper's turn: its events and messages are
	// that player's alone.
	PrivateTo *uuid.UUID `json:"-"`
}

// Roll is one stored roll (API.md): a turn's (actor "dm") or a player's own.
type Roll struct {
	ID     uuid.UUID  `json:"id"`
	TurnID *uuid.UUID `json:"turn_id,omitempty"`
	Actor  RollActor  `json:"actor"`
	// SeedCommitment names the session seed a player's own roll was drawn
	// from (GET /api/sessions/{id}/seeds/{commitment} serves it); empty on
	// a turn's rolls, whose seed is the turn's.
	SeedCommitment string `json:"seed_commitment,omitempty"`
	dice.Roll
}

// SessionSeed is one of a session's seeds for player rolls with the rolls
// drawn from it in order: the seed itself (hex) only once revealed (a turn
// of the session was accepted after those rolls).
type SessionSeed struct {
	Commitment string     `json:"commitment"`
	DiceSeed   string     `json:"dice_seed,omitempty"`
	OpenedAt   time.Time  `json:"opened_at"`
	RevealedAt *time.Time `json:"revealed_at,omitempty"`
	Rolls      []Roll     `json:"rolls"`
}

// RollActor is who rolled: the DM (the engine, during a turn) or a player.
type RollActor struct {
	DM          bool
	PlayerID    *uuid.UUID
	CharacterID *uuid.UUID
}

// MarshalJSON writes "dm" or {player_id, character_id?}.
func (a RollActor) MarshalJSON() ([]byte, error) {
	if a.DM {
		return []byte(`"dm"`), nil
	}
	return json.Marshal(struct {
		PlayerID    *uuid.UUID `json:"player_id,omitempty"`
		CharacterID *uuid.UUID `json:"character_id,omitempty"`
	}{a.PlayerID, a.CharacterID})
}

// ChangeRecord is one stored change of a character's sheet (API.md history).
type ChangeRecord struct {
	ID          uuid.UUID  `json:"id"`
	CharacterID uuid.UUID  `json:"character_id"`
	TurnID      *uuid.UUID `json:"turn_id"`
	SessionID   *uuid.UUID `json:"session_id"`
	At          time.Time  `json:"at"`
	rules.Change
	Seq int64 `json:"-"`
}

// History is one page of a character's changes, newest first.
type History struct {
	Changes    []ChangeRecord `json:"changes"`
	NextBefore *uuid.UUID     `json:"next_before"`
}

// MemoryResult is one answer of a memory search.
type MemoryResult struct {
	Message Message `json:"message"`
	Score   float64 `json:"score"`
	Source  string  `json:"source,omitempty"`
	// VectorScore (cosine similarity) and KeywordScore (ts_rank) are the
	// methods' own scores; Score is their reciprocal rank fusion.
	VectorScore  float64 `json:"vector_score,omitempty"`
	KeywordScore float64 `json:"keyword_score,omitempty"`
}
