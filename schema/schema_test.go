package schema_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

func open(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := postgres.Open(context.Background(), url, 4)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	return pool
}

func TestMigrations(t *testing.T) {
	url := testkit.PrivateDatabase(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	all, err := schema.Migrations()
	require.NoError(t, err)

	t.Run("concurrent first runs apply each migration exactly once", func(t *testing.T) {
		var wg sync.WaitGroup
		applied := make([]int, 4)
		errs := make([]error, 4)
		for i := range applied {
			pool := open(t, url)
			wg.Go(func() { applied[i], errs[i] = schema.Migrate(ctx, pool, log) })
		}
		wg.Wait()
		total := 0
		for i := range applied {
			require.NoError(t, errs[i])
			total += applied[i]
		}
		require.Equal(t, len(all), total, "every migration applied once in all")
	})

	pool := open(t, url)
	t.Run("a second run applies nothing", func(t *testing.T) {
		n, err := schema.Migrate(ctx, pool, log)
		require.NoError(t, err)
		require.Zero(t, n)
	})

	t.Run("every migration is recorded in order", func(t *testing.T) {
		rows, err := pool.Query(ctx, `SELECT version FROM public.schema_migrations ORDER BY version`)
		require.NoError(t, err)
		var got []int
		for rows.Next() {
			var v int
			require.NoError(t, rows.Scan(&v))
			got = append(got, v)
		}
		require.NoError(t, rows.Err())
		var want []int
		for _, m := range all {
			want = append(want, m.Version)
		}
		require.Equal(t, want, got)
	})

	t.Run("the schema has the tables and indexes the design names", func(t *testing.T) {
		for _, table := range []string{"auth.players", "auth.refresh_tokens", "game.characters", "game.sessions",
			"game.session_members", "game.messages", "game.turns", "game.assets", "game.message_embeddings"} {
			var ok bool
			require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok))
			require.True(t, ok, table)
		}
		var method string
		require.NoError(t, pool.QueryRow(ctx, `SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
			WHERE c.relname = 'message_embeddings_hnsw_hash_384'`).Scan(&method))
		require.Equal(t, "hnsw", method)
	})

	t.Run("two conquest migrate processes at once both succeed", func(t *testing.T) {
		bin := testkit.Binary(t)
		var wg sync.WaitGroup
		outs := make([][]byte, 2)
		errs := make([]error, 2)
		for i := range outs {
			wg.Go(func() {
				cmd := exec.Command(bin, "migrate")
				cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
				outs[i], errs[i] = cmd.CombinedOutput()
			})
		}
		wg.Wait()
		for i := range outs {
			require.NoError(t, errs[i], string(outs[i]))
		}
	})
}

func TestMigrationFilesAreNumberedAndUnique(t *testing.T) {
	ms, err := schema.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version, "migrations are numbered 1, 2, 3… without gaps")
		require.NotEmpty(t, strings.TrimSpace(m.SQL))
	}
}
