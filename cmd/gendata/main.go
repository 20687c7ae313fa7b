// Command gendata fills the database with generated game sessions for the
// retrieval-at-scale benchmark: -sessions sessions of -messages messages
// each (bench/campaign's ordinary play), with hash-384-v2 vectors (the default model), written
// with multi-row INSERTs. Run it against a stack, then measure with
// `memorybench -scale`:
//
//	go run ./cmd/stack test -- sh -c 'go run ./cmd/gendata -sessions 1000 -messages 100 && go run ./cmd/memorybench -scale'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

func main() {
	sessions := flag.Int("sessions", 1000, "sessions to create")
	perSession := flag.Int("messages", 100, "messages per session")
	embedder := flag.String("embedder", "hash-384-v2", "the vectors written: hash-384-v2, wordvec (glove-100-sif) or wordvec+hash (glove-100-sif+hash-384-v2)")
	flag.Parse()
	if err := run(*sessions, *perSession, *embedder); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

func run(sessions, perSession int, embedder string) error {
	ctx := context.Background()
	pool, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	store := game.NewStore(pool)
	mem := memory.NewStore(pool)
	var emb embed.Embedder = embed.NewHashEmbedderV2(embed.DefaultDim)
	name := emb.Model()
	switch embedder {
	case "hash-384-v2":
	case "wordvec":
		emb, err = embed.NewWordVecEmbedder()
		name = embed.WordVecModel
	case "wordvec+hash":
		emb, err = embed.NewWordVecHashEmbedder()
		name = embed.WordVecHashModel
	default:
		err = fmt.Errorf("unknown embedder %q", embedder)
	}
	if err != nil {
		return err
	}
	// Vectors refer to the registry: the model is registered (active on a
	// fresh database) with its partial HNSW index.
	models := memory.NewModels(mem, emb, memory.ModelSpec{Provider: embed.Provider(emb.Model()), Name: name}, embed.Factory{})
	if _, err := models.EnsureConfigured(ctx); err != nil {
		return err
	}
	start := time.Now()
	owner := uuid.New()
	for s := 0; s < sessions; s++ {
		msgs := campaign.Session(uint64(1000+s), (perSession+1)/2, 1, nil)[:perSession]
		if _, _, err := campaign.Load(ctx, store, mem, emb, owner, fmt.Sprintf("gendata %d", s), msgs, 100); err != nil {
			return err
		}
		if (s+1)%10 == 0 || s+1 == sessions {
			done := (s + 1) * perSession
			fmt.Printf("gendata: %d sessions, %d messages, %.0f messages/s\n", s+1, done, float64(done)/time.Since(start).Seconds())
		}
	}
	return nil
}
