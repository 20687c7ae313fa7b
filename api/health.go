package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Check is one readiness dependency (Postgres, Redis, S3).
type Check struct {
	Name  string
	Check func(ctx context.Context) error
	// Optional: the game runs without it (S3: only uploads and downloads
	// need it), so while it fails /readyz still answers 200, with status
	// "degraded" and the dependency named under "missing".
	Optional bool
}

// ErrStarting is what a check returns for a dependency that has not come
// up yet; /readyz reports it as "starting" rather than "unavailable".
var ErrStarting = errors.New("starting")

func healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func readyz(checks []Check) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		results := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		ok := true
		missing := []string{}
		for _, ch := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := ch.Check(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ok = ok && ch.Optional
					missing = append(missing, ch.Name)
					results[ch.Name] = "unavailable"
					if errors.Is(err, ErrStarting) {
						results[ch.Name] = "starting"
					}
					logging.From(ctx).Warn("readiness check failed", "check", ch.Name, "err", err)
					return
				}
				results[ch.Name] = "ok"
			}()
		}
		wg.Wait()
		slices.Sort(missing)
		status, word := http.StatusOK, "ready"
		switch {
		case !ok:
			status, word = http.StatusServiceUnavailable, "unavailable"
		case len(missing) > 0:
			word = "degraded"
		}
		c.JSON(status, gin.H{"status": word, "checks": results, "missing": missing})
	}
}
