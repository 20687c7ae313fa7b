// Command memorybench measures memory quality: recall@k and MRR of
// remembered facts in the retrieved context, for vector-only, keyword-only
// and hybrid retrieval (without and with the recency prior), for each
// embedder of -embedders side by side, on scripted campaigns. It needs a
// database; run it with the test stack:
//
//	go run ./cmd/stack test -- go run ./cmd/memorybench
//
// Each campaign (one seed) is a session of -turns player/DM turns with the
// 24 facts of bench/campaign planted in the first -plant turns; after it,
// every fact's question is asked as the next player message: the last
// -recent messages are the prompt's recent window (excluded from
// retrieval, as in a real turn), and a fact counts as recalled when its
// message is among the top -k retrieved. Three sets are asked:
//
//   - planted: each fact's own question;
//   - paraphrase: campaign.Paraphrases, the same facts asked in other words;
//   - corrections: a second session per seed where each of
//     campaign.Corrections is stated early and changed in the second half;
//     recall is of the newer statement, and "newer first" counts the
//     questions whose newer statement is retrieved and ranked above the
//     stale one.
//
// -half picks the items: "tune" (even indexes, used while tuning),
// "held-out" (odd indexes, looked at once, at the end) or "all".
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/httpretry"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

var (
	searchTweaks = func(*memory.Searcher) {}
	scaleRun     bool
	scaleQueries int
	scaleMinSize int
	scaleOnly    map[int]bool
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
	recency := flag.String("recency", "", "recency prior weights of hybrid search, comma-separated, one column each (empty = the searcher's default)")
	embedders := flag.String("embedders", "hash-384-v2,wordvec,wordvec+hash", "embedders compared, comma-separated: hash-384, hash-384-v2, wordvec, wordvec+hash, openai:<model>@<dim> (OPENAI_BASE_URL, OPENAI_API_KEY)")
	half := flag.String("half", "tune", "items asked: tune (even), held-out (odd) or all")
	expand := flag.Int("expand", 3, "add up to N word-vector neighbours of each keyword to the keyword search (0 = off; MEMORY_EXPAND)")
	costMode := flag.Bool("cost", false, "measure each embedder's start-up, memory and latency (no database) instead")
	scaleMode := flag.Bool("scale", false, "measure retrieval latency and HNSW recall over cmd/gendata's sessions instead")
	queries := flag.Int("queries", 30, "queries of -scale per session-size bucket")
	exactMax := flag.Int("exact-max", 0, "-scale: the searcher's exact-search limit in vectors (0 = the default; HNSW_EXACT_MAX)")
	minSize := flag.Int("min-size", 0, "-scale: leave out sessions with fewer vectors")
	variants := flag.String("variants", "", "-scale: only these searches, by their row number from 0 (comma-separated; empty = all)")
	flag.Parse()
	scaleRun = *scaleMode
	scaleMinSize = *minSize
	for _, v := range strings.Split(*variants, ",") {
		if i, err := strconv.Atoi(v); err == nil {
			if scaleOnly == nil {
				scaleOnly = map[int]bool{}
			}
			scaleOnly[i] = true
		}
	}
	scaleQueries = *queries
	searchTweaks = func(s *memory.Searcher) {
		if *kwWeight > 0 {
			s.KeywordWeight = *kwWeight
		}
		if *exactMax > 0 {
			s.ExactMax = *exactMax
		}
		if *rrfK > 0 {
			s.RRFK = *rrfK
		}
		if *expand > 0 {
			expand, err := memory.ExpandWithWordVectors(*expand)
			if err != nil {
				panic(err)
			}
			s.Expand = expand
		}
	}
	var weights []float64
	for _, w := range strings.Split(*recency, ",") {
		if w == "" {
			continue
		}
		f, err := strconv.ParseFloat(w, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "memorybench: -recency:", err)
			os.Exit(2)
		}
		weights = append(weights, f)
	}
	if *costMode {
		if err := cost(strings.Split(*embedders, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "memorybench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(strings.Split(*embedders, ","), weights, *half, *seeds, *turns, *plant, *k, *recent, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "memorybench:", err)
		os.Exit(1)
	}
}

// newEmbedder returns the embedder of a -embedders name.
func newEmbedder(name string) (embed.Embedder, error) {
	switch name {
	case "hash-384":
		return embed.NewHashEmbedder(embed.DefaultDim), nil
	case "hash-384-v2":
		return embed.NewHashEmbedderV2(embed.DefaultDim), nil
	case "wordvec":
		return embed.NewWordVecEmbedder()
	case "wordvec+hash":
		return embed.NewWordVecHashEmbedder()
	}
	// openai:<model>@<dim>, at OPENAI_BASE_URL (e.g. Ollama's
	// http://localhost:11434/v1) with OPENAI_API_KEY.
	if model, ok := strings.CutPrefix(name, "openai:"); ok {
		model, dim, _ := strings.Cut(model, "@")
		d, err := strconv.Atoi(dim)
		if err != nil || model == "" {
			return nil, fmt.Errorf("embedder %q: want openai:<model>@<dim>", name)
		}
		return embed.NewOpenAIEmbedder(embed.OpenAIOptions{BaseURL: os.Getenv("OPENAI_BASE_URL"), APIKey: os.Getenv("OPENAI_API_KEY"),
			Model: model, Dim: d, SendDimensions: strings.HasPrefix(model, "text-embedding-3"), Retry: httpretry.DefaultPolicy, HTTP: &http.Client{}}), nil
	}
	return nil, fmt.Errorf("unknown embedder %q", name)
}

// question is one item of a set: its text, the message that answers it
// and, for a correction, the stale message it must outrank.
type question struct {
	set, text     string
	session       uuid.UUID
	answer, stale uuid.UUID
	exclude       []uuid.UUID
}

// tally is one (set, embedder, mode) cell.
type tally struct {
	asked, hits, newer int
	rr                 float64
}

func run(embNames []string, recency []float64, half string, seeds, turns, plant, k, recent int, verbose bool) error {
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("DATABASE_URL is not set: run under `go run ./cmd/stack test -- go run ./cmd/memorybench`")
	}
	pick := func(i int) bool {
		switch half {
		case "tune":
			return !campaign.HeldOut(i)
		case "held-out":
			return campaign.HeldOut(i)
		}
		return true
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

	var embs []embed.Embedder
	for _, n := range embNames {
		e, err := newEmbedder(n)
		if err != nil {
			return err
		}
		embs = append(embs, e)
	}
	store := game.NewStore(pool)
	mem := memory.NewStore(pool)
	// Every model is registered (vectors refer to the registry); the first
	// is the active one, the others are registered as being built.
	var models *memory.Models
	for i := len(embs) - 1; i >= 0; i-- {
		e := embs[i]
		name := e.Model()
		if _, n, ok := strings.Cut(name, ":"); ok {
			name = n
		}
		if embed.Provider(e.Model()) == "openai" {
			name, _, _ = strings.Cut(name, "@")
		}
		models = memory.NewModels(mem, e, memory.ModelSpec{Provider: embed.Provider(e.Model()), Name: name}, embed.Factory{})
		if _, err := models.EnsureConfigured(ctx); err != nil {
			return err
		}
	}
	search := memory.NewSearcher(mem, models)
	searchTweaks(search)
	if scaleRun {
		fmt.Printf("database %s; pgvector %s; %s/%s, %d CPUs\n", strings.SplitN(version, ",", 2)[0], vector, runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
		for _, e := range embs {
			if err := scale(ctx, pool, mem, search, e, scaleQueries, k, scaleMinSize, scaleOnly); err != nil {
				return err
			}
		}
		return nil
	}
	if recency == nil {
		recency = []float64{search.RecencyWeight}
	}
	fmt.Printf("fusion: RRF k=%g, vector weight %g, keyword weight %g, %d candidates per method\n",
		search.RRFK, search.VectorWeight, search.KeywordWeight, search.Candidates)

	type mode struct {
		name   string
		mode   memory.Mode
		search *memory.Searcher
	}
	modes := []mode{{"vector", memory.VectorOnly, search}, {"keyword", memory.KeywordOnly, search}}
	for _, w := range append([]float64{0}, recency...) {
		s := *search
		s.RecencyWeight = w
		name := "hybrid, RRF only"
		if w > 0 {
			name = fmt.Sprintf("hybrid, recency %g", w)
		} else if len(modes) > 2 {
			continue
		}
		modes = append(modes, mode{name, memory.Hybrid, &s})
	}

	start := time.Now()
	var qs []question
	load := func(title string, msgs []campaign.Message) (uuid.UUID, []game.Message, []uuid.UUID, error) {
		id, stored, err := campaign.Load(ctx, store, mem, embs[0], uuid.New(), title, msgs, 200)
		if err != nil {
			return id, nil, nil, err
		}
		for _, e := range embs[1:] {
			if err := campaign.Embed(ctx, mem, e, id, stored, 200); err != nil {
				return id, nil, nil, err
			}
		}
		var exclude []uuid.UUID
		for _, m := range stored[max(0, len(stored)-recent):] {
			exclude = append(exclude, m.ID)
		}
		return id, stored, exclude, nil
	}
	for seed := 1; seed <= seeds; seed++ {
		msgs := campaign.Session(uint64(seed), turns, plant, campaign.Facts)
		id, stored, exclude, err := load(fmt.Sprintf("memorybench campaign %d", seed), msgs)
		if err != nil {
			return err
		}
		factMsg := map[int]uuid.UUID{}
		for i, m := range msgs {
			if m.Fact >= 0 {
				factMsg[m.Fact] = stored[i].ID
			}
		}
		for f, fact := range campaign.Facts {
			if pick(f) {
				qs = append(qs, question{set: "planted", text: fact.Question, session: id, answer: factMsg[f], exclude: exclude},
					question{set: "paraphrase", text: campaign.Paraphrases[f], session: id, answer: factMsg[f], exclude: exclude})
			}
		}
		msgs = campaign.Corrected(uint64(100+seed), turns, plant, recent, campaign.Corrections)
		id, stored, exclude, err = load(fmt.Sprintf("memorybench corrections %d", seed), msgs)
		if err != nil {
			return err
		}
		olds, news := map[int]uuid.UUID{}, map[int]uuid.UUID{}
		for i, m := range msgs {
			if m.Fact >= 0 {
				olds[m.Fact] = stored[i].ID
			}
			if m.Update >= 0 {
				news[m.Update] = stored[i].ID
			}
		}
		for c, corr := range campaign.Corrections {
			if pick(c) {
				qs = append(qs, question{set: "corrections", text: corr.Question, session: id, answer: news[c], stale: olds[c], exclude: exclude})
			}
		}
	}
	loaded := time.Since(start)

	sets := []string{"planted", "paraphrase", "corrections"}
	cells := map[[3]int]*tally{}
	var misses []string
	for ei, e := range embs {
		for _, q := range qs {
			si := slices.Index(sets, q.set)
			qv, err := e.Embed(ctx, []string{q.text})
			if err != nil {
				return err
			}
			gq := game.Query{Text: q.text, Vector: embed.VectorText(qv[0]), Model: e.Model()}
			for mi, m := range modes {
				res, err := m.search.SearchMode(ctx, q.session, gq, m.mode, k, q.exclude)
				if err != nil {
					return err
				}
				rank, stale := rankOf(res, q.answer), rankOf(res, q.stale)
				c := cells[[3]int{si, ei, mi}]
				if c == nil {
					c = &tally{}
					cells[[3]int{si, ei, mi}] = c
				}
				c.asked++
				if rank > 0 {
					c.hits++
					c.rr += 1 / float64(rank)
					if stale == 0 || rank < stale {
						c.newer++
					}
				}
				if rank == 0 && mi == len(modes)-1 || q.set == "corrections" && mi == len(modes)-1 && stale > 0 && stale < rank {
					misses = append(misses, fmt.Sprintf("%s, %s: %q (rank %d, stale rank %d)", e.Model(), q.set, q.text, rank, stale))
				}
			}
		}
	}
	fmt.Printf("memorybench: %d campaigns × %d turns (%d messages each), half %q: %d questions; k=%d, recent window %d\n",
		seeds, turns, 2*turns, half, len(qs), k, recent)
	fmt.Printf("database %s; pgvector %s; %s/%s, %d CPUs; loaded in %.1fs, total %.1fs\n\n",
		strings.SplitN(version, ",", 2)[0], vector, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loaded.Seconds(), time.Since(start).Seconds())
	fmt.Printf("| set | embedder | retrieval | recall@%d | MRR@%d | newer first |\n|---|---|---|---|---|---|\n", k, k)
	for si, set := range sets {
		for ei, e := range embs {
			for mi, m := range modes {
				c := cells[[3]int{si, ei, mi}]
				if c == nil {
					continue
				}
				newer := "–"
				if set == "corrections" {
					newer = fmt.Sprintf("%d/%d", c.newer, c.asked)
				}
				fmt.Printf("| %s | `%s` | %s | %.3f | %.3f | %s |\n", set, e.Model(), m.name, float64(c.hits)/float64(c.asked), c.rr/float64(c.asked), newer)
			}
		}
	}
	if verbose {
		for _, m := range misses {
			fmt.Println("missed:", m)
		}
	}
	return nil
}

// rankOf is the 1-based rank of id in rs, 0 if absent (or id is nil).
func rankOf(rs []game.MemoryResult, id uuid.UUID) int {
	if id == uuid.Nil {
		return 0
	}
	for i, r := range rs {
		if r.Message.ID == id {
			return i + 1
		}
	}
	return 0
}
