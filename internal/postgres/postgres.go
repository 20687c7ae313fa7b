// Package postgres opens the pgx pool and translates driver errors into
// application errors at the store boundary.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// Open connects a pool and waits until the database answers or ctx ends.
// Query-execution mode comes from the URL (default_query_exec_mode=simple_protocol for
// PGlite, which multiplexes connections onto one backend).
func Open(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns = maxConns
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool, nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			pool.Close()
			return nil, fmt.Errorf("postgres: not reachable: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Translate maps driver errors to application errors: no rows → not found,
// unique violation → conflict; other server errors are internal, and
// errors reaching the server at all mean the database is unavailable.
func Translate(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.NotFoundf(what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return apperr.Wrap(err, apperr.Conflict, "%s already exists", what)
		case "23503":
			return apperr.Wrap(err, apperr.NotFound, "%s refers to something that does not exist", what)
		case "22P02", "22023", "23514":
			return apperr.Wrap(err, apperr.Invalid, "%s is invalid", what)
		}
		return apperr.Wrap(err, apperr.Internal, "internal error")
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return apperr.Wrap(err, apperr.Unavailable, "the database is unavailable")
	}
	return apperr.Wrap(err, apperr.Internal, "internal error")
}
