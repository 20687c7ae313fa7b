package embed

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
	"github.com/codeofconquest/brightdawn/internal/replicate"
)

// Factory builds embedders by provider, model name and dimension, with the
// process's credentials. Besides the configured model, a process needs the
// model being served while a re-embed to a new one runs.
type Factory struct {
	OpenAI    OpenAIOptions    // base URL, key, batch size, retry; Model and Dim are set per call
	Replicate ReplicateOptions // client, input field, batch size; Model and Dim per call
	// SendDimensions decides OpenAIOptions.SendDimensions per model name.
	SendDimensions func(model string) bool
}

// New returns the embedder of provider's model name at dim dimensions.
func (f Factory) New(provider, name string, dim int) (Embedder, error) {
	switch provider {
	case "hash":
		switch {
		case dim <= 0:
		case name == "hash-"+strconv.Itoa(dim):
			return NewHashEmbedder(dim), nil
		case name == "hash-"+strconv.Itoa(dim)+"-v2":
			return NewHashEmbedderV2(dim), nil
		}
		return nil, fmt.Errorf("memory: hash model %q does not match dimension %d (want hash-%d or hash-%d-v2)", name, dim, dim, dim)
	case "wordvec":
		switch {
		case name == WordVecModel && dim == WordVecDim:
			return NewWordVecEmbedder()
		case name == WordVecHashModel && dim == WordVecHashDim:
			return NewWordVecHashEmbedder()
		}
		return nil, fmt.Errorf("memory: wordvec model is %q (dimension %d) or %q (dimension %d), got %q and %d",
			WordVecModel, WordVecDim, WordVecHashModel, WordVecHashDim, name, dim)
	case "openai":
		o := f.OpenAI
		o.Model, o.Dim = name, dim
		if f.SendDimensions != nil {
			o.SendDimensions = f.SendDimensions(name)
		}
		if o.Retry == (httpretry.Policy{}) {
			o.Retry = httpretry.DefaultPolicy
		}
		return NewOpenAIEmbedder(o), nil
	case "replicate":
		o := f.Replicate
		if o.Client == nil {
			o.Client = &replicate.Client{Retry: httpretry.DefaultPolicy}
		}
		o.Model, o.Dim = name, dim
		return NewReplicateEmbedder(o), nil
	}
	return nil, fmt.Errorf("memory: unknown embedding provider %q", provider)
}

// Provider returns the provider of an embedder's Model() key: "hash",
// "wordvec", "openai" or "replicate".
func Provider(model string) string {
	if p, _, ok := strings.Cut(model, ":"); ok {
		return p
	}
	return "hash"
}
