package embed

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// checkVector refuses a provider's vector of the wrong length, or one that
// pgvector's cosine distance cannot order (a zero or non-finite vector).
func checkVector(v []float32, dim int) error {
	if len(v) != dim {
		return fmt.Errorf("vector of %d dimensions, configured EMBED_DIM is %d", len(v), dim)
	}
	var sum float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return errors.New("vector has a non-finite component")
		}
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return errors.New("vector is all zeros")
	}
	return nil
}

// ParseVectors reads the output of an embedding model on Replicate, whose
// shape differs between models: a list of vectors ([[...], ...]), a list of
// objects with an "embedding" ([{"embedding": [...]}]), an object with
// "embeddings" or "vectors", or a single vector when one text was sent.
// It returns exactly want vectors or an error.
func ParseVectors(raw []byte, want int) ([][]float32, error) {
	var lists [][]float32
	if json.Unmarshal(raw, &lists) == nil && len(lists) > 0 {
		return count(lists, want)
	}
	var objs []struct {
		Embedding []float32 `json:"embedding"`
	}
	if json.Unmarshal(raw, &objs) == nil && len(objs) > 0 && objs[0].Embedding != nil {
		out := make([][]float32, len(objs))
		for i, o := range objs {
			out[i] = o.Embedding
		}
		return count(out, want)
	}
	var obj struct {
		Embeddings [][]float32 `json:"embeddings"`
		Vectors    [][]float32 `json:"vectors"`
		Embedding  []float32   `json:"embedding"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		switch {
		case obj.Embeddings != nil:
			return count(obj.Embeddings, want)
		case obj.Vectors != nil:
			return count(obj.Vectors, want)
		case obj.Embedding != nil:
			return count([][]float32{obj.Embedding}, want)
		}
	}
	var one []float32
	if json.Unmarshal(raw, &one) == nil && len(one) > 0 {
		return count([][]float32{one}, want)
	}
	return nil, errors.New("output is not a list of vectors")
}

func count(vs [][]float32, want int) ([][]float32, error) {
	if len(vs) != want {
		return nil, fmt.Errorf("%d vectors for %d texts", len(vs), want)
	}
	return vs, nil
}

// VectorText formats a vector in pgvector's text form.
func VectorText(v []float32) string {
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', 7, 32))
	}
	b.WriteByte(']')
	return b.String()
}
