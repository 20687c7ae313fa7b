package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
	"github.com/codeofconquest/brightdawn/workers"
)

// runTurns measures sustained turns per second end to end with the
// instant offline DM (DM_WORD_DELAY=0): -concurrency players each post a
// message, read its turn stream to the end (as k6 does) and post the next,
// for -duration after a warm-up. CPU use of conquest, the database and
// Redis over the window shows what bounds the rate.
func runTurns(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("turns", 10*time.Minute)
	conc := fs.Int("concurrency", 20, "players playing at the same time")
	dur := fs.Duration("duration", 60*time.Second, "measured window")
	warm := fs.Duration("warmup", 10*time.Second, "unmeasured start")
	maxTurns := fs.Int("max-turns", 100000, "bound on turns posted in all")
	profile := fs.String("profile", "cpu-turns.pprof", "where -pprof saves the CPU profile of the window")
	fs.Parse(args)
	if *conc < 1 || *dur <= 0 {
		return errors.New("-concurrency must be at least 1 and -duration positive")
	}
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()

	srv, err := startServer(ctx, &c, "DM_WORD_DELAY=0")
	if err != nil {
		return err
	}
	defer srv.stop()

	var (
		mu       sync.Mutex
		lat      dist
		outcomes = map[string]int{}
		posted   atomic.Int64
		measured atomic.Int64
		inWindow atomic.Bool
		stopAll  atomic.Bool
	)
	players := make([]*player, *conc)
	sessions := make([]string, *conc)
	for i := range players {
		p, err := register(ctx, srv.URL)
		if err != nil {
			return err
		}
		if sessions[i], err = p.newSession(ctx, fmt.Sprintf("throughput %d", i)); err != nil {
			return err
		}
		players[i] = p
	}
	var wg sync.WaitGroup
	errc := make(chan error, *conc)
	for i := range players {
		wg.Go(func() {
			p, sid := players[i], sessions[i]
			for k := 0; !stopAll.Load() && ctx.Err() == nil; k++ {
				if posted.Add(1) > int64(*maxTurns) {
					return
				}
				t0 := time.Now()
				turnID, err := p.post(ctx, sid, fmt.Sprintf("I open door number %d and step through.", k))
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("post: %w", err)
					}
					return
				}
				final, err := p.readTurn(ctx, turnID)
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("turn %s: %w", turnID, err)
					}
					return
				}
				if inWindow.Load() {
					measured.Add(1)
					mu.Lock()
					lat = append(lat, time.Since(t0))
					outcomes[final]++
					mu.Unlock()
				}
			}
		})
	}
	select {
	case <-time.After(*warm):
	case <-ctx.Done():
	}
	dbPID, redisPID := stackPIDs()
	procs := map[string]int{"database": dbPID, "redis": redisPID}
	for i, pid := range srv.pids() {
		procs[fmt.Sprintf("conquest-%d", i)] = pid
	}
	meter := newCPUMeter(procs)
	load0 := loadAvg()
	sql0, kinds0 := srv.statements(), srv.sqlKinds()
	inWindow.Store(true)
	t0 := time.Now()
	var profErr error
	if c.pprof {
		wg.Go(func() { profErr = saveCPUProfile(ctx, srv, int(dur.Seconds()), *profile) })
	}
	select {
	case <-time.After(*dur):
	case <-ctx.Done():
	}
	inWindow.Store(false)
	window := time.Since(t0)
	cpu := meter.percent()
	n := measured.Load()
	sqlPerTurn := 0.0
	var byKind []string
	if n > 0 {
		sqlPerTurn = float64(srv.statements()-sql0) / float64(n)
		byKind = kindDiff(kinds0, srv.sqlKinds(), n)
	}
	stopAll.Store(true)
	wg.Wait()
	close(errc)
	backlog := queueBacklog(ctx)
	var errs []error
	for e := range errc {
		errs = append(errs, e)
	}
	if profErr != nil {
		errs = append(errs, profErr)
	}
	c.printLogs(srv)
	fmt.Printf("turns/s %.1f over %s (%d turns); latency post→final %s; SQL round trips per turn %.1f (-count-sql; a batch is one)\n", float64(n)/window.Seconds(), window.Round(time.Millisecond), n, lat, sqlPerTurn)
	if len(byKind) > 0 {
		fmt.Println("SQL round trips per turn by kind (simple protocol; a batch's statements joined by ;):")
		for _, l := range byKind {
			fmt.Println(l)
		}
	}
	report(&c, "turns", map[string]any{
		"concurrency": *conc, "window_s": window.Seconds(), "turns": n, "turns_per_s": float64(n) / window.Seconds(),
		"outcomes": outcomes, "latency": lat.summary(), "cpu_percent_of_one_core": cpu,
		"load_average_at_start": load0, "queue_backlog_after": backlog, "sql_round_trips_per_turn": sqlPerTurn,
		"sql_round_trips_per_turn_by_kind": byKind,
	})
	if c.svgOut != "" {
		title := fmt.Sprintf("turn latency (post → final): %.1f turns/s, %d players", float64(n)/window.Seconds(), *conc)
		if err := writeDistSVG(c.svgOut, title, []namedDist{{"post → final", lat}}); err != nil {
			errs = append(errs, fmt.Errorf("-svg: %w", err))
		}
	}
	return errors.Join(errs...)
}

// queueBacklog reads asynq's pending list lengths (the stack's Redis).
func queueBacklog(ctx context.Context) map[string]int64 {
	out := map[string]int64{}
	url := os.Getenv("REDIS_URL")
	if url == "" {
		return out
	}
	opt, err := redisconn.Parse(url)
	if err != nil {
		return out
	}
	rdb := opt.NewClient()
	defer rdb.Close()
	for q := range workers.QueueWeights {
		n, _ := rdb.LLen(ctx, "asynq:{"+q+"}:pending").Result()
		out[q] = n
	}
	return out
}
