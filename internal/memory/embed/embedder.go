// Package embed turns what the Dungeon Master remembers into vectors
// (embedders) and estimates how much of a prompt budget a text uses.
//
// Nothing here talks to a database; only the openai and replicate embedders
// talk to the network.
package embed

import "context"

// Embedder turns texts into vectors. Implementations: hash, wordvec, openai
// and replicate.
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

// inBatches embeds texts size at a time with embed, the vectors in the
// texts' order.
func inBatches(ctx context.Context, texts []string, size int, embed func(context.Context, []string) ([][]float32, error)) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	for start := 0; start < len(texts); start += size {
		vs, err := embed(ctx, texts[start:min(start+size, len(texts))])
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}
