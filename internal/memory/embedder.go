// Package memory is what the Dungeon Master remembers: it turns messages into
// vectors (embedders) and estimates how much of a prompt budget a text uses.
//
// The package is pure: nothing here talks to a database or the network except
// the network embedders, which arrive with issue #4.
package memory

import "context"

// Embedder turns texts into vectors. Implementations: hash (now), openai and
// replicate (issue #4).
//
// A vector is only comparable with vectors from the same Model, so the model
// name is stored next to every vector; changing it means re-embedding.
type Embedder interface {
	// Model names the embedding model, for example "hash-384".
	Model() string
	// Dim is the length of every vector Embed returns.
	Dim() int
	// Embed returns one vector per text, in order. It honours ctx: a
	// cancelled context ends the batch with ctx.Err().
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}
