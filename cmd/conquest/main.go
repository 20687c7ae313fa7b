// Command conquest runs Bright Dawn: `conquest api | worker | all | migrate`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/codeofconquest/brightdawn/api"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/schema"
)

const usage = `usage: conquest <command> [flags]

commands:
  api       HTTP server: /auth, /api, SSE streams, web client, /ops, /metrics
  worker    asynq worker: embed, retrieve, generate and sweeper tasks
            --queues embed,retrieve   only serve these queues
  all       api and worker in one process (the local default)
  migrate   apply schema migrations and exit

Configuration comes from environment variables; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		fmt.Print(usage)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cmd, args); err != nil {
		fmt.Fprintln(os.Stderr, "conquest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	queues := fs.String("queues", "", "comma-separated queues for the worker (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch cmd {
	case "api", "worker", "all", "migrate":
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	if *queues != "" {
		cfg.Game.WorkerQueues = strings.Split(*queues, ",")
	}
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogJSON)
	slog.SetDefault(log)
	log = log.With("process", cmd, "pid", os.Getpid())
	if cfg.GeneratedJWTKey() {
		log.Warn("JWT_SECRET is not set: using a generated key; tokens will not survive a restart or work across replicas")
	}

	pool, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DatabaseConns)
	if err != nil {
		return err
	}
	defer pool.Close()

	if cmd == "migrate" {
		n, err := schema.Migrate(ctx, pool, log)
		if err != nil {
			return err
		}
		log.Info("migrations done", "applied", n)
		return nil
	}
	if cmd == "all" {
		// The local default: one process that also keeps the schema current.
		if _, err := schema.Migrate(ctx, pool, log); err != nil {
			return err
		}
	}

	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("config: REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()

	app := &app{cfg: cfg, log: log, pool: pool, rdb: rdb}
	g, gctx := errgroup.WithContext(ctx)
	if cmd == "api" || cmd == "all" {
		g.Go(func() error { return app.serveAPI(gctx) })
	}
	if cmd == "worker" || cmd == "all" {
		g.Go(func() error { return app.serveWorker(gctx) })
	}
	err = g.Wait()
	log.Info("stopped")
	return err
}

type app struct {
	cfg  *config.Config
	log  *slog.Logger
	pool *pgxpool.Pool
	rdb  *redis.Client
}

func (a *app) checks() []api.Check {
	return []api.Check{
		{Name: "postgres", Check: func(ctx context.Context) error { return a.pool.Ping(ctx) }},
		{Name: "redis", Check: func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }},
	}
}

func (a *app) serveAPI(ctx context.Context) error {
	router, err := api.NewRouter(api.Deps{
		Log:            a.log,
		Checks:         a.checks(),
		TrustedProxies: a.cfg.TrustedProxies,
	})
	if err != nil {
		return fmt.Errorf("config: TRUSTED_PROXIES: %w", err)
	}
	srv := &http.Server{
		Addr:              a.cfg.HTTPAddr,
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() {
		a.log.Info("api listening", "addr", a.cfg.HTTPAddr)
		errc <- srv.ListenAndServe()
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("api shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (a *app) serveWorker(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
