package dm

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/replicate"
)

// bodyTransport answers every request with one canned body, so a fuzz
// target can feed a provider's stream parser without a server.
type bodyTransport struct {
	path, body string
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := `{"id":"p1","status":"starting","urls":{"get":"http://fake/v1/predictions/p1","cancel":"http://fake/v1/predictions/p1/cancel","stream":"http://fake/stream/p1"}}`
	if strings.HasSuffix(r.URL.Path, b.path) {
		body = b.body
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// FuzzOpenAIStream feeds arbitrary bytes as a chat-completions stream: the
// model must not panic, and must either succeed or return a *dm.Error.
func FuzzOpenAIStream(f *testing.F) {
	f.Add(chunk("Hello") + finishChunk + usageChunk + "data: [DONE]\n\n")
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":null}}]}\n\ndata: [DONE]\n\n")
	f.Add("data: {\"error\":{\"message\":\"boom\"}}\n\n")
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":\"roa\n\n")
	f.Add("data: [DONE]")
	f.Fuzz(func(t *testing.T, body string) {
		m := NewOpenAI(OpenAIOptions{BaseURL: "http://fake/v1", Model: "m", HTTP: &http.Client{Transport: bodyTransport{"/chat/completions", body}}})
		var got strings.Builder
		_, err := m.Stream(context.Background(), Prompt{Player: "hi"}, func(d string) error { got.WriteString(d); return nil })
		checkStreamResult(t, err)
	})
}

// FuzzReplicateStream feeds arbitrary bytes as a prediction's SSE stream.
func FuzzReplicateStream(f *testing.F) {
	f.Add("event: output\ndata: Hello\n\nevent: done\ndata: {}\n\n")
	f.Add("event: error\ndata: {\"detail\": \"boom\"}\n\n")
	f.Add("event: done\ndata: {\"reason\": \"canceled\"}\n\n")
	f.Add("event: output\ndata: a\ndata: b\n\nevent: done\ndata:\n\n")
	f.Fuzz(func(t *testing.T, body string) {
		c := &replicate.Client{BaseURL: "http://fake", Token: "t", HTTP: &http.Client{Transport: bodyTransport{"/stream/p1", body}}}
		m := NewReplicate(ReplicateOptions{Client: c, Model: "owner/name"})
		_, err := m.Stream(context.Background(), Prompt{Player: "hi"}, func(string) error { return nil })
		checkStreamResult(t, err)
	})
}

func checkStreamResult(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if _, ok := err.(*Error); !ok {
		t.Fatalf("error is not a *dm.Error: %T %v", err, err)
	}
}
