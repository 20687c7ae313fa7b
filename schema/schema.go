// Package schema holds Bright Dawn's numbered SQL migrations, embedded into
// the binary, and applies them in order.
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed *.sql
var files embed.FS

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, name := range entries {
		num, rest, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("schema: %s: name must be NNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("schema: %s and %s share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: strings.TrimSuffix(rest, ".sql"), SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies every migration not yet recorded in public.schema_migrations.
// Each migration runs in its own transaction that first takes an exclusive
// lock on the bookkeeping table, so two processes migrating at once serialise:
// the second waits, then sees the version recorded and skips it. It uses no
// session state (no advisory locks), which PGlite's multiplexing forbids.
func Migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (applied int, err error) {
	ms, err := Migrations()
	if err != nil {
		return 0, err
	}
	if err := ensureTable(ctx, pool); err != nil {
		return 0, err
	}
	for _, m := range ms {
		did, err := apply(ctx, pool, m)
		if err != nil {
			return applied, fmt.Errorf("schema: migration %03d_%s: %w", m.Version, m.Name, err)
		}
		if did {
			applied++
			log.Info("migration applied", "version", m.Version, "name", m.Name)
		}
	}
	return applied, nil
}

func ensureTable(ctx context.Context, pool *pgxpool.Pool) error {
	const ddl = `CREATE TABLE IF NOT EXISTS public.schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`
	// Two processes racing on CREATE TABLE IF NOT EXISTS can both pass the
	// existence check; the loser gets a unique violation on the catalog.
	// The table exists by then, so a retry succeeds.
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if _, err = pool.Exec(ctx, ddl); err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || (pgErr.Code != "23505" && pgErr.Code != "42P07") {
			return fmt.Errorf("schema: create schema_migrations: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return fmt.Errorf("schema: create schema_migrations: %w", err)
}

func apply(ctx context.Context, pool *pgxpool.Pool, m Migration) (bool, error) {
	did := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE public.schema_migrations IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM public.schema_migrations WHERE version = $1)`, m.Version).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		// Exec without arguments uses the simple protocol, so a file may hold many statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO public.schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			return err
		}
		did = true
		return nil
	})
	return did, err
}
