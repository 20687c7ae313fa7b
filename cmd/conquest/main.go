// Command conquest runs Bright Dawn: `conquest api | worker | all | migrate`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/hibiken/asynq"

	"github.com/codeofconquest/brightdawn/api"
	"github.com/codeofconquest/brightdawn/events"
	"github.com/codeofconquest/brightdawn/internal/assets"
	"github.com/codeofconquest/brightdawn/internal/auth"
	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/hotcache"
	"github.com/codeofconquest/brightdawn/internal/logging"
	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/internal/memory/embed"
	"github.com/codeofconquest/brightdawn/internal/postgres"
	"github.com/codeofconquest/brightdawn/internal/redisconn"
	"github.com/codeofconquest/brightdawn/internal/rules"
	"github.com/codeofconquest/brightdawn/schema"
	"github.com/codeofconquest/brightdawn/workers"
)

const usage = `usage: conquest <command> [flags]

commands:
  api       HTTP server: /auth, /api, SSE streams, web client, /ops, /metrics
  worker    asynq worker: embed, retrieve, generate and sweeper tasks
            --queues embed,retrieve   only serve these queues
  all       api and worker in one process (the local default)
  migrate   apply schema migrations and exit
  reembed status|start
            show embedding models and re-embed jobs, or register the
            configured EMBED_* model and start (or resume) its re-embed
  admin grant|revoke <email> | grant | list
            make or unmake an admin (the only way; see docs/SECURITY.md),
            grant every registered ADMIN_EMAILS address, or list admins
  dice verify --seed HEX --rolls FILE|- [--commitment HEX]
  dice verify --turn ID --url BASE --token TOKEN
            recompute a turn's dice from its revealed seed (docs/DICE.md)
  healthcheck [--url URL]  exit 0 when URL (default: /readyz on HTTP_ADDR) answers 200

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
	if cmd == "healthcheck" {
		os.Exit(healthcheck(args))
	}
	if cmd == "dice" {
		os.Exit(runDice(context.Background(), args, os.Stdin, os.Stdout, os.Stderr))
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
	case "api", "worker", "all", "migrate", "reembed", "admin":
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	// A broken RULES_PACK stops start-up with the field named, before any
	// turn could need it; the pack is the service's and the pipeline's.
	pack, err := rules.Open(cfg.Game.RulesPack)
	if err != nil {
		return fmt.Errorf("config: RULES_PACK: %w", err)
	}
	if *queues != "" {
		cfg.Game.WorkerQueues = strings.Split(*queues, ",")
	}
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogJSON)
	slog.SetDefault(log)
	log = log.With("process", cmd, "pid", os.Getpid())
	if len(cfg.Auth.AdminEmails) > 0 && cmd != "admin" {
		log.Warn("ADMIN_EMAILS grants nothing at registration or login; run `conquest admin grant` to make its registered addresses admins")
	}
	if cfg.GeneratedJWTKey() {
		log.Warn("JWT_SECRET is not set: using a generated key; tokens will not survive a restart or work across replicas")
	}
	if cmd != "migrate" && cmd != "admin" {
		if err := checkWordVectors(cfg, log); err != nil {
			return err
		}
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

	ropt, err := redisconn.Parse(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("config: REDIS_URL: %w", err)
	}
	rdb := ropt.NewClient()
	defer rdb.Close()
	log.Info("redis", "mode", ropt.Mode.String(), "addrs", ropt.Addrs())

	app := &app{cfg: cfg, log: log, pool: pool, rdb: rdb, redisOpts: ropt, pack: pack}
	if cmd == "reembed" {
		return runReembed(ctx, app, fs.Args())
	}
	if cmd == "admin" {
		return runAdmin(ctx, app, fs.Args())
	}
	app.ops = newOpsParts(cfg)
	if err := app.openAssets(ctx); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Ops.MetricsAddr != "" {
		g.Go(func() error { return app.ops.serveMetrics(gctx, log) })
	}
	if cfg.PprofAddr != "" {
		g.Go(func() error { return servePprof(gctx, cfg.PprofAddr, log) })
	}
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
	rdb  redis.UniversalClient
	// redisOpts is the parsed REDIS_URL (single, sentinel or cluster).
	redisOpts *redisconn.Options
	ops       *opsParts // metrics, drain, asynqmon (ops.go)

	s3       *assets.S3
	assetSvc *assets.Service
	// storageReady is set once the bucket is confirmed (watchStorage).
	storageReady atomic.Bool

	exportsS3 *assets.S3  // the exports bucket (internal/game/exports.go)
	pack      *rules.Pack // the rule pack (RULES_PACK), loaded at start
}

// game wires the turn pipeline's parts shared by api and worker.
type gameParts struct {
	store    *game.Store
	queue    *workers.Client
	asynq    *asynq.Client
	pub      *events.Publisher
	embedder embed.Embedder
	memory   *memory.Store
	search   *memory.Searcher
	models   *memory.Models
}

func (a *app) game() *gameParts {
	ac := asynq.NewClientFromRedisClient(a.rdb)
	store := game.NewStore(a.pool)
	if a.cfg.HotCache {
		store.WithHotCache(hotcache.New(a.rdb, 0))
	}
	mem := memory.NewStore(a.pool)
	models, err := embedModels(a.cfg, mem)
	if err != nil {
		panic(err) // configuration validated the provider and model at start-up
	}
	embedder := models.Configured()
	search, err := newSearcher(a.cfg, mem, models)
	if err != nil {
		panic(err) // checkWordVectors loaded the tables (a missing one leaves its part of expansion out)
	}
	return &gameParts{
		store:    store,
		asynq:    ac,
		queue:    workers.NewClient(ac, asynq.NewInspectorFromRedisClient(a.rdb), a.rdb),
		pub:      events.NewPublisher(a.rdb, a.cfg.Game.StreamMaxLen).WithObserver(a.ops.metrics.EventPublished),
		embedder: embedder,
		memory:   mem,
		search:   search,
		models:   models,
	}
}

func (a *app) checks() []api.Check {
	return []api.Check{
		{Name: "postgres", Check: func(ctx context.Context) error { return a.pool.Ping(ctx) }},
		{Name: "redis", Check: func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }},
		{Name: "serving", Check: a.ops.serving},
		{Name: "s3", Check: a.storageCheck, Optional: true},
	}
}

func (a *app) serveAPI(ctx context.Context) error {
	authSvc, err := auth.NewService(auth.Deps{DB: a.pool, Redis: a.rdb, Config: a.cfg.Auth, Log: a.log})
	if err != nil {
		return err
	}
	g := a.game()
	hub := events.NewHub(a.rdb, events.HubOptions{ClientBuffer: a.cfg.Game.SSEClientBuffer, Log: a.log, Detach: a.cfg.SSEDetach})
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	go func() {
		if err := hub.Run(hubCtx); err != nil && hubCtx.Err() == nil {
			a.log.Error("event hub stopped", "err", err)
		}
	}()
	// Streams end when their login is revoked on any replica, or when the
	// access token behind them expires; and they are capped.
	streams := api.NewStreamGuard(a.cfg.StreamLimits.PerPlayer, a.cfg.StreamLimits.PerIP)
	go func() { _ = authSvc.WatchRevocations(hubCtx, streams.Revoke) }()
	// A member removed on any replica loses their streams here at once;
	// open session streams are the party's presence.
	party := events.NewParty(a.rdb, a.log, 0)
	go func() {
		_ = party.WatchRemovals(hubCtx, func(r events.Removal) { streams.EndMember(r.SessionID, r.PlayerID) })
	}()
	presence := events.NewPresence(party, g.pub, a.cfg.PresenceGrace)
	go presence.Run(hubCtx)
	opsDeps, closeOps, err := a.ops.apiDeps(workers.RedisConnOpt(a.redisOpts), hub, asynq.NewInspectorFromRedisClient(a.rdb))
	if err != nil {
		return err
	}
	defer closeOps()
	a.ops.registerReadiness(a.checks())
	gameSvc := game.NewService(g.store, g.queue, g.pub, g.embedder, g.search, game.WithPortraits(a.assetSvc), game.WithAssetReader(a.assetSvc), game.WithExports(a.exportsS3, g.queue), turnLimits(a.cfg, a.rdb), game.WithRules(a.pack), game.WithSessionEnder(g.pub), game.WithParty(party),
		game.WithSummaryBudget(a.cfg.Game.Providers.PromptTokenBudget/game.SummaryBudgetShare))
	router, err := api.NewRouter(api.Deps{
		Log:            a.log,
		Checks:         a.checks(),
		TrustedProxies: a.cfg.TrustedProxies,
		Auth:           authSvc,
		Tickets:        authSvc,
		Game:           gameSvc,
		Lore:           gameSvc,
		Summaries:      gameSvc,
		Cards:          gameSvc,
		Exports:        gameSvc,
		Story:          gameSvc,
		Party:          gameSvc,
		Presence:       presence,
		Assets:         a.assetSvc,
		StorageReady:   a.storageReady.Load,
		Reembed:        memory.NewReembedder(g.memory, g.models, a.cfg.Game.Providers.ReembedBatchSize),
		Events:         hub,
		Heartbeat:      a.cfg.Game.SSEHeartbeat,
		RefreshTTL:     a.cfg.Auth.RefreshTTL,
		S3Origin:       a.cfg.S3Origin(),
		Streams:        streams,
		Ops:            opsDeps,
	})
	if err != nil {
		return fmt.Errorf("config: TRUSTED_PROXIES: %w", err)
	}
	srv := api.NewServer(a.cfg.HTTPAddr, router, api.ServerOptions{
		ReadTimeout: a.cfg.HTTPReadTimeout, IdleTimeout: a.cfg.HTTPIdleTimeout, MaxHeaderBytes: 64 << 10,
	})
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("api: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		a.log.Info("api listening", "addr", a.cfg.HTTPAddr)
		errc <- srv.Serve(api.JSONErrorsListener(ln))
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("api shutting down")
	a.ops.drain(a.log)
	// Close SSE clients first, with a retry hint, so they resume on another
	// replica; then wait for ordinary requests.
	hub.Shutdown()
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (a *app) serveWorker(ctx context.Context) error {
	g := a.game()
	model := dmModel(a.cfg)
	if _, err := startReembed(ctx, a, g); err != nil {
		return err
	}
	pipeline := game.NewPipeline(g.store, g.pub, g.models, g.search, model, game.PipelineOptions{
		MemoryK:      a.cfg.Game.MemoryK,
		RecentN:      a.cfg.Game.RecentN,
		Observer:     a.ops.metrics,
		MaxTokens:    a.cfg.Game.Providers.DMMaxTokens,
		PromptBudget: a.cfg.Game.Providers.PromptTokenBudget,
		Heartbeat:    a.cfg.Game.StuckAfter / 4,
		Rules:        a.pack,
	})
	srv, err := workers.NewServer(a.rdb, g.queue, pipeline, workers.Options{
		Concurrency:       a.cfg.Game.WorkerConcurrency,
		Queues:            a.cfg.Game.WorkerQueues,
		TaskCheckInterval: a.cfg.Game.TaskCheckInterval,
		ShutdownTimeout:   a.cfg.ShutdownTimeout,
		SweepInterval:     a.cfg.Game.SweepInterval,
		StuckAfter:        a.cfg.Game.StuckAfter,
		TurnDeadline:      a.cfg.Game.TurnDeadline,
		Log:               a.log,
		Observer:          a.ops.metrics,
		Maintenance:       a.ops.metrics,

		Assets:               a.assetSvc,
		AssetCleanupInterval: a.cfg.Assets.CleanupInterval,
		StorageReady:         a.storageReady.Load,

		Reembed: memory.NewReembedder(g.memory, g.models, a.cfg.Game.Providers.ReembedBatchSize),
		Exports: game.NewExporter(g.store, a.exportsS3),
		Summaries: game.NewSummarizer(g.store, model, game.SummarizerOptions{
			RecentN: a.cfg.Game.RecentN, PromptBudget: a.cfg.Game.Providers.PromptTokenBudget,
		}),
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
