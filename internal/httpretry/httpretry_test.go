package httpretry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func get(url string) func(ctx context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", url, nil)
	}
}

func TestDoRetriesWhatMayPass(t *testing.T) {
	t.Parallel()
	p := Policy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, AttemptTimeout: time.Second}
	for _, tc := range []struct {
		name      string
		statuses  []int
		wantCalls int32
		wantErr   int
	}{
		{"a 429 then a 200 succeeds", []int{429, 200}, 2, 0},
		{"5xx twice then a 200 succeeds", []int{500, 503, 200}, 3, 0},
		{"5xx past the retries fails with the last status", []int{502, 502, 502, 200}, 3, 502},
		{"a 400 is not retried", []int{400, 200}, 1, 400},
		{"a 401 is not retried", []int{401, 200}, 1, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.statuses[calls.Add(1)-1])
			}))
			defer srv.Close()
			resp, done, err := Do(context.Background(), srv.Client(), p, get(srv.URL))
			require.Equal(t, tc.wantCalls, calls.Load())
			if tc.wantErr == 0 {
				require.NoError(t, err)
				resp.Body.Close()
				done()
				return
			}
			var se *StatusError
			require.True(t, errors.As(err, &se), "%v", err)
			require.Equal(t, tc.wantErr, se.Status)
		})
	}
}

func TestDoTimesOutAnAttemptWaitingForHeaders(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	p := Policy{MaxRetries: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond, AttemptTimeout: 100 * time.Millisecond}
	resp, done, err := Do(context.Background(), srv.Client(), p, get(srv.URL))
	require.NoError(t, err, "the second attempt answers")
	resp.Body.Close()
	done()
	p.MaxRetries = 0
	calls.Store(0)
	_, _, err = Do(context.Background(), srv.Client(), p, get(srv.URL))
	require.ErrorIs(t, err, ErrAttemptTimeout)
}

func TestDoStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(503)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := Do(ctx, srv.Client(), Policy{MaxRetries: 5, BaseDelay: time.Millisecond, MaxDelay: time.Second}, get(srv.URL))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 5*time.Second, "a Retry-After does not outlive ctx")
}

func TestBackoffHonoursRetryAfterAndItsCeiling(t *testing.T) {
	t.Parallel()
	p := Policy{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for attempt := 0; attempt < 10; attempt++ {
		d := Backoff(p, attempt, 0)
		require.Greater(t, d, time.Duration(0))
		require.LessOrEqual(t, d, min(p.BaseDelay<<attempt, p.MaxDelay), "full jitter stays under the exponential ceiling")
	}
	require.Equal(t, 3*time.Second, Backoff(p, 0, 3*time.Second), "Retry-After is a floor")
	require.Equal(t, 4*time.Second, Backoff(p, 0, time.Hour), "an absurd Retry-After is capped")
}

func TestRetryAfterParsesSecondsAndDates(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"2", 2 * time.Second},
		{"0.5", 500 * time.Millisecond},
		{"Thu, 01 Jan 2026 12:00:10 GMT", 10 * time.Second},
		{"Thu, 01 Jan 2026 11:00:00 GMT", 0},
		{"-1", 0},
		{"soon", 0},
		{"", 0},
	} {
		require.Equal(t, tc.want, RetryAfter(tc.in, now), tc.in)
	}
}

// FuzzRetryAfter feeds arbitrary header values: never negative, never
// more than a day.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"2", "0.5", "Thu, 01 Jan 2026 12:00:10 GMT", "1e308", "NaN", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		d := RetryAfter(h, time.Now())
		if d < 0 || d > 25*time.Hour {
			t.Fatalf("%q → %s", h, d)
		}
	})
}
