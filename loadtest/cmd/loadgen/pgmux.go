package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// runPGMux reproduces the stall of PGlite's socket server under concurrent
// connections: -goroutines workers over a pool of -conns connections mix
// autocommit parameterised queries and short transactions (a count and an
// insert, the shape of PostMessage). An operation that takes longer than
// -op-timeout counts as stalled (pgx then closes its connection, which
// PGlite rolls back). Run it with -mode exec (the stack's URL) and
// -mode simple_protocol.
//
// Why exec mode stalls (read from @electric-sql/pglite-socket 0.2.17):
// the server queues every wire-protocol MESSAGE of every connection into
// one FIFO and sticks to one connection only while the backend reports a
// transaction. An extended-protocol query (Parse, Bind, Describe, Execute,
// Sync: five messages) outside a transaction can therefore be interleaved
// with another connection's messages: a simple-protocol BEGIN or Parse of
// another connection destroys this one's unnamed statement, so its Bind
// fails (SQLSTATE 26000), and after an error the backend discards every
// message until the failing connection's Sync, including other
// connections' queries, which then never get an answer. simple_protocol
// sends each query as ONE message, which the queue cannot split.
func runPGMux(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("pgmux", 5*time.Minute)
	mode := fs.String("mode", "exec", "pgx default_query_exec_mode: exec or simple_protocol")
	conns := fs.Int("conns", 8, "pool connections")
	gor := fs.Int("goroutines", 16, "concurrent workers")
	dur := fs.Duration("duration", 20*time.Second, "how long")
	opTimeout := fs.Duration("op-timeout", 5*time.Second, "an operation slower than this counts as stalled")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()
	url := withExecMode(os.Getenv("DATABASE_URL"), *mode)
	if url == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(*conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	table := "loadtest_pgmux_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
	if _, err := pool.Exec(ctx, "CREATE TABLE "+table+" (id uuid PRIMARY KEY, p uuid NOT NULL, n int NOT NULL)"); err != nil {
		return err
	}
	defer pool.Exec(context.WithoutCancel(ctx), "DROP TABLE "+table)
	var ok, failed, stalled atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	end := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for g := 0; g < *gor; g++ {
		wg.Go(func() {
			p := uuid.New()
			for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
				octx, ocancel := context.WithTimeout(ctx, *opTimeout)
				var err error
				if i%2 == 0 {
					var n int
					err = pool.QueryRow(octx, "SELECT count(*) FROM "+table+" WHERE p = $1 AND n >= $2", p, i).Scan(&n)
				} else {
					err = pgx.BeginFunc(octx, pool, func(tx pgx.Tx) error {
						var n int
						if err := tx.QueryRow(octx, "SELECT count(*) FROM "+table+" WHERE p = $1", p).Scan(&n); err != nil {
							return err
						}
						_, err := tx.Exec(octx, "INSERT INTO "+table+" (id, p, n) VALUES ($1, $2, $3)", uuid.New(), p, i)
						return err
					})
				}
				timedOut := octx.Err() != nil
				ocancel()
				switch {
				case err == nil:
					ok.Add(1)
				case timedOut:
					stalled.Add(1)
				default:
					failed.Add(1)
					mu.Lock()
					errs[err.Error()]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	var msgs []string
	for m, n := range errs {
		msgs = append(msgs, fmt.Sprintf("%dx %s", n, m))
	}
	sort.Strings(msgs)
	fmt.Printf("mode=%s conns=%d: %d ok (%.0f/s), %d errors, %d stalled > %s\n", *mode, *conns, ok.Load(),
		float64(ok.Load())/dur.Seconds(), failed.Load(), stalled.Load(), *opTimeout)
	report(&c, "pgmux", map[string]any{"mode": *mode, "conns": *conns, "goroutines": *gor, "seconds": dur.Seconds(),
		"ok": ok.Load(), "ops_per_s": float64(ok.Load()) / dur.Seconds(), "errors": msgs, "stalled": stalled.Load()})
	return nil
}

// withExecMode sets default_query_exec_mode in a postgres URL ("" mode:
// the URL as given).
func withExecMode(url, mode string) string {
	if mode == "" || url == "" {
		return url
	}
	const key = "default_query_exec_mode="
	if i := strings.Index(url, key); i >= 0 {
		rest := url[i+len(key):]
		if j := strings.IndexByte(rest, '&'); j >= 0 {
			return url[:i+len(key)] + mode + rest[j:]
		}
		return url[:i+len(key)] + mode
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + key + mode
}
