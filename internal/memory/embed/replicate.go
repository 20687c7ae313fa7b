package embed

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/codeofconquest/brightdawn/internal/replicate"
)

// ReplicateOptions configure an embedding model on Replicate.
type ReplicateOptions struct {
	Client *replicate.Client
	// Model is "owner/name" or "owner/name:version", for example
	// "nateraw/bge-large-en-v1.5" or "replicate/all-mpnet-base-v2:<version>".
	Model string
	Dim   int
	// InputField names the model's input that takes the batch, sent as a
	// JSON-encoded list of strings: "texts" (bge, e5) or "text_batch"
	// (all-mpnet-base-v2).
	InputField string
	BatchSize  int           // texts per prediction; 0 = 32
	Poll       time.Duration // poll interval after `Prefer: wait` returns early; 0 = 500ms
}

// ReplicateEmbedder embeds texts with predictions of a Replicate model:
// created with `Prefer: wait`, then polled through urls.get until the
// prediction succeeds, fails or is cancelled.
type ReplicateEmbedder struct {
	o ReplicateOptions
}

var _ Embedder = (*ReplicateEmbedder)(nil)

// NewReplicateEmbedder returns an embedder.
func NewReplicateEmbedder(o ReplicateOptions) *ReplicateEmbedder {
	if o.InputField == "" {
		o.InputField = "texts"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	return &ReplicateEmbedder{o: o}
}

// Model returns "replicate:<model>@<dim>".
func (e *ReplicateEmbedder) Model() string { return fmt.Sprintf("replicate:%s@%d", e.o.Model, e.o.Dim) }

// Dim returns the vector length.
func (e *ReplicateEmbedder) Dim() int { return e.o.Dim }

// Embed runs one prediction per batch and returns the vectors in order.
// A prediction abandoned because ctx ended is cancelled.
func (e *ReplicateEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return inBatches(ctx, texts, e.o.BatchSize, e.embedBatch)
}

func (e *ReplicateEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	list, err := json.Marshal(texts)
	if err != nil {
		return nil, err
	}
	p, err := e.o.Client.Create(ctx, e.o.Model, map[string]any{e.o.InputField: string(list)}, false, 60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("replicate embeddings: create: %w", err)
	}
	if p, err = e.o.Client.Wait(ctx, p, e.o.Poll); err != nil {
		if ctx.Err() != nil {
			e.o.Client.Abandon(ctx, p)
		}
		return nil, fmt.Errorf("replicate embeddings: %w", err)
	}
	if p.Status != replicate.StatusSucceeded {
		return nil, fmt.Errorf("replicate embeddings: prediction %s %s: %s", p.ID, p.Status, p.ErrorText())
	}
	vs, err := ParseVectors(p.Output, len(texts))
	if err != nil {
		return nil, fmt.Errorf("replicate embeddings: prediction %s: %w", p.ID, err)
	}
	for _, v := range vs {
		if err := checkVector(v, e.o.Dim); err != nil {
			return nil, fmt.Errorf("replicate embeddings: %w", err)
		}
	}
	return vs, nil
}
