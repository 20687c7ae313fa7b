package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/logging"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-ID"

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID takes a well-formed incoming X-Request-ID (from Caddy, say) or
// makes one, echoes it on the response and puts it on every log line.
func requestID(base *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !requestIDPattern.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header(RequestIDHeader, id)
		c.Set("request_id", id)
		ctx := logging.Into(c.Request.Context(), base.With("request_id", id))
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// accessLog writes one line per request.
func accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		logging.From(c.Request.Context()).Info("http",
			"method", c.Request.Method, "route", route, "status", c.Writer.Status(),
			"bytes", c.Writer.Size(), "duration_ms", float64(time.Since(start).Microseconds())/1000,
			"ip", c.ClientIP())
	}
}

// recovery turns a panic into a logged 500 with the JSON error shape.
func recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				logging.From(c.Request.Context()).Error("panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					fail(c, apperr.New(apperr.Internal, "internal error"))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// limitBody caps every request body at MaxBodyBytes.
func limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > MaxBodyBytes {
			fail(c, apperr.New(apperr.TooLarge, "the body is larger than 1 MiB"))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes)
		c.Next()
	}
}
