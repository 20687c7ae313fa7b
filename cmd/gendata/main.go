// Command gendata fills the database with generated game sessions for the
// retrieval-at-scale benchmark (bench/campaign's ordinary play), with the
// vectors of one or more embedders, written with multi-row INSERTs. Either
// -sessions sessions of -messages messages each, or -sizes, sessions of
// very different sizes in one database ("40000x1,10000x2,1000x20,100x190,10x100":
// one session of 40,000 messages, two of 10,000, … = 100,000 messages).
// Sessions are written interleaved, in chunks of at most 500 messages in a
// shuffled order, as concurrent games would fill the table. Run it against
// a stack, then measure with `memorybench -scale`:
//
//	go run ./cmd/stack test -- sh -c 'go run ./cmd/gendata -sizes 40000x1,10000x2,1000x20,100x190,10x100 && go run ./cmd/memorybench -scale'
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
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

func main() {
	sessions := flag.Int("sessions", 1000, "sessions to create (without -sizes)")
	perSession := flag.Int("messages", 100, "messages per session (without -sizes)")
	sizes := flag.String("sizes", "", "sessions of mixed sizes, MESSAGESxSESSIONS comma-separated (e.g. 40000x1,10000x2,1000x20,100x190,10x100); overrides -sessions and -messages")
	mixed := flag.Bool("two-sentences", false, "join each message with a second sentence of generated play, so that far fewer messages repeat one another (the templates alone repeat most sentences in large sessions)")
	embedders := flag.String("embedder", "hash-384-v2", "the vectors written, comma-separated: hash-384-v2, wordvec (glove-100-sif) or wordvec+hash (glove-100-sif+hash-384-v2); the first is registered active")
	flag.Parse()
	plan := []int{}
	if *sizes == "" {
		for range *sessions {
			plan = append(plan, *perSession)
		}
	} else {
		var err error
		if plan, err = parseSizes(*sizes); err != nil {
			fmt.Fprintln(os.Stderr, "gendata: -sizes:", err)
			os.Exit(2)
		}
	}
	if err := run(plan, strings.Split(*embedders, ","), *mixed); err != nil {
		fmt.Fprintln(os.Stderr, "gendata:", err)
		os.Exit(1)
	}
}

// parseSizes reads "40000x1,10000x2": the message count of every session.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		m, n, ok := strings.Cut(strings.TrimSpace(part), "x")
		msgs, err1 := strconv.Atoi(m)
		count, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || msgs < 1 || count < 1 {
			return nil, fmt.Errorf("%q: want MESSAGESxSESSIONS", part)
		}
		for range count {
			out = append(out, msgs)
		}
	}
	return out, nil
}

// newEmbedder returns the embedder of a -embedder name and its registry name.
func newEmbedder(name string) (embed.Embedder, string, error) {
	switch name {
	case "hash-384-v2":
		e := embed.NewHashEmbedderV2(embed.DefaultDim)
		return e, e.Model(), nil
	case "wordvec":
		e, err := embed.NewWordVecEmbedder()
		return e, embed.WordVecModel, err
	case "wordvec+hash":
		e, err := embed.NewWordVecHashEmbedder()
		return e, embed.WordVecHashModel, err
	}
	return nil, "", fmt.Errorf("unknown embedder %q", name)
}

func run(plan []int, embedders []string, twoSentences bool) error {
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
	var embs []embed.Embedder
	for _, name := range embedders {
		emb, model, err := newEmbedder(name)
		if err != nil {
			return err
		}
		// Vectors refer to the registry: the model is registered (the
		// first active on a fresh database, the others building) with its
		// partial HNSW index.
		models := memory.NewModels(mem, emb, memory.ModelSpec{Provider: embed.Provider(emb.Model()), Name: model}, embed.Factory{})
		if _, err := models.EnsureConfigured(ctx); err != nil {
			return err
		}
		embs = append(embs, emb)
	}
	// Every session's messages, then chunks of them in a shuffled order.
	type chunk struct{ session, from, to int }
	ids := make([]uuid.UUID, len(plan))
	msgs := make([][]campaign.Message, len(plan))
	var chunks []chunk
	owner := uuid.New()
	total := 0
	for s, n := range plan {
		msgs[s] = campaign.Session(uint64(1000+s), (n+1)/2, 1, nil)[:n]
		if twoSentences {
			more := campaign.Session(uint64(900000+s), (n+1)/2, 1, nil)
			r := rand.New(rand.NewPCG(uint64(s), 3))
			for i := range msgs[s] {
				msgs[s][i].Content += " " + more[r.IntN(len(more))].Content
			}
		}
		if ids[s], err = store.ImportSession(ctx, owner, fmt.Sprintf("gendata %d", s)); err != nil {
			return err
		}
		for from := 0; from < n; from += 500 {
			chunks = append(chunks, chunk{s, from, min(from+500, n)})
		}
		total += n
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(chunks), func(i, j int) { chunks[i], chunks[j] = chunks[j], chunks[i] })
	// A session's chunks keep their order.
	next := make([]int, len(plan))
	for i, c := range chunks {
		from := next[c.session]
		chunks[i] = chunk{c.session, from, min(from+500, plan[c.session])}
		next[c.session] = chunks[i].to
	}
	fmt.Printf("gendata: %d sessions, %d messages, %d chunks, embedders %s\n", len(plan), total, len(chunks), strings.Join(embedders, ","))
	start := time.Now()
	done := 0
	for i, c := range chunks {
		in := make([]game.ImportMessage, 0, c.to-c.from)
		for _, m := range msgs[c.session][c.from:c.to] {
			in = append(in, game.ImportMessage{Role: m.Role, Content: m.Content})
		}
		stored, err := store.ImportMessages(ctx, ids[c.session], in)
		if err != nil {
			return err
		}
		for _, emb := range embs {
			if err := campaign.Embed(ctx, mem, emb, ids[c.session], stored, 100); err != nil {
				return err
			}
		}
		done += len(stored)
		if (i+1)%50 == 0 || i+1 == len(chunks) {
			fmt.Printf("gendata: %d of %d messages, %.0f messages/s\n", done, total, float64(done)/time.Since(start).Seconds())
		}
	}
	if _, err := pool.Exec(ctx, `ANALYZE game.messages, game.message_embeddings`); err != nil {
		return err
	}
	fmt.Printf("gendata: done in %.0f s (ANALYZE run)\n", time.Since(start).Seconds())
	return nil
}
