package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/codeofconquest/brightdawn/bench/campaign"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/memory/wordnet"
)

// cost measures what each embedder costs without a database: the time to
// build it (for wordvec: reading and parsing the table at WORDVEC_TABLE, once per process),
// the heap it keeps, and the latency of embedding one message at a time on
// one core (p50/p99 over a campaign's messages).
func cost(names []string) error {
	runtime.GOMAXPROCS(1)
	msgs := campaign.Session(1, 1000, 60, campaign.Facts)
	fmt.Printf("| embedder | build (start-up) | heap kept | embed p50 | embed p99 | messages |\n|---|---|---|---|---|---|\n")
	for _, n := range names {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		e, err := newEmbedder(n)
		if err != nil {
			return err
		}
		built := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		lat := make([]time.Duration, 0, len(msgs))
		for _, m := range msgs {
			t := time.Now()
			if _, err := e.Embed(context.Background(), []string{m.Content}); err != nil {
				return err
			}
			lat = append(lat, time.Since(t))
		}
		slices.Sort(lat)
		fmt.Printf("| `%s` | %s | %.1f MiB | %s | %s | %d |\n", e.Model(), built.Round(time.Millisecond),
			float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), lat[len(lat)/2], lat[len(lat)*99/100], len(lat))
		runtime.KeepAlive(e)
	}
	expand, err := memory.ExpandWithWordVectors(3)
	if err != nil {
		return err
	}
	var lat []time.Duration
	for _, f := range campaign.Facts {
		kws := embed.Keywords(f.Question)
		t := time.Now()
		expand(kws)
		lat = append(lat, time.Since(t))
	}
	for _, q := range campaign.Paraphrases {
		kws := embed.Keywords(q)
		t := time.Now()
		expand(kws)
		lat = append(lat, time.Since(t))
	}
	cold := slices.Clone(lat)
	slices.Sort(cold)
	fmt.Printf("\nquery expansion, first time each question's words are seen: p50 %s, p99 %s\n", cold[len(cold)/2], cold[len(cold)*99/100])
	lat = lat[:0]
	for _, q := range append(slices.Clone(campaign.Paraphrases), campaign.Paraphrases...) {
		kws := embed.Keywords(q)
		t := time.Now()
		expand(kws)
		lat = append(lat, time.Since(t))
	}
	slices.Sort(lat)
	fmt.Printf("query expansion (3 neighbours per keyword), words seen before (cached): p50 %s, p99 %s over %d questions\n", lat[len(lat)/2], lat[len(lat)*99/100], len(lat))
	return wordNetCost()
}

// wordNetCost measures the WordNet table (WORDNET_TABLE, or beside
// WORDVEC_TABLE): reading and parsing it, the heap it keeps, and its part
// of query expansion per question.
func wordNetCost() error {
	path := wordnet.TablePath(embed.WordVecTablePath())
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	wn, err := wordnet.Load(path)
	if err != nil {
		return err
	}
	loaded := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	var lat []time.Duration
	var words int
	for range 10 {
		for _, q := range append(slices.Clone(campaign.Paraphrases), campaignQuestions()...) {
			kws := embed.Keywords(q)
			t := time.Now()
			out := wn.Expand(kws)
			lat = append(lat, time.Since(t))
			words += len(out) - len(kws)
		}
	}
	slices.Sort(lat)
	fmt.Printf("\nWordNet table %s: %d lemmas, loaded in %s, heap kept %.1f MiB; its expansion p50 %s, p99 %s per question, %.1f words added per question, over %d questions\n",
		path, wn.Len(), loaded.Round(time.Millisecond), float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20),
		lat[len(lat)/2], lat[len(lat)*99/100], float64(words)/float64(len(lat)), len(lat))
	runtime.KeepAlive(wn)
	return nil
}

// campaignQuestions are the planted facts' questions.
func campaignQuestions() []string {
	var qs []string
	for _, f := range campaign.Facts {
		qs = append(qs, f.Question)
	}
	return qs
}
