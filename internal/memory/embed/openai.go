package embed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
)

// OpenAIOptions configure an OpenAI-compatible embeddings endpoint.
type OpenAIOptions struct {
	// BaseURL ends in /v1: https://api.openai.com/v1,
	// http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM).
	BaseURL string
	APIKey  string // bearer token when set
	Model   string // e.g. text-embedding-3-small, nomic-embed-text
	Dim     int    // the vector length the model returns (checked)
	// SendDimensions sends `dimensions: Dim`, which OpenAI's
	// text-embedding-3 models use to shorten their vectors; other
	// models and servers may reject it.
	SendDimensions bool
	BatchSize      int // texts per request; 0 = 64
	Retry          httpretry.Policy
	HTTP           *http.Client
}

// OpenAIEmbedder embeds texts with POST {BaseURL}/embeddings.
type OpenAIEmbedder struct {
	o OpenAIOptions
}

var _ Embedder = (*OpenAIEmbedder)(nil)

// NewOpenAIEmbedder returns an embedder.
func NewOpenAIEmbedder(o OpenAIOptions) *OpenAIEmbedder {
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	return &OpenAIEmbedder{o: o}
}

// Model returns "openai:<model>@<dim>": the same model at another
// dimension is another vector space.
func (e *OpenAIEmbedder) Model() string { return fmt.Sprintf("openai:%s@%d", e.o.Model, e.o.Dim) }

// Dim returns the vector length.
func (e *OpenAIEmbedder) Dim() int { return e.o.Dim }

// Embed sends the texts in batches and returns their vectors in order.
func (e *OpenAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return inBatches(ctx, texts, e.o.BatchSize, e.embedBatch)
}

type embeddingsRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type embeddingsResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

func (e *OpenAIEmbedder) embedBatch(ctx context.Context, texts []string) ([][]float32, error) {
	in := make([]string, len(texts))
	for i, t := range texts {
		// OpenAI refuses an empty input string; any placeholder embeds
		// to "nothing in particular", which is what an empty text is.
		if strings.TrimSpace(t) == "" {
			t = "(empty)"
		}
		in[i] = t
	}
	req := embeddingsRequest{Model: e.o.Model, Input: in, EncodingFormat: "float"}
	if e.o.SendDimensions {
		req.Dimensions = e.o.Dim
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, done, err := httpretry.Do(ctx, e.o.HTTP, e.o.Retry, func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, e.o.BaseURL+"/embeddings", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/json")
		if e.o.APIKey != "" {
			r.Header.Set("Authorization", "Bearer "+e.o.APIKey)
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("openai embeddings: %w", err)
	}
	defer done()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("openai embeddings: read: %w", err)
	}
	var er embeddingsResponse
	if err := json.Unmarshal(b, &er); err != nil {
		return nil, fmt.Errorf("openai embeddings: decode: %w", err)
	}
	if len(er.Data) != len(texts) {
		return nil, fmt.Errorf("openai embeddings: %d vectors for %d texts", len(er.Data), len(texts))
	}
	sort.Slice(er.Data, func(i, j int) bool { return er.Data[i].Index < er.Data[j].Index })
	out := make([][]float32, len(texts))
	for i, d := range er.Data {
		if d.Index != i {
			return nil, fmt.Errorf("openai embeddings: indexes are not 0..%d", len(texts)-1)
		}
		if err := checkVector(d.Embedding, e.o.Dim); err != nil {
			return nil, fmt.Errorf("openai embeddings: %w", err)
		}
		out[i] = d.Embedding
	}
	return out, nil
}
