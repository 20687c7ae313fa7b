package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/codeofconquest/brightdawn/internal/apperr"
)

// ServerOptions are the HTTP server's limits.
type ServerOptions struct {
	// ReadTimeout bounds reading one request, headers and body: a body
	// dribbled a byte at a time is cut off. It does not cut SSE streams:
	// net/http clears the read deadline once a request's body is read
	// (its background read), and a detached stream's hijack clears it too
	// (TestHTTPServerTimeoutsAndHeaderLimit checks both).
	ReadTimeout time.Duration
	// IdleTimeout closes keep-alive connections that stay unused.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers (431 beyond).
	MaxHeaderBytes int
}

// NewServer returns the API's http.Server with its timeouts. Serve it with
// ServeJSONErrors so that even the errors net/http answers by itself speak
// the JSON error shape.
func NewServer(addr string, h http.Handler, o ServerOptions) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
	}
}

// JSONErrorsListener wraps ln so that the few answers net/http writes
// itself, before any handler runs (431 for headers over MaxHeaderBytes,
// 400 for a malformed request), carry the JSON error shape of every other
// error instead of Go's plain text.
func JSONErrorsListener(ln net.Listener) net.Listener { return jsonErrorsListener{ln} }

type jsonErrorsListener struct{ net.Listener }

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorsConn{Conn: c}, nil
}

type jsonErrorsConn struct{ net.Conn }

// goErrorHeaders are the headers net/http writes with its own error
// answers; an ordinary response never has them in this order (net/http
// sorts header names), so a write that has them is one of those answers.
const goErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

var goErrorCodes = map[int]apperr.Code{
	http.StatusRequestHeaderFieldsTooLarge: apperr.HeadersTooLarge,
	http.StatusBadRequest:                  apperr.Invalid,
}

var goErrorMessages = map[apperr.Code]string{
	apperr.HeadersTooLarge: "the request headers are too large",
	apperr.Invalid:         "malformed HTTP request",
}

func (c *jsonErrorsConn) Write(b []byte) (int, error) {
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) || len(b) < 12 || !bytes.Contains(b, []byte(goErrorHeaders)) {
		return c.Conn.Write(b)
	}
	status, err := strconv.Atoi(string(b[9:12]))
	code, ok := goErrorCodes[status]
	if err != nil || !ok {
		return c.Conn.Write(b)
	}
	body, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: string(code), Message: goErrorMessages[code]}})
	resp := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	if _, err := c.Conn.Write([]byte(resp)); err != nil {
		return 0, err
	}
	return len(b), nil
}
