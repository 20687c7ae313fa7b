// Package httpretry sends HTTP requests to model providers with retries:
// exponential backoff with full jitter on 429, 5xx and transport timeouts,
// honouring Retry-After, with a timeout per attempt and ctx over all of them.
//
// It is the one place the project's outbound provider calls (embeddings and
// the Dungeon Master's models) decide whether and when to try again.
package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	// MaxRetries is how many times a failed attempt is repeated (0 = one try).
	MaxRetries int
	// BaseDelay is the first backoff; each retry doubles it, up to MaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// AttemptTimeout bounds one attempt until its response headers arrive
	// (0 = only ctx). A streaming body is not bounded by it: the caller
	// owns the body's deadlines.
	AttemptTimeout time.Duration
}

// DefaultPolicy suits interactive provider calls: a few quick retries.
var DefaultPolicy = Policy{MaxRetries: 3, BaseDelay: 250 * time.Millisecond, MaxDelay: 8 * time.Second, AttemptTimeout: 30 * time.Second}

// StatusError is an HTTP answer that was not 2xx, after any retries.
type StatusError struct {
	Status     int
	Body       string // the start of the body, for logs; never shown to players
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http %d: %s", e.Status, e.Body)
}

// Retryable reports whether another attempt may succeed: 408, 409 (Replicate
// uses it for a busy deployment), 425, 429 and 5xx.
func Retryable(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// ErrAttemptTimeout is returned (wrapped) when attempts timed out.
var ErrAttemptTimeout = errors.New("provider did not answer in time")

// Do sends the request built by newReq until it gets a 2xx answer, a
// non-retryable status, or the retries are spent. newReq is called once per
// attempt, so bodies are fresh. On success the caller closes the body; the
// returned cancel func ends the attempt's context and must be called when
// the body is done with. On failure the error is a *StatusError, or wraps
// ErrAttemptTimeout, ctx.Err() or the transport error.
func Do(ctx context.Context, client *http.Client, p Policy, newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, context.CancelFunc, error) {
	var last error
	for attempt := 0; ; attempt++ {
		resp, cancel, err := once(ctx, client, p, newReq)
		if err == nil {
			return resp, cancel, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var se *StatusError
		retryAfter := time.Duration(0)
		switch {
		case errors.As(err, &se):
			if !Retryable(se.Status) {
				return nil, nil, err
			}
			retryAfter = se.RetryAfter
		case !transient(err):
			return nil, nil, err
		}
		if attempt >= p.MaxRetries {
			return nil, nil, last
		}
		if err := sleep(ctx, Backoff(p, attempt, retryAfter)); err != nil {
			return nil, nil, err
		}
	}
}

func once(ctx context.Context, client *http.Client, p Policy, newReq func(ctx context.Context) (*http.Request, error)) (*http.Response, context.CancelFunc, error) {
	actx, cancel := context.WithCancel(ctx)
	var timer *time.Timer
	timedOut := make(chan struct{})
	if p.AttemptTimeout > 0 {
		// A timer rather than WithTimeout: the deadline covers only the
		// wait for headers, and a streaming body may run far longer.
		timer = time.AfterFunc(p.AttemptTimeout, func() { close(timedOut); cancel() })
	}
	req, err := newReq(actx)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	resp, err := client.Do(req)
	stopped := timer == nil || timer.Stop()
	if err != nil {
		cancel()
		if !stopped || isClosed(timedOut) {
			return nil, nil, fmt.Errorf("%w (after %s): %v", ErrAttemptTimeout, p.AttemptTimeout, err)
		}
		return nil, nil, err
	}
	if !stopped {
		// The timer fired just as the headers arrived: the body is dead.
		resp.Body.Close()
		cancel()
		return nil, nil, fmt.Errorf("%w (after %s)", ErrAttemptTimeout, p.AttemptTimeout)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		resp.Body.Close()
		cancel()
		return nil, nil, &StatusError{Status: resp.StatusCode, Body: strings.TrimSpace(string(body)), RetryAfter: RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return resp, cancel, nil
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// transient reports whether a transport error may pass on retry: timeouts,
// refused or reset connections, a server that hung up.
func transient(err error) bool {
	if errors.Is(err, ErrAttemptTimeout) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// Backoff is the wait before retry number attempt+1: full jitter over an
// exponential ceiling (AWS's "full jitter", which spreads a thundering herd
// of workers best), but never shorter than the server's Retry-After.
func Backoff(p Policy, attempt int, retryAfter time.Duration) time.Duration {
	ceil := p.BaseDelay << min(attempt, 20)
	if ceil <= 0 || ceil > p.MaxDelay {
		ceil = p.MaxDelay
	}
	d := time.Duration(0)
	if ceil > 0 {
		d = time.Duration(rand.Int64N(int64(ceil)) + 1)
	}
	if retryAfter > d {
		// A server that names a wait means it; the cap protects against
		// an absurd value holding a turn hostage.
		d = min(retryAfter, max(p.MaxDelay, time.Second)*4)
	}
	return d
}

// RetryAfter parses a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 for anything else, and for waits over a day (a broken
// clock or header, not advice).
func RetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if !(secs > 0 && secs <= 86400) { // also refuses NaN
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) && t.Before(now.Add(24*time.Hour)) {
		return t.Sub(now)
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
