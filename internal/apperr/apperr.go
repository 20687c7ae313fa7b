// Package apperr is the one error type of Bright Dawn: every failure that a
// client may see carries a Code, and the API maps codes to HTTP statuses in
// exactly one table (api/errors.go).
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error for clients and for the HTTP mapping.
type Code string

// The codes of the application. Clients see their snake_case strings.
const (
	NotFound           Code = "not_found"
	Conflict           Code = "conflict"
	Invalid            Code = "invalid_request"
	Unauthorized       Code = "unauthorized"
	InvalidCredentials Code = "invalid_credentials"
	Forbidden          Code = "forbidden"
	RateLimited        Code = "rate_limited"
	TooLarge           Code = "too_large"
	HeadersTooLarge    Code = "headers_too_large"
	UnsupportedMedia   Code = "unsupported_media_type"
	Unprocessable      Code = "unprocessable"
	MethodNotAllowed   Code = "method_not_allowed"
	Unavailable        Code = "unavailable"
	// StorageStarting: the object store has not answered yet (it starts
	// beside the game); retry after RetryAfter.
	StorageStarting    Code = "storage_starting"
	PreconditionFailed Code = "precondition_failed" // If-Match names an older version
	TooManyCharacters  Code = "too_many_characters" // the player's cap (409)
	TooManySessions    Code = "too_many_sessions"   // the player's cap (409)
	Internal           Code = "internal"
)

// Error is an application error with a client-safe message. The wrapped
// error (if any) is for logs only and never reaches a client.
type Error struct {
	Code       Code
	Message    string
	RetryAfter time.Duration // for RateLimited and StorageStarting
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and client-safe message to an internal cause.
func Wrap(err error, code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalidf reports invalid input, naming the field in the message.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Message: field + ": " + fmt.Sprintf(format, args...)}
}

// NotFoundf reports a missing resource (also used for other players' resources).
func NotFoundf(what string) *Error {
	return &Error{Code: NotFound, Message: what + " not found"}
}

// Limited reports a rate limit with the time after which a retry may succeed.
func Limited(retryAfter time.Duration, message string) *Error {
	return &Error{Code: RateLimited, Message: message, RetryAfter: retryAfter}
}

// CodeOf returns the code of err, Internal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool { return CodeOf(err) == code }
