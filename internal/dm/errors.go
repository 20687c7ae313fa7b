package dm

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
)

// Error codes a turn fails with when its model cannot answer. Players see
// the code and message in turn.failed; the wrapped cause goes to logs only.
const (
	CodeUnavailable   = "model_unavailable"  // unreachable, 5xx after retries, or refused our credentials
	CodeRateLimited   = "model_rate_limited" // 429 after retries
	CodeTimeout       = "model_timeout"      // no first token, or no end, in time
	CodeError         = "model_error"        // the model failed, mid-stream error, malformed output
	CodePromptTooLong = "prompt_too_long"    // the player's message alone exceeds the prompt budget
)

// Error is a provider failure the retries could not fix. It is permanent for
// the turn: the provider already retried what was worth retrying, so the
// worker fails the turn at once instead of re-running the stage.
type Error struct {
	Code    string
	Message string // client-safe
	Err     error  // for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// TurnErrorCode is the code the failed turn carries.
func (e *Error) TurnErrorCode() string { return e.Code }

// TurnErrorMessage is the client-safe message the failed turn carries.
func (e *Error) TurnErrorMessage() string { return e.Message }

var (
	errFirstTokenTimeout = errors.New("no first token in time")
	errTotalTimeout      = errors.New("the reply did not finish in time")
)

// classify turns a provider call's failure into an *Error. provider names
// the provider in messages ("openai", "replicate").
func classify(provider string, err error) *Error {
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	var se *httpretry.StatusError
	switch {
	case errors.Is(err, errFirstTokenTimeout):
		return &Error{Code: CodeTimeout, Message: "the " + provider + " model sent no reply in time", Err: err}
	case errors.Is(err, errTotalTimeout):
		return &Error{Code: CodeTimeout, Message: "the " + provider + " model did not finish its reply in time", Err: err}
	case errors.Is(err, httpretry.ErrAttemptTimeout), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeTimeout, Message: "the " + provider + " model did not answer in time", Err: err}
	case errors.As(err, &se):
		switch {
		case se.Status == http.StatusTooManyRequests:
			return &Error{Code: CodeRateLimited, Message: "the " + provider + " model is rate limited; try again shortly", Err: err}
		case se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden || se.Status == http.StatusPaymentRequired:
			return &Error{Code: CodeUnavailable, Message: "the " + provider + " model refused the configured credentials", Err: err}
		case se.Status >= 500 || httpretry.Retryable(se.Status):
			return &Error{Code: CodeUnavailable, Message: "the " + provider + " model is unavailable", Err: err}
		}
		return &Error{Code: CodeError, Message: fmt.Sprintf("the %s model refused the request (HTTP %d)", provider, se.Status), Err: err}
	}
	return &Error{Code: CodeUnavailable, Message: "the " + provider + " model could not be reached", Err: err}
}

// modelError is a failure reported by the model itself.
func modelError(provider, detail string) *Error {
	return &Error{Code: CodeError, Message: "the " + provider + " model failed", Err: errors.New(detail)}
}
