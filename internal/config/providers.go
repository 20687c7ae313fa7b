package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Providers configure the network embedders and Dungeon Master models
// (EMBED_PROVIDER / DM_PROVIDER other than hash / offline).
type Providers struct {
	// DMModel is the chat model (openai: "gpt-4o-mini", "llama3.1") or the
	// Replicate model ("meta/meta-llama-3-8b-instruct[:version]").
	DMModel           string        `env:"DM_MODEL"`
	DMMaxTokens       int           `env:"DM_MAX_TOKENS" envDefault:"400"`
	DMFirstToken      time.Duration `env:"DM_FIRST_TOKEN_TIMEOUT" envDefault:"30s"`
	DMTimeout         time.Duration `env:"DM_TIMEOUT" envDefault:"3m"`
	PromptTokenBudget int           `env:"PROMPT_TOKEN_BUDGET" envDefault:"3000"`

	// EmbedBatchSize is how many texts one embeddings request carries.
	EmbedBatchSize int `env:"EMBED_BATCH_SIZE" envDefault:"64"`
	// EmbedSendDimensions sends `dimensions` to /v1/embeddings: auto sends
	// it for OpenAI's text-embedding-3 models only.
	EmbedSendDimensions string `env:"EMBED_SEND_DIMENSIONS" envDefault:"auto"`
	// EmbedReplicateInput names the Replicate model's input for the batch.
	EmbedReplicateInput string `env:"EMBED_REPLICATE_INPUT" envDefault:"texts"`
	ReembedBatchSize    int    `env:"REEMBED_BATCH_SIZE" envDefault:"200"`
	HNSWEfSearch        int    `env:"HNSW_EF_SEARCH" envDefault:"100"`
	// HNSWExactMax is the largest session, in vectors, that the memory
	// search compares exactly instead of searching the HNSW graph
	// (memory.Searcher.ExactMax).
	HNSWExactMax int `env:"HNSW_EXACT_MAX" envDefault:"50000"`
	// HNSWMaxScanTuples is the least scan budget of the graph search
	// (hnsw.max_scan_tuples, raised by the session's share of the table).
	HNSWMaxScanTuples int `env:"HNSW_MAX_SCAN_TUPLES" envDefault:"20000"`
	// MemoryRecencyWeight is the memory search's recency prior on every
	// result (memory.Searcher.RecencyWeight); 0 turns it off.
	MemoryRecencyWeight float64 `env:"MEMORY_RECENCY_WEIGHT" envDefault:"0"`
	// MemorySupersedeOverlap is the memory search's supersession rule
	// (memory.Searcher.SupersedeOverlap): how much two retrieved messages'
	// answer sentences must overlap for the newer to take the older's
	// place; 0 turns it off.
	MemorySupersedeOverlap float64 `env:"MEMORY_SUPERSEDE_OVERLAP" envDefault:"0.25"`
	// MemoryExpand is how many word-vector neighbours of each keyword the
	// memory search adds to its keyword terms; 0 turns expansion off.
	MemoryExpand int `env:"MEMORY_EXPAND" envDefault:"3"`
	// MemoryExpandWordNet adds WordNet's words (synonyms, hypernyms,
	// narrow hyponyms; WORDNET_TABLE) to expansion when MemoryExpand > 0.
	MemoryExpandWordNet bool `env:"MEMORY_EXPAND_WORDNET" envDefault:"true"`

	ProviderRetries        int           `env:"PROVIDER_MAX_RETRIES" envDefault:"3"`
	ProviderRequestTimeout time.Duration `env:"PROVIDER_REQUEST_TIMEOUT" envDefault:"30s"`

	OpenAIBaseURL string `env:"OPENAI_BASE_URL" envDefault:"https://api.openai.com/v1"`
	OpenAIAPIKey  string `env:"OPENAI_API_KEY"`

	ReplicateToken          string `env:"REPLICATE_API_TOKEN"`
	ReplicateBaseURL        string `env:"REPLICATE_BASE_URL" envDefault:"https://api.replicate.com"`
	ReplicateMaxTokensInput string `env:"REPLICATE_MAX_TOKENS_INPUT" envDefault:"max_tokens"`
}

// SendDimensions resolves EMBED_SEND_DIMENSIONS for the configured model.
func (g *Game) SendDimensions() bool {
	switch g.Providers.EmbedSendDimensions {
	case "true":
		return true
	case "false":
		return false
	}
	return strings.HasPrefix(g.EmbedModel, "text-embedding-3")
}

// modelName is what a model name may contain: it ends up in SQL index
// predicates (as a quoted literal) and in file-safe index names.
var modelName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$`)

// replicateModel is "owner/name" with an optional ":version".
var replicateModel = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9]+)?$`)

func (g *Game) validateProviders(bad func(name, format string, args ...any)) {
	p := &g.Providers
	needsOpenAI, needsReplicate := false, false
	if g.EmbedDim < 1 || g.EmbedDim > 2000 {
		bad("EMBED_DIM", "must be between 1 and 2000 (pgvector's HNSW limit), got %d", g.EmbedDim)
	}
	switch g.EmbedProvider {
	case "hash":
		v1, v2 := fmt.Sprintf("hash-%d", g.EmbedDim), fmt.Sprintf("hash-%d-v2", g.EmbedDim)
		if g.EmbedModel != v1 && g.EmbedModel != v2 {
			bad("EMBED_MODEL", "the hash embedder's model is %q (stemmed, the default) or %q for EMBED_DIM=%d, got %q", v2, v1, g.EmbedDim, g.EmbedModel)
		}
	case "wordvec":
		if !(g.EmbedModel == "glove-100-sif" && g.EmbedDim == 100) && !(g.EmbedModel == "glove-100-sif+hash-384-v2" && g.EmbedDim == 484) {
			bad("EMBED_MODEL", "the wordvec embedder's model is glove-100-sif with EMBED_DIM=100 or glove-100-sif+hash-384-v2 with EMBED_DIM=484, got %q and %d", g.EmbedModel, g.EmbedDim)
		}
	case "openai":
		needsOpenAI = true
		if g.EmbedModel == "" || strings.HasPrefix(g.EmbedModel, "hash-") || !modelName.MatchString(g.EmbedModel) {
			bad("EMBED_MODEL", "must name the embedding model of the server (e.g. text-embedding-3-small, nomic-embed-text), got %q", g.EmbedModel)
		}
	case "replicate":
		needsReplicate = true
		if !replicateModel.MatchString(g.EmbedModel) {
			bad("EMBED_MODEL", "must be a Replicate model owner/name[:version] (e.g. nateraw/bge-large-en-v1.5), got %q", g.EmbedModel)
		}
		if p.EmbedReplicateInput == "" {
			bad("EMBED_REPLICATE_INPUT", "must name the model's input for the texts")
		}
	default:
		bad("EMBED_PROVIDER", "unknown provider %q (available: hash, wordvec, openai, replicate)", g.EmbedProvider)
	}
	switch p.EmbedSendDimensions {
	case "auto", "true", "false":
	default:
		bad("EMBED_SEND_DIMENSIONS", "must be auto, true or false, got %q", p.EmbedSendDimensions)
	}
	if p.EmbedBatchSize < 1 || p.EmbedBatchSize > 2048 {
		bad("EMBED_BATCH_SIZE", "must be between 1 and 2048")
	}
	if p.ReembedBatchSize < 1 || p.ReembedBatchSize > 5000 {
		bad("REEMBED_BATCH_SIZE", "must be between 1 and 5000")
	}
	if p.HNSWEfSearch < 10 || p.HNSWEfSearch > 1000 {
		bad("HNSW_EF_SEARCH", "must be between 10 and 1000")
	}
	if p.HNSWExactMax < 0 || p.HNSWExactMax > 1_000_000 {
		bad("HNSW_EXACT_MAX", "must be between 0 and 1000000")
	}
	if p.HNSWMaxScanTuples < 100 || p.HNSWMaxScanTuples > 100_000_000 {
		bad("HNSW_MAX_SCAN_TUPLES", "must be between 100 and 100000000")
	}
	if !(p.MemoryRecencyWeight >= 0 && p.MemoryRecencyWeight <= 1) {
		bad("MEMORY_RECENCY_WEIGHT", "must be between 0 and 1")
	}
	if !(p.MemorySupersedeOverlap >= 0 && p.MemorySupersedeOverlap <= 1) {
		bad("MEMORY_SUPERSEDE_OVERLAP", "must be between 0 and 1")
	}
	if p.MemoryExpand < 0 || p.MemoryExpand > 10 {
		bad("MEMORY_EXPAND", "must be between 0 and 10")
	}

	switch g.DMProvider {
	case "offline":
	case "openai":
		needsOpenAI = true
		if p.DMModel == "" || !modelName.MatchString(p.DMModel) {
			bad("DM_MODEL", "must name the chat model of the server (e.g. gpt-4o-mini, llama3.1), got %q", p.DMModel)
		}
	case "replicate":
		needsReplicate = true
		if !replicateModel.MatchString(p.DMModel) {
			bad("DM_MODEL", "must be a Replicate model owner/name[:version] (e.g. meta/meta-llama-3-8b-instruct), got %q", p.DMModel)
		}
	default:
		bad("DM_PROVIDER", "unknown provider %q (available: offline, openai, replicate)", g.DMProvider)
	}
	if p.DMMaxTokens < 16 || p.DMMaxTokens > 32000 {
		bad("DM_MAX_TOKENS", "must be between 16 and 32000")
	}
	if p.DMFirstToken < time.Second {
		bad("DM_FIRST_TOKEN_TIMEOUT", "must be at least 1s")
	}
	if p.DMTimeout < p.DMFirstToken {
		bad("DM_TIMEOUT", "must be at least DM_FIRST_TOKEN_TIMEOUT")
	}
	if p.PromptTokenBudget < 256 || p.PromptTokenBudget > 1_000_000 {
		bad("PROMPT_TOKEN_BUDGET", "must be between 256 and 1000000")
	}
	if p.ProviderRetries < 0 || p.ProviderRetries > 10 {
		bad("PROVIDER_MAX_RETRIES", "must be between 0 and 10")
	}
	if p.ProviderRequestTimeout < time.Second {
		bad("PROVIDER_REQUEST_TIMEOUT", "must be at least 1s")
	}
	if needsOpenAI {
		if u, err := url.Parse(p.OpenAIBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("OPENAI_BASE_URL", "must be an http(s) URL ending in /v1, got %q", p.OpenAIBaseURL)
		}
	}
	if needsReplicate {
		if p.ReplicateToken == "" {
			bad("REPLICATE_API_TOKEN", "is required for the replicate provider")
		}
		if u, err := url.Parse(p.ReplicateBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("REPLICATE_BASE_URL", "must be an http(s) URL, got %q", p.ReplicateBaseURL)
		}
	}
}
