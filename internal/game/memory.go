package game

import (
	"context"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/memory/embed"
)

// The memory feature (internal/memory) is what the turn asks for its
// embedders and for the earlier messages worth remembering; these are the
// parts of it the pipeline and the service use.

// EmbeddingModels tells which embedders a message's vectors come from
// (implemented by *memory.Models).
type EmbeddingModels interface {
	// Serving is the embedder of the served model: queries are embedded
	// with the model whose vectors they are compared to.
	Serving(ctx context.Context) (embed.Embedder, error)
	// Writing are the embedders whose vectors new messages need.
	Writing(ctx context.Context) ([]embed.Embedder, error)
}

// MemorySearch finds a session's messages relevant to a text (implemented
// by *memory.Searcher).
type MemorySearch interface {
	// Search embeds q with the served model and returns the k most
	// relevant messages (hybrid), not counting the excluded ones.
	Search(ctx context.Context, sessionID uuid.UUID, q string, k int, exclude []uuid.UUID) ([]MemoryResult, error)
	// Recall is Search for a query already embedded.
	Recall(ctx context.Context, sessionID uuid.UUID, q Query, k int, exclude []uuid.UUID) ([]MemoryResult, error)
}

// Query is what a memory search looks for.
type Query struct {
	Text string
	// Vector is the text's embedding by Model in pgvector text form; when
	// empty, the search embeds Text with the served model.
	Vector string
	Model  string
	// Viewer is the player whose whispers may be found besides the public
	// messages; uuid.Nil finds public messages only (docs/PARTY.md).
	Viewer uuid.UUID
}

// Retrieval sources, as recorded on a turn's context.
const (
	SourceVector  = "vector"
	SourceKeyword = "keyword"
	SourceHybrid  = "hybrid" // found by both
	SourceRecent  = "recent"
)

// VectorRow is one message's vector.
type VectorRow struct {
	MessageID uuid.UUID
	SessionID uuid.UUID
	Vector    []float32
}
