package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/api/openapi"
	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// serveOpenAPI answers the OpenAPI document (api/openapi/openapi.yaml) as
// JSON.
func serveOpenAPI(c *gin.Context) {
	doc, err := openapi.JSON()
	if err != nil {
		fail(c, apperr.Wrap(err, apperr.Internal, "internal error"))
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", doc)
}
