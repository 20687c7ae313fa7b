package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/httpretry"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
	"github.com/codeofconquest/brightdawn/internal/replicate"
	"github.com/codeofconquest/brightdawn/workers"
)

// retryPolicy is the provider retry policy of the configuration.
func retryPolicy(cfg *config.Config) httpretry.Policy {
	p := httpretry.DefaultPolicy
	p.MaxRetries = cfg.Game.Providers.ProviderRetries
	p.AttemptTimeout = cfg.Game.Providers.ProviderRequestTimeout
	return p
}

func replicateClient(cfg *config.Config) *replicate.Client {
	pc := cfg.Game.Providers
	return &replicate.Client{BaseURL: pc.ReplicateBaseURL, Token: pc.ReplicateToken, HTTP: &http.Client{}, Retry: retryPolicy(cfg)}
}

// embedFactory builds embedders with this process's credentials.
func embedFactory(cfg *config.Config) embed.Factory {
	pc := cfg.Game.Providers
	return embed.Factory{
		OpenAI: embed.OpenAIOptions{BaseURL: pc.OpenAIBaseURL, APIKey: pc.OpenAIAPIKey, BatchSize: pc.EmbedBatchSize,
			Retry: retryPolicy(cfg), HTTP: &http.Client{}},
		Replicate:      embed.ReplicateOptions{Client: replicateClient(cfg), InputField: pc.EmbedReplicateInput, BatchSize: pc.EmbedBatchSize},
		SendDimensions: func(string) bool { return cfg.Game.SendDimensions() },
	}
}

// checkWordVectors loads the word-vector table (WORDVEC_TABLE, a file built
// by `go tool task wordvecs`, not part of the binary) and the WordNet table
// beside it (WORDNET_TABLE) when something needs them. The wordvec embedder
// cannot run without its table: start-up stops, saying how to build it.
// Query expansion (MEMORY_EXPAND) is a refinement: without a table its part
// of expansion is off, with a log line, so the default hash set-up starts
// without them.
func checkWordVectors(cfg *config.Config, log *slog.Logger) error {
	needs := cfg.Game.EmbedProvider == "wordvec"
	expand := cfg.Game.Providers.MemoryExpand > 0
	if !needs && !expand {
		return nil
	}
	_, err := embed.DefaultWordVectors()
	switch {
	case err == nil:
	case needs:
		return fmt.Errorf("config: EMBED_PROVIDER=wordvec needs the word-vector table: %w", err)
	case errors.Is(err, embed.ErrNoWordVectors):
		log.Info("memory query expansion has no word-vector neighbours: no word-vector table", "path", embed.WordVecTablePath(),
			"build", "go tool task wordvecs")
	default:
		return fmt.Errorf("config: MEMORY_EXPAND: %w", err)
	}
	if !expand || !cfg.Game.Providers.MemoryExpandWordNet {
		return nil
	}
	path := wordnet.TablePath(embed.WordVecTablePath())
	_, err = wordnet.LoadOnce(path)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, wordnet.ErrNoTable):
		log.Info("memory query expansion has no WordNet words: no WordNet table", "path", path, "build", "go tool task wordvecs")
		return nil
	}
	return fmt.Errorf("config: MEMORY_EXPAND: %w", err)
}

// embedModels returns the registry of embedding models with the configured
// embedder (EMBED_PROVIDER, EMBED_MODEL, EMBED_DIM).
func embedModels(cfg *config.Config, store *memory.Store) (*memory.Models, error) {
	f := embedFactory(cfg)
	e, err := f.New(cfg.Game.EmbedProvider, cfg.Game.EmbedModel, cfg.Game.EmbedDim)
	if err != nil {
		return nil, err
	}
	return memory.NewModels(store, e, memory.ModelSpec{Provider: cfg.Game.EmbedProvider, Name: cfg.Game.EmbedModel}, f), nil
}

// dmModel returns the configured Dungeon Master (DM_PROVIDER).
func dmModel(cfg *config.Config) dm.Model {
	pc := cfg.Game.Providers
	timeouts := dm.Timeouts{FirstToken: pc.DMFirstToken, Total: pc.DMTimeout}
	switch cfg.Game.DMProvider {
	case "openai":
		return dm.NewOpenAI(dm.OpenAIOptions{BaseURL: pc.OpenAIBaseURL, APIKey: pc.OpenAIAPIKey, Model: pc.DMModel,
			Retry: retryPolicy(cfg), Timeouts: timeouts})
	case "replicate":
		return dm.NewReplicate(dm.ReplicateOptions{Client: replicateClient(cfg), Model: pc.DMModel,
			MaxTokensInput: pc.ReplicateMaxTokensInput, Timeouts: timeouts})
	}
	return dm.NewOffline(dm.OfflineOptions{WordDelay: cfg.Game.DMWordDelay})
}

// startReembed registers the configured embedding model and, when it is not
// the one served, makes sure its re-embed job has a task.
func startReembed(ctx context.Context, a *app, g *gameParts) (*memory.ReembedJob, error) {
	job, err := g.models.EnsureConfigured(ctx)
	if err != nil || job == nil {
		return job, err
	}
	a.log.Info("embedding model changed: re-embedding every message", "model", job.Model, "from", job.FromModel, "job_id", job.ID)
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return job, workers.EnqueueReembed(ectx, g.asynq, *job)
}

func newSearcher(cfg *config.Config, store *memory.Store, models *memory.Models) (*memory.Searcher, error) {
	s := memory.NewSearcher(store, models)
	s.EfSearch = cfg.Game.Providers.HNSWEfSearch
	s.ExactMax = cfg.Game.Providers.HNSWExactMax
	s.ScanTuples = cfg.Game.Providers.HNSWMaxScanTuples
	s.RecencyWeight = cfg.Game.Providers.MemoryRecencyWeight
	s.SupersedeOverlap = cfg.Game.Providers.MemorySupersedeOverlap
	if n := cfg.Game.Providers.MemoryExpand; n > 0 {
		// checkWordVectors loaded what is there; a missing table leaves
		// its part of expansion out.
		wv, err := embed.DefaultWordVectors()
		if err != nil && !errors.Is(err, embed.ErrNoWordVectors) {
			return nil, err
		}
		var wn *wordnet.Table
		if cfg.Game.Providers.MemoryExpandWordNet {
			wn, err = wordnet.LoadOnce(wordnet.TablePath(embed.WordVecTablePath()))
			if err != nil && !errors.Is(err, wordnet.ErrNoTable) {
				return nil, err
			}
		}
		s.Expand = memory.NewExpand(n, wv, wn)
	}
	return s, nil
}
