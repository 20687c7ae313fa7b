package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/memory"
)

// ReembedService reports embedding models and re-embed jobs (implemented
// by *memory.Reembedder).
type ReembedService interface {
	Status(ctx context.Context) (memory.ReembedStatus, error)
}

// registerReembed adds GET /ops/reembed (admins only): the embedding
// models (which one is served, which is being built) and the recent
// re-embed jobs with their progress.
func registerReembed(r *gin.Engine, d Deps) {
	r.GET("/ops/reembed", requireAdmin(d.Auth), func(c *gin.Context) {
		st, err := d.Reembed.Status(c.Request.Context())
		if err != nil {
			fail(c, err)
			return
		}
		jobs := make([]gin.H, 0, len(st.Jobs))
		for _, j := range st.Jobs {
			jobs = append(jobs, gin.H{"job": j, "progress": j.Progress()})
		}
		c.JSON(http.StatusOK, gin.H{"models": st.Models, "jobs": jobs})
	})
}
