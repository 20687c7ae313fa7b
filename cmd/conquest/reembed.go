package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/codeofconquest/brightdawn/internal/memory"
	"github.com/codeofconquest/brightdawn/workers"
)

// runReembed is `conquest reembed status|start`.
func runReembed(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 || (args[0] != "status" && args[0] != "start") {
		return fmt.Errorf("usage: conquest reembed status|start")
	}
	g := a.game()
	defer g.asynq.Close()
	r := memory.NewReembedder(g.memory, g.models, a.cfg.Game.Providers.ReembedBatchSize)
	if args[0] == "start" {
		job, err := startReembed(ctx, a, g)
		if err != nil {
			return err
		}
		if job == nil {
			fmt.Fprintf(os.Stderr, "%s is already the served embedding model: nothing to re-embed\n", g.models.Configured().Model())
		}
		// Failed jobs of the model being built resume from their cursor.
		jobs, err := r.Restartable(ctx, time.Now().Add(-10*time.Minute), true)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if err := workers.EnqueueReembed(ctx, g.asynq, j); err != nil {
				return err
			}
		}
	}
	st, err := r.Status(ctx)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}
