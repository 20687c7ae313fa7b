package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// statusOf is THE table from error codes to HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:            http.StatusBadRequest,
	apperr.Unauthorized:       http.StatusUnauthorized,
	apperr.InvalidCredentials: http.StatusUnauthorized,
	apperr.Forbidden:          http.StatusForbidden,
	apperr.NotFound:           http.StatusNotFound,
	apperr.MethodNotAllowed:   http.StatusMethodNotAllowed,
	apperr.Conflict:           http.StatusConflict,
	apperr.TooLarge:           http.StatusRequestEntityTooLarge,
	apperr.HeadersTooLarge:    http.StatusRequestHeaderFieldsTooLarge,
	apperr.UnsupportedMedia:   http.StatusUnsupportedMediaType,
	apperr.Unprocessable:      http.StatusUnprocessableEntity,
	apperr.RateLimited:        http.StatusTooManyRequests,
	apperr.Unavailable:        http.StatusServiceUnavailable,
	apperr.StorageStarting:    http.StatusServiceUnavailable,
	apperr.PreconditionFailed: http.StatusPreconditionFailed,
	apperr.TooManyCharacters:  http.StatusConflict,
	apperr.TooManySessions:    http.StatusConflict,
	apperr.Internal:           http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fail writes err as the API's JSON error and aborts the chain. Internal
// causes are logged with the request id; clients see only the safe message.
func fail(c *gin.Context, err error) {
	e, ok := apperr.As(err)
	if !ok {
		switch {
		case errors.Is(err, context.Canceled):
			// The client went away; nothing to write to.
			c.Abort()
			return
		case errors.Is(err, context.DeadlineExceeded):
			e = apperr.Wrap(err, apperr.Unavailable, "the request timed out")
		default:
			e = apperr.Wrap(err, apperr.Internal, "internal error")
		}
	}
	status, known := statusOf[e.Code]
	if !known {
		status = http.StatusInternalServerError
	}
	log := logging.From(c.Request.Context())
	if status >= 500 {
		log.Error("request failed", "code", e.Code, "err", err)
	} else {
		log.Debug("request refused", "code", e.Code, "err", err)
	}
	msg := e.Message
	if e.Code == apperr.Internal {
		msg = "internal error"
	}
	if e.Code == apperr.RateLimited || e.Code == apperr.StorageStarting {
		secs := int(math.Ceil(e.RetryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		c.Header("Retry-After", strconv.Itoa(secs))
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{Code: string(e.Code), Message: msg}})
}
