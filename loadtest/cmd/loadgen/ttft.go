package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/loadtest/fakemodel"
)

// runTTFT measures the pipeline's overhead on time to first token: the
// DM is an OpenAI-compatible fake model (in this process, so its clock is
// ours) with a fixed first-token delay. Each of -concurrency players keeps
// its session stream open (as the web client does) and plays turns one
// after another; per turn:
//
//	client TTFT   = first dm.delta received − POST sent
//	model TTFT    = model's first token sent − model's request received
//	overhead      = client TTFT − model TTFT  (everything the pipeline adds)
//	  before model = model's request received − POST sent (API, 3 queue hops, embed, retrieve, prompt)
//	  delivery     = first dm.delta received − model's first token sent (provider read, publish, Redis, hub, SSE)
func runTTFT(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("ttft", 10*time.Minute)
	conc := fs.Int("concurrency", 1, "players playing turns at the same time")
	turns := fs.Int("turns", 100, "measured turns in all (after the warm-up)")
	warm := fs.Int("warmup", 2, "turns per player before measuring")
	think := fs.Duration("think", 0, "each player waits a random time in [0, think) before each message, as players read and type (0: back to back, all players in step)")
	stagger := fs.Duration("stagger", 0, "spread the players' first messages evenly over this time, so that back-to-back players keep -concurrency turns in flight without arriving together (set it to about one turn's length)")
	first := fs.Duration("first-token", 100*time.Millisecond, "fake model: delay before the first token")
	rate := fs.Float64("rate", 100, "fake model: tokens per second")
	ntok := fs.Int("tokens", 20, "fake model: tokens per reply")
	profile := fs.String("profile", "cpu-ttft.pprof", "where -pprof saves the CPU profile")
	records := fs.String("records", "", "also write one JSON line per measured turn here (turn number, stages)")
	fs.Parse(args)
	if *conc < 1 || *turns < 1 || *warm < 0 || *ntok < 1 || *rate < 0 || *first < 0 || *think < 0 || *stagger < 0 {
		return errors.New("-concurrency, -turns and -tokens must be at least 1; -warmup, -rate, -first-token, -think and -stagger not negative")
	}
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()

	var interval time.Duration
	if *rate > 0 {
		interval = time.Duration(float64(time.Second) / *rate)
	}
	fm := fakemodel.New(fakemodel.Options{FirstToken: *first, TokenInterval: interval, Tokens: *ntok})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: fm}
	go hs.Serve(ln)
	defer hs.Close()
	modelURL := "http://" + ln.Addr().String() + "/v1"

	srv, err := startServer(ctx, &c, "DM_PROVIDER=openai", "DM_MODEL=fake", "OPENAI_BASE_URL="+modelURL,
		"OPENAI_API_KEY=", "PROVIDER_MAX_RETRIES=0")
	if err != nil {
		return err
	}
	defer srv.stop()
	if c.base != "" {
		fmt.Fprintf(os.Stderr, "note: -base given; the server must use DM_PROVIDER=openai OPENAI_BASE_URL=%s\n", modelURL)
	}

	var (
		mu                                          sync.Mutex
		clientTTFT, modelTTFT, overhead, pre, deliv dist
		outcomes                                    = map[string]int{}
		remaining                                   atomic.Int64
		stageDists                                  = map[string]dist{}
	)
	remaining.Store(int64(*turns))
	var rec *json.Encoder
	if *records != "" {
		f, err := os.Create(*records)
		if err != nil {
			return err
		}
		defer f.Close()
		rec = json.NewEncoder(f)
	}
	began := time.Now()
	var profErr error
	var wg sync.WaitGroup
	if c.pprof {
		wg.Go(func() { profErr = saveCPUProfile(ctx, srv, 20, *profile) })
	}
	errc := make(chan error, *conc)
	for i := 0; i < *conc; i++ {
		wg.Go(func() {
			offset := *stagger * time.Duration(i) / time.Duration(*conc)
			err := ttftPlayer(ctx, srv.URL, i, *warm, *think, offset, &remaining, fm, func(r ttftResult) {
				mu.Lock()
				defer mu.Unlock()
				outcomes[r.final]++
				if r.final != events.TypeDMDone {
					return
				}
				clientTTFT = append(clientTTFT, r.delta.Sub(r.posted))
				modelTTFT = append(modelTTFT, r.model.FirstToken.Sub(r.model.Received))
				pre = append(pre, r.model.Received.Sub(r.posted))
				deliv = append(deliv, r.delta.Sub(r.model.FirstToken))
				overhead = append(overhead, r.delta.Sub(r.posted)-r.model.FirstToken.Sub(r.model.Received))
				for k, d := range r.stages {
					stageDists[k] = append(stageDists[k], d)
				}
				if rec != nil {
					ms := map[string]float64{}
					for k, d := range r.stages {
						ms[k] = float64(d) / 1e6
					}
					_ = rec.Encode(map[string]any{"player": r.player, "turn": r.n, "stages_ms": ms,
						"overhead_ms": float64(r.delta.Sub(r.posted)-r.model.FirstToken.Sub(r.model.Received)) / 1e6,
						"delivery_ms": float64(r.delta.Sub(r.model.FirstToken)) / 1e6})
				}
			})
			if err != nil {
				errc <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(errc)
	elapsed := time.Since(began)
	c.printLogs(srv)
	var errs []error
	for e := range errc {
		errs = append(errs, e)
	}
	if profErr != nil {
		errs = append(errs, fmt.Errorf("profile: %w", profErr))
	}
	fmt.Printf("client TTFT   %s\nmodel TTFT    %s\noverhead      %s\n  before model %s\n  delivery     %s\n",
		clientTTFT, modelTTFT, overhead, pre, deliv)
	breakdown := map[string]any{}
	for _, k := range stageNames {
		if d := stageDists[k]; len(d) > 0 {
			fmt.Printf("    %-18s %s\n", k, d)
			breakdown[k] = d.summary()
		}
	}
	report(&c, "ttft", map[string]any{
		"before_model_breakdown": breakdown,
		"concurrency":            *conc, "think": think.String(), "stagger": stagger.String(), "turns": len(overhead), "outcomes": outcomes, "seconds": elapsed.Seconds(),
		"fake_model":  map[string]any{"first_token": first.String(), "tokens_per_s": *rate, "tokens": *ntok},
		"client_ttft": clientTTFT.summary(), "model_ttft": modelTTFT.summary(),
		"overhead": overhead.summary(), "before_model": pre.summary(), "delivery": deliv.summary(),
	})
	if c.svgOut != "" {
		title := fmt.Sprintf("time to first token: %d turns, %d at a time (fake model %s)", len(overhead), *conc, first)
		if err := writeDistSVG(c.svgOut, title, []namedDist{
			{"client TTFT", clientTTFT}, {"model TTFT", modelTTFT}, {"overhead", overhead},
			{"before model", pre}, {"delivery", deliv},
		}); err != nil {
			errs = append(errs, fmt.Errorf("-svg: %w", err))
		}
	}
	return errors.Join(errs...)
}

type ttftResult struct {
	player, n               int
	posted, answered, delta time.Time
	model                   fakemodel.Timing
	final                   string
	stages                  map[string]time.Duration
}

// stageNames order the breakdown of the time before the model.
var stageNames = []string{"post_answered", "post_to_turn_row", "to_embed", "embed", "to_retrieve", "retrieve", "to_generate", "generate_to_model"}

// stages splits the time before the model with the turn's own timestamps
// (Postgres now() of each write: the same machine's clock).
func stages(r ttftResult, t turnTimings) map[string]time.Duration {
	out := map[string]time.Duration{"post_answered": r.answered.Sub(r.posted), "post_to_turn_row": t.CreatedAt.Sub(r.posted)}
	tm := t.Timings
	if tm.EmbedStartedAt == nil || tm.EmbedEndedAt == nil || tm.RetrieveStartedAt == nil || tm.RetrieveEndedAt == nil || tm.GenerateStartedAt == nil {
		return out
	}
	out["to_embed"] = tm.EmbedStartedAt.Sub(t.CreatedAt)
	out["embed"] = tm.EmbedEndedAt.Sub(*tm.EmbedStartedAt)
	out["to_retrieve"] = tm.RetrieveStartedAt.Sub(*tm.EmbedEndedAt)
	out["retrieve"] = tm.RetrieveEndedAt.Sub(*tm.RetrieveStartedAt)
	out["to_generate"] = tm.GenerateStartedAt.Sub(*tm.RetrieveEndedAt)
	out["generate_to_model"] = r.model.Received.Sub(*tm.GenerateStartedAt)
	return out
}

type turnTimings struct {
	CreatedAt time.Time `json:"created_at"`
	Timings   struct {
		EmbedStartedAt    *time.Time `json:"embed_started_at"`
		EmbedEndedAt      *time.Time `json:"embed_ended_at"`
		RetrieveStartedAt *time.Time `json:"retrieve_started_at"`
		RetrieveEndedAt   *time.Time `json:"retrieve_ended_at"`
		GenerateStartedAt *time.Time `json:"generate_started_at"`
	} `json:"timings"`
}

type stamped struct {
	e  events.Event
	at time.Time
}

// ttftPlayer plays turns until the shared budget is spent.
func ttftPlayer(ctx context.Context, base string, n, warm int, think, offset time.Duration, remaining *atomic.Int64, fm *fakemodel.Server, done func(ttftResult)) error {
	p, err := register(ctx, base)
	if err != nil {
		return err
	}
	sid, err := p.newSession(ctx, fmt.Sprintf("ttft %d", n))
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	resp, err := p.openStream(sctx, "/api/sessions/"+sid+"/events", "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ch := make(chan stamped, 4096)
	go func() {
		defer close(ch)
		_ = events.Read(sctx, resp.Body, func(e events.Event) bool {
			select {
			case ch <- stamped{e, time.Now()}:
				return true
			case <-sctx.Done():
				return false
			}
		})
	}()
	select {
	case <-time.After(offset):
	case <-ctx.Done():
		return ctx.Err()
	}
	for k := 0; ; k++ {
		measured := k >= warm
		if measured && remaining.Add(-1) < 0 {
			return nil
		}
		if think > 0 {
			select {
			case <-time.After(rand.N(think)):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		id := fmt.Sprintf("p%d-t%d", n, k)
		r := ttftResult{player: n, n: k, posted: time.Now()}
		turnID, err := p.post(ctx, sid, fmt.Sprintf("I light a torch and look around. [lt:%s]", id))
		if err != nil {
			return fmt.Errorf("post: %w", err)
		}
		r.answered = time.Now()
		deadline := time.NewTimer(60 * time.Second)
	wait:
		for {
			select {
			case s, ok := <-ch:
				if !ok {
					deadline.Stop()
					return fmt.Errorf("session stream ended: %v", ctx.Err())
				}
				if s.e.TurnID != turnID {
					continue
				}
				if s.e.Type == events.TypeDMDelta && r.delta.IsZero() {
					r.delta = s.at
				}
				if events.IsTerminal(s.e.Type) {
					r.final = s.e.Type
					break wait
				}
			case <-deadline.C:
				return fmt.Errorf("turn %s did not end within 60s", turnID)
			case <-ctx.Done():
				deadline.Stop()
				return ctx.Err()
			}
		}
		deadline.Stop()
		if !measured {
			continue
		}
		t, ok := fm.Timing(id)
		if !ok && r.final == events.TypeDMDone {
			return fmt.Errorf("the fake model never saw turn %s (marker %s)", turnID, id)
		}
		r.model = t
		var tt struct{ Turn turnTimings }
		if err := p.call(ctx, "GET", "/api/turns/"+turnID, nil, &tt, 200); err == nil {
			r.stages = stages(r, tt.Turn)
		}
		done(r)
	}
}
