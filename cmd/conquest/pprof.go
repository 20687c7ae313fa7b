package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/codeofconquest/brightdawn/internal/config"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/ratelimit"
)

// servePprof serves net/http/pprof on PPROF_ADDR (opt-in; config allows
// loopback addresses only) until ctx ends. Its own mux: nothing else is
// reachable there, and the profiles are never on the public port.
func servePprof(ctx context.Context, addr string, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// turnLimits are the per-player turn limits of PostMessage.
func turnLimits(cfg *config.Config, rdb redis.UniversalClient) game.ServiceOption {
	return game.WithTurnLimits(game.TurnLimits{
		Rate:          ratelimit.NewTurns(rdb, cfg.TurnLimits.PerMinute),
		MaxInFlight:   cfg.TurnLimits.InFlight,
		MaxCharacters: cfg.TurnLimits.Characters,
		MaxSessions:   cfg.TurnLimits.Sessions,
	})
}
