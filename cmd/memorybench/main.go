// Command memorybench measures memory quality: recall@k of planted facts
// in the retrieved context, for vector-only, keyword-only and hybrid
// retrieval with the hash embedder, on scripted campaigns. It needs a
// database; run it with the test stack:
//
//	go run ./cmd/stack test -- go run ./cmd/memorybench
//
// Each campaign (one seed) is a session of -turns player/DM turns with the
// 24 facts of bench/campaign planted in the first -plant turns; after it,
// every fact's question is asked as the next player message: the last
// -recent messages are the prompt's recent window (excluded from
// retrieval, as in a real turn), and a fact counts as recalled when its
// message is among the top -k retrieved.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

var (
	searchTweaks = func(*memory.Searcher) {}
	scaleRun     bool
	scaleQueries int
)

func main() {
	seeds := flag.Int("campaigns", 5, "campaigns (seeds 1..n)")
	turns := flag.Int("turns", 300, "turns per campaign (two messages each)")
	plant := flag.Int("plant", 60, "facts are planted within the first N turns")
	k := flag.Int("k", 8, "retrieved messages per question")
	recent := flag.Int("recent", 12, "recent messages in the prompt, excluded from retrieval")
	verbose := flag.Bool("v", false, "list every miss")
	kwWeight := flag.Float64("keyword-weight", 0, "keyword weight in fusion (0 = the searcher's default)")
	rrfK := flag.Float64("rrf-k", 0, "RRF constant (0 = the searcher's default)")
	scaleMode := flag.Bool("scale", false, "measure retrieval latency and HNSW recall over cmd/gendata's sessions instead")
	queries := flag.Int("queries", 200, "queries of -scale")
	flag.Parse()
	scaleRun = *scaleMode
	scaleQueries = *queries
	searchTweaks = func(s *memory.Searcher) {
		if *kwWeight > 0 {
			s.KeywordWeight = *kwWeight
		}
		if *rrfK > 0 {
			s.RRFK = *rrfK
		}
	}
	if err := run(*seeds, *turns, *plant, *k, *recent, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "memorybench:", err)
		os.Exit(1)
	}
}

func run(seeds, turns, plant, k, recent int, verbose bool) error {
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("DATABASE_URL is not set: run under `go run ./cmd/stack test -- go run ./cmd/memorybench`")
	}
	pool, err := postgres.Open(ctx, url, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	var version, vector string
	_ = pool.QueryRow(ctx, `SELECT version(), (SELECT extversion FROM pg_extension WHERE extname = 'vector')`).Scan(&version, &vector)

	store := game.NewStore(pool)
	mem := memory.NewStore(pool)
	emb := embed.NewHashEmbedderV2(embed.DefaultDim)
	models := memory.NewModels(mem, emb, memory.ModelSpec{Provider: "hash", Name: emb.Model()}, embed.Factory{})
	if _, err := models.EnsureConfigured(ctx); err != nil {
		return err
	}
	search := memory.NewSearcher(mem, models)
	searchTweaks(search)
	if scaleRun {
		fmt.Printf("database %s; pgvector %s; %s/%s, %d CPUs\n", strings.SplitN(version, ",", 2)[0], vector, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
		return scale(ctx, pool, search, emb, scaleQueries, k, []int{40, 100, 200})
	}
	fmt.Printf("fusion: RRF k=%g, vector weight %g, keyword weight %g, %d candidates per method\n", search.RRFK, search.VectorWeight, search.KeywordWeight, search.Candidates)

	modes := []struct {
		name string
		mode memory.Mode
	}{{"vector", memory.VectorOnly}, {"keyword", memory.KeywordOnly}, {"hybrid", memory.Hybrid}}
	hits := make([]int, len(modes))
	rr := make([]float64, len(modes))
	asked := 0
	var misses []string
	start := time.Now()
	for seed := 1; seed <= seeds; seed++ {
		msgs := campaign.Session(uint64(seed), turns, plant, campaign.Facts)
		sessionID, stored, err := campaign.Load(ctx, store, mem, emb, uuid.New(), fmt.Sprintf("memorybench campaign %d", seed), msgs, 200)
		if err != nil {
			return err
		}
		var exclude []uuid.UUID
		for _, m := range stored[max(0, len(stored)-recent):] {
			exclude = append(exclude, m.ID)
		}
		factMsg := map[int]uuid.UUID{}
		for i, m := range msgs {
			if m.Fact >= 0 {
				factMsg[m.Fact] = stored[i].ID
			}
		}
		for f, fact := range campaign.Facts {
			asked++
			qv, err := emb.Embed(ctx, []string{fact.Question})
			if err != nil {
				return err
			}
			q := game.Query{Text: fact.Question, Vector: embed.VectorText(qv[0]), Model: emb.Model()}
			for mi, m := range modes {
				res, err := search.SearchMode(ctx, sessionID, q, m.mode, k, exclude)
				if err != nil {
					return err
				}
				rank := 0
				for i, r := range res {
					if r.Message.ID == factMsg[f] {
						rank = i + 1
						break
					}
				}
				if rank > 0 {
					hits[mi]++
					rr[mi] += 1 / float64(rank)
				} else if m.mode == memory.Hybrid {
					misses = append(misses, fmt.Sprintf("campaign %d: %q (vector rank %d, keyword rank %d of %d)", seed, fact.Question,
						rankIn(ctx, search, sessionID, q, memory.VectorOnly, exclude, factMsg[f]), rankIn(ctx, search, sessionID, q, memory.KeywordOnly, exclude, factMsg[f]), diagDepth))
				}
			}
		}
	}
	fmt.Printf("memorybench: %d campaigns × %d turns (%d messages each), %d planted facts each, %d questions; k=%d, recent window %d\n",
		seeds, turns, 2*turns, len(campaign.Facts), asked, k, recent)
	fmt.Printf("embedder %s; database %s; pgvector %s; %s/%s, %d CPUs; %.1fs\n\n",
		emb.Model(), strings.SplitN(version, ",", 2)[0], vector, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), time.Since(start).Seconds())
	fmt.Printf("| retrieval | recall@%d | MRR@%d |\n|---|---|---|\n", k, k)
	for i, m := range modes {
		fmt.Printf("| %s | %.3f | %.3f |\n", m.name, float64(hits[i])/float64(asked), rr[i]/float64(asked))
	}
	if verbose || len(misses) <= 10 {
		for _, m := range misses {
			fmt.Println("hybrid missed:", m)
		}
	}
	return nil
}

// diagDepth is how deep a miss's ranks are looked up, for the report.
const diagDepth = 50

// rankIn is the 1-based rank of id in one method's top diagDepth, 0 if absent.
func rankIn(ctx context.Context, s *memory.Searcher, sessionID uuid.UUID, q game.Query, mode memory.Mode, exclude []uuid.UUID, id uuid.UUID) int {
	res, err := s.SearchMode(ctx, sessionID, q, mode, diagDepth, exclude)
	if err != nil {
		return -1
	}
	for i, r := range res {
		if r.Message.ID == id {
			return i + 1
		}
	}
	return 0
}
