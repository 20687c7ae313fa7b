package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/logging"
)

// Check is one readiness dependency (Postgres, Redis, S3).
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

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
		for _, ch := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := ch.Check(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					ok = false
					results[ch.Name] = "unavailable"
					logging.From(ctx).Warn("readiness check failed", "check", ch.Name, "err", err)
					return
				}
				results[ch.Name] = "ok"
			}()
		}
		wg.Wait()
		status, word := http.StatusOK, "ready"
		if !ok {
			status, word = http.StatusServiceUnavailable, "unavailable"
		}
		c.JSON(status, gin.H{"status": word, "checks": results})
	}
}
