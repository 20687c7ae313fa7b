package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/codeofconquest/brightdawn/internal/postgres"
)

// runDBBench measures what the database sustains alone, with pgx the way
// the app uses it (DATABASE_URL as given: exec mode on PGlite), in a
// scratch schema that is dropped afterwards:
//
//	plain      one-row INSERT of a small row (autocommit)
//	vector     one-row INSERT of a message with a 384-d vector into an HNSW-indexed table
//	turn_tx    the write transaction of a posted message: INSERT message, INSERT turn, UPDATE session
func runDBBench(ctx context.Context, args []string) error {
	var c common
	fs := c.flagSet("dbbench", 5*time.Minute)
	conns := fs.Int("conns", 4, "connections (goroutines)")
	dur := fs.Duration("duration", 10*time.Second, "per kind")
	dim := fs.Int("dim", 384, "vector dimension")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, c.maxTime)
	defer cancel()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		return fmt.Errorf("DATABASE_URL is not set")
	}
	pool, err := postgres.Open(ctx, url, int32(*conns))
	if err != nil {
		return err
	}
	defer pool.Close()
	schema := "loadtest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
	ddl := fmt.Sprintf(`CREATE EXTENSION IF NOT EXISTS vector;
		CREATE SCHEMA %[1]s;
		CREATE TABLE %[1]s.plain (id uuid PRIMARY KEY, n int, created_at timestamptz NOT NULL DEFAULT now());
		CREATE TABLE %[1]s.sessions (id uuid PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now());
		CREATE TABLE %[1]s.messages (id uuid PRIMARY KEY, session_id uuid NOT NULL, content text NOT NULL,
			embedding vector(%[2]d), created_at timestamptz NOT NULL DEFAULT now());
		CREATE INDEX ON %[1]s.messages (session_id, created_at);
		CREATE INDEX ON %[1]s.messages USING hnsw (embedding vector_cosine_ops);
		CREATE TABLE %[1]s.turns (id uuid PRIMARY KEY, session_id uuid NOT NULL, message_id uuid NOT NULL,
			status text NOT NULL DEFAULT 'queued', created_at timestamptz NOT NULL DEFAULT now());`, schema, *dim)
	if _, err := pool.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("create scratch schema: %w", err)
	}
	defer pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
	sessions := make([]uuid.UUID, 50)
	for i := range sessions {
		sessions[i] = uuid.New()
		if _, err := pool.Exec(ctx, "INSERT INTO "+schema+".sessions (id) VALUES ($1)", sessions[i]); err != nil {
			return err
		}
	}
	kinds := []struct {
		name string
		op   func(ctx context.Context, i int) error
	}{
		{"plain", func(ctx context.Context, i int) error {
			_, err := pool.Exec(ctx, "INSERT INTO "+schema+".plain (id, n) VALUES ($1, $2)", uuid.New(), i)
			return err
		}},
		{"vector", func(ctx context.Context, i int) error {
			_, err := pool.Exec(ctx, "INSERT INTO "+schema+".messages (id, session_id, content, embedding) VALUES ($1, $2, $3, $4::vector)",
				uuid.New(), sessions[i%len(sessions)], "I open the door and step through.", randomVector(*dim))
			return err
		}},
		{"turn_tx", func(ctx context.Context, i int) error {
			return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				sid, mid := sessions[i%len(sessions)], uuid.New()
				if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".messages (id, session_id, content) VALUES ($1, $2, $3)", mid, sid, "I open the door."); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "INSERT INTO "+schema+".turns (id, session_id, message_id) VALUES ($1, $2, $3)", uuid.New(), sid, mid); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "UPDATE "+schema+".sessions SET updated_at = now() WHERE id = $1", sid)
				return err
			})
		}},
	}
	results := map[string]any{}
	for _, k := range kinds {
		var n atomic.Int64
		var lat dist
		var mu sync.Mutex
		var firstErr error
		// Operations are never cancelled mid-flight: PGlite's socket server
		// can stall every connection after a client abandons a query (see
		// pgmux). Each worker stops between operations instead.
		end := time.Now().Add(*dur)
		t0 := time.Now()
		var wg sync.WaitGroup
		for g := 0; g < *conns; g++ {
			wg.Go(func() {
				var local dist
				for i := g; time.Now().Before(end) && ctx.Err() == nil; i += *conns {
					s := time.Now()
					octx, ocancel := context.WithTimeout(ctx, 30*time.Second)
					err := k.op(octx, i)
					ocancel()
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						break
					}
					local = append(local, time.Since(s))
					n.Add(1)
				}
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			})
		}
		wg.Wait()
		el := time.Since(t0)
		if firstErr != nil {
			return fmt.Errorf("%s: %w", k.name, firstErr)
		}
		rate := float64(n.Load()) / el.Seconds()
		fmt.Printf("%-8s %7.0f /s  latency %s\n", k.name, rate, lat)
		results[k.name] = map[string]any{"per_s": rate, "latency": lat.summary()}
	}
	results["conns"] = *conns
	results["database_url_host"] = hostOf(url)
	report(&c, "dbbench", results)
	return nil
}

func randomVector(dim int) string {
	v := make([]float64, dim)
	var norm float64
	for i := range v {
		v[i] = rand.NormFloat64()
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(x/norm, 'f', 6, 64))
	}
	b.WriteByte(']')
	return b.String()
}

func hostOf(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		u = u[i+1:]
	}
	if i := strings.IndexAny(u, "/?"); i >= 0 {
		u = u[:i]
	}
	return u
}
