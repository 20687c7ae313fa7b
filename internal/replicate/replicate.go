// Package replicate is a small client of Replicate's HTTP API: create a
// prediction (optionally waiting for it with `Prefer: wait`), poll it,
// open its server-sent event stream and cancel it. Replicate's Go SDK is
// not on the module proxy; the API is small enough to speak directly.
package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/codeofconquest/brightdawn/internal/httpretry"
)

// DefaultBaseURL is Replicate's API.
const DefaultBaseURL = "https://api.replicate.com"

// Prediction statuses. The last three are final.
const (
	StatusStarting   = "starting"
	StatusProcessing = "processing"
	StatusSucceeded  = "succeeded"
	StatusFailed     = "failed"
	StatusCanceled   = "canceled"
	StatusAborted    = "aborted"
)

// Final reports whether a prediction status will not change any more.
func Final(status string) bool {
	return status == StatusSucceeded || status == StatusFailed || status == StatusCanceled || status == StatusAborted
}

// Prediction is Replicate's prediction object, as far as this client reads it.
type Prediction struct {
	ID      string          `json:"id"`
	Model   string          `json:"model"`
	Version string          `json:"version"`
	Status  string          `json:"status"`
	Output  json.RawMessage `json:"output"`
	Error   json.RawMessage `json:"error"` // a string, or null
	Logs    string          `json:"logs"`
	Metrics Metrics         `json:"metrics"`
	URLs    URLs            `json:"urls"`
}

// ErrorText returns the prediction's error as text ("" if none).
func (p Prediction) ErrorText() string {
	if len(p.Error) == 0 || string(p.Error) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(p.Error, &s) == nil {
		return s
	}
	return string(p.Error)
}

// URLs are the prediction's links.
type URLs struct {
	Get    string `json:"get"`
	Cancel string `json:"cancel"`
	Stream string `json:"stream"`
	Web    string `json:"web"`
}

// Metrics are what Replicate measured; language models report tokens.
type Metrics struct {
	PredictTime      float64 `json:"predict_time"`
	InputTokenCount  int     `json:"input_token_count"`
	OutputTokenCount int     `json:"output_token_count"`
	TimeToFirstToken float64 `json:"time_to_first_token"`
}

// Client talks to Replicate.
type Client struct {
	BaseURL string // DefaultBaseURL when empty
	Token   string
	HTTP    *http.Client
	Retry   httpretry.Policy
}

// Create starts a prediction of model, which is "owner/name" (the model's
// current version, via /v1/models/{owner}/{name}/predictions) or
// "owner/name:version" (/v1/predictions with that version). With wait > 0
// it asks Replicate to hold the request until the prediction ends, up to
// wait (`Prefer: wait=N`, at most 60 s); the result may still be running.
func (c *Client) Create(ctx context.Context, model string, input any, stream bool, wait time.Duration) (Prediction, error) {
	body := map[string]any{"input": input}
	if stream {
		body["stream"] = true
	}
	path := ""
	owner, rest, ok := strings.Cut(model, "/")
	if !ok || owner == "" || rest == "" {
		return Prediction{}, fmt.Errorf("replicate: model %q is not owner/name[:version]", model)
	}
	if _, version, hasVersion := strings.Cut(rest, ":"); hasVersion {
		path = "/v1/predictions"
		body["version"] = version
	} else {
		path = "/v1/models/" + url.PathEscape(owner) + "/" + url.PathEscape(rest) + "/predictions"
	}
	js, err := json.Marshal(body)
	if err != nil {
		return Prediction{}, err
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	if wait > 0 {
		hdr.Set("Prefer", fmt.Sprintf("wait=%d", int(min(max(wait, time.Second), 60*time.Second)/time.Second)))
	}
	var p Prediction
	err = c.doJSON(ctx, http.MethodPost, c.base()+path, js, hdr, &p)
	return p, err
}

// Get fetches a prediction by its urls.get link.
func (c *Client) Get(ctx context.Context, getURL string) (Prediction, error) {
	if err := c.checkURL(getURL); err != nil {
		return Prediction{}, err
	}
	var p Prediction
	err := c.doJSON(ctx, http.MethodGet, getURL, nil, nil, &p)
	return p, err
}

// Wait polls the prediction every interval until its status is final.
func (c *Client) Wait(ctx context.Context, p Prediction, interval time.Duration) (Prediction, error) {
	for !Final(p.Status) {
		if p.URLs.Get == "" {
			return p, fmt.Errorf("replicate: prediction %s has no get URL", p.ID)
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return p, ctx.Err()
		case <-t.C:
		}
		var err error
		if p, err = c.Get(ctx, p.URLs.Get); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Cancel asks Replicate to stop a prediction. It is best effort: callers
// use it on the way out, with a context of their own.
func (c *Client) Cancel(ctx context.Context, p Prediction) error {
	u := p.URLs.Cancel
	if u == "" && p.ID != "" {
		u = c.base() + "/v1/predictions/" + url.PathEscape(p.ID) + "/cancel"
	}
	if err := c.checkURL(u); err != nil {
		return err
	}
	once := c.Retry
	once.MaxRetries = min(once.MaxRetries, 1)
	resp, done, err := httpretry.Do(ctx, c.client(), once, func(ctx context.Context) (*http.Request, error) {
		return c.request(ctx, http.MethodPost, u, nil, nil)
	})
	if err != nil {
		return err
	}
	defer done()
	resp.Body.Close()
	return nil
}

// Abandon cancels a prediction its caller gives up on, usually because ctx
// ended, so Replicate stops billing for work nobody reads: the cancel runs
// without ctx's cancellation but within 5 seconds, and its failure is
// ignored (the prediction then runs to its end).
func (c *Client) Abandon(ctx context.Context, p Prediction) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = c.Cancel(cctx, p)
}

// OpenStream GETs the prediction's event stream. Retries apply until the
// stream's headers arrive; the caller reads (sse.NewReader) and closes the
// body, then calls done.
func (c *Client) OpenStream(ctx context.Context, streamURL string) (*http.Response, context.CancelFunc, error) {
	if err := c.checkURL(streamURL); err != nil {
		return nil, nil, err
	}
	return httpretry.Do(ctx, c.client(), c.Retry, func(ctx context.Context) (*http.Request, error) {
		return c.request(ctx, http.MethodGet, streamURL, nil, http.Header{"Accept": {"text/event-stream"}, "Cache-Control": {"no-store"}})
	})
}

func (c *Client) doJSON(ctx context.Context, method, u string, body []byte, hdr http.Header, out any) error {
	resp, done, err := httpretry.Do(ctx, c.client(), c.Retry, func(ctx context.Context) (*http.Request, error) {
		return c.request(ctx, method, u, body, hdr)
	})
	if err != nil {
		return err
	}
	defer done()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("replicate: read: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("replicate: decode %s: %w", method, err)
	}
	return nil
}

func (c *Client) request(ctx context.Context, method, u string, body []byte, hdr http.Header) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("User-Agent", "bright-dawn")
	return req, nil
}

// checkURL refuses to send the API token anywhere but Replicate: a link
// from a prediction is followed only over https, or to the configured base
// URL's own scheme and host (a local test server or proxy).
func (c *Client) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("replicate: bad URL %q", raw)
	}
	base, _ := url.Parse(c.base())
	if u.Scheme == "https" || (base != nil && u.Scheme == base.Scheme && u.Host == base.Host) {
		return nil
	}
	return fmt.Errorf("replicate: refusing to follow %s URL to %s", u.Scheme, u.Host)
}

func (c *Client) base() string {
	if c.BaseURL == "" {
		return DefaultBaseURL
	}
	return strings.TrimRight(c.BaseURL, "/")
}

func (c *Client) client() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}
