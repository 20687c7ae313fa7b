package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/codeofconquest/brightdawn/internal/sse"
)

// maxLine bounds one line of a text/event-stream the client will accept.
const maxLine = MaxDataSize + 64<<10

// Read parses a text/event-stream (an SSE response body) and calls fn for
// every dispatched event, in order, until fn returns false, the stream
// ends (nil) or fails. It follows the HTML parsing rules: CR, LF and CRLF
// line ends, comments (heartbeats) skipped, several `data:` lines joined
// with "\n", `id:` remembered across events, type "message" by default,
// and an incomplete event at EOF discarded. Blocks without data (such as
// the server's opening `retry:`/`id:` block) dispatch nothing.
//
// Event.TurnID is taken from the data's "turn_id" when it has one.
// ctx is checked between events; to interrupt a blocked read, tie the
// request to ctx (http.NewRequestWithContext) so the body read fails.
func Read(ctx context.Context, r io.Reader, fn func(Event) bool) error {
	sr := sse.NewReaderSize(r, maxLine)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		se, err := sr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("events: read stream: %w", err)
		}
		e := Event{ID: sr.LastEventID(), Type: se.Type, Data: json.RawMessage(se.Data)}
		if t, err := dataTurnID(e.Data); err == nil && t != nil {
			e.TurnID = *t
		}
		if !fn(e) {
			return nil
		}
	}
}
