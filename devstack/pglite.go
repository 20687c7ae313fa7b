package devstack

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// How pglite-socket serves many connections (read from its source,
// @electric-sql/pglite-socket 0.2.17, and checked against a running server by
// this package's tests):
//
//   - There is ONE Postgres backend. Every client socket gets a handler, and
//     all handlers push their wire-protocol messages into one FIFO queue that
//     the single backend works through, one message at a time.
//   - Once a connection opens a transaction (BEGIN), the queue only takes that
//     connection's messages until COMMIT/ROLLBACK: transactions are serialised
//     globally and every other connection, reads included, waits. A goroutine
//     that holds a transaction and then waits on a query from another pooled
//     connection deadlocks until a context deadline closes one of the sockets.
//     A failed statement inside a transaction keeps the others waiting until
//     the owner rolls back.
//   - A socket that closes mid-transaction is rolled back and the queue moves
//     on, so a crashed client does not wedge the server.
//   - Session state is shared by all connections: SET, temp tables, named
//     prepared statements, advisory locks (a session lock taken on one
//     connection is "held" by everyone, so pg_advisory_lock cannot serialise
//     migrations here; a single transaction does, since transactions are
//     already exclusive). pgx's default statement cache breaks with "prepared
//     statement ... already exists". Exec mode (unnamed statements) is not
//     enough either: under concurrent load the load tests saw pglite-socket
//     interleave the extended-protocol messages of connections (SQLSTATE
//     26000 "portal does not exist", wrong rows, requests never answered;
//     docs/RELIABILITY.md), hence default_query_exec_mode=simple_protocol:
//     one message per statement.
//   - --max-connections caps open sockets (default 1!). A connection over the
//     cap gets the plain text "Too many connections" and is closed, which pgx
//     reports as "unexpected EOF" or "connection reset by peer" - it is not
//     queued. The cap costs nothing while idle, so we set it high and pools
//     need no special sizing.
//   - CancelRequest is ignored, so a cancelled query runs to its end; pgx
//     then closes the connection, which rolls back any open transaction.

// pgliteMaxConnections is far above what the app's pools and a parallel
// `go test ./...` open together; see the note above.
const pgliteMaxConnections = 200

// postgresURL is the DATABASE_URL for a PGlite on port. Exec mode because the
// backend's prepared statements are shared by every connection.
func postgresURL(port int) string {
	return fmt.Sprintf("postgres://postgres:postgres@%s/postgres?sslmode=disable&default_query_exec_mode=simple_protocol", hostPort(port))
}

// startPGlite serves db ("memory://" or a folder) over the Postgres wire
// protocol on port, with pgvector loaded, and waits until it answers queries.
func startPGlite(ctx context.Context, root, db string, port int, logPath string) (*process, error) {
	server := filepath.Join(root, "devstack", "node_modules", "@electric-sql", "pglite-socket", "dist", "scripts", "server.js")
	cmd := exec.Command("node", server,
		"--db="+db,
		"--host=127.0.0.1",
		"--port="+strconv.Itoa(port),
		"--extensions=@electric-sql/pglite-pgvector:vector",
		"--max-connections="+strconv.Itoa(pgliteMaxConnections),
	)
	cmd.Dir = filepath.Join(root, "devstack")
	p, err := startLogged("postgres", logPath, cmd)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p, port, func(ctx context.Context) error { return probePostgres(ctx, postgresURL(port)) }); err != nil {
		return p, err
	}
	return p, nil
}

// probePostgres proves the server is usable the way the app uses it: two
// connections at once (so --max-connections took effect), a query on each,
// and pgvector loadable.
func probePostgres(ctx context.Context, url string) error {
	a, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))
	b, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("second connection: %w", err)
	}
	defer b.Close(context.WithoutCancel(ctx))
	for _, c := range []*pgx.Conn{a, b} {
		if _, err := c.Exec(ctx, "SELECT 1"); err != nil {
			return err
		}
	}
	if _, err := a.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS vector"); err != nil {
		return fmt.Errorf("load pgvector: %w", err)
	}
	return nil
}
