package devstack

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// testPGliteMultiplexing pins down the pglite-socket behaviour described in
// pglite.go, so a version bump that changes it fails here first.
func testPGliteMultiplexing(t *testing.T, ctx context.Context, url string) {
	connect := func(t *testing.T) *pgx.Conn {
		c, err := pgx.Connect(ctx, url)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}

	t.Run("a transaction on one connection holds back every other connection", func(t *testing.T) {
		a, b := connect(t), connect(t)
		tx, err := a.Begin(ctx)
		require.NoError(t, err)

		done := make(chan error, 1)
		go func() {
			_, err := b.Exec(ctx, "SELECT 1")
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("b ran while a's transaction was open (err %v): serialisation is gone, revisit pglite.go", err)
		case <-time.After(300 * time.Millisecond):
		}
		require.NoError(t, tx.Rollback(ctx))
		require.NoError(t, <-done)
	})

	t.Run("a connection closed mid-transaction is rolled back and frees the others", func(t *testing.T) {
		a, b := connect(t), connect(t)
		_, err := b.Exec(ctx, "CREATE TABLE IF NOT EXISTS stack_mux (id int PRIMARY KEY)")
		require.NoError(t, err)
		tx, err := a.Begin(ctx)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, "INSERT INTO stack_mux VALUES (1)")
		require.NoError(t, err)
		require.NoError(t, a.Close(ctx))

		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var n int
		require.NoError(t, b.QueryRow(qctx, "SELECT count(*) FROM stack_mux").Scan(&n))
		require.Zero(t, n)
	})

	t.Run("session state is shared by all connections", func(t *testing.T) {
		a, b := connect(t), connect(t)
		_, err := a.Exec(ctx, "SET application_name = 'stack-shared'")
		require.NoError(t, err)
		var name string
		require.NoError(t, b.QueryRow(ctx, "SHOW application_name").Scan(&name))
		require.Equal(t, "stack-shared", name)
		_, err = a.Exec(ctx, "RESET application_name")
		require.NoError(t, err)
	})

	t.Run("advisory locks do not exclude other connections", func(t *testing.T) {
		a, b := connect(t), connect(t)
		var got bool
		require.NoError(t, a.QueryRow(ctx, "SELECT pg_try_advisory_lock(4242)").Scan(&got))
		require.True(t, got)
		require.NoError(t, b.QueryRow(ctx, "SELECT pg_try_advisory_lock(4242)").Scan(&got))
		require.True(t, got, "b got a's lock: one backend, so one lock owner")
		_, err := a.Exec(ctx, "SELECT pg_advisory_unlock_all()")
		require.NoError(t, err)
	})

	t.Run("parameterised queries on concurrent connections do not mix", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				c, err := pgx.Connect(ctx, url)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close(context.Background())
				for i := range 50 {
					want := fmt.Sprintf("w%d-%d", w, i)
					var got string
					if err := c.QueryRow(ctx, "SELECT $1::text || ''", want).Scan(&got); err != nil {
						errs <- err
						return
					}
					if got != want {
						errs <- fmt.Errorf("asked for %q, got %q", want, got)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
}
