package events

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
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
// ctx is checked between lines; to interrupt a blocked read, tie the
// request to ctx (http.NewRequestWithContext) so the body read fails.
func Read(ctx context.Context, r io.Reader, fn func(Event) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	sc.Split(scanSSELines)
	var (
		lastID, typ string
		data        bytes.Buffer
		hasData     bool
		firstLine   = true
	)
	for sc.Scan() {
		if err := ctx.Err(); err != nil {
			return err
		}
		line := sc.Text()
		if firstLine {
			line = strings.TrimPrefix(line, "\ufeff")
			firstLine = false
		}
		if line == "" {
			if hasData {
				b := bytes.TrimSuffix(data.Bytes(), []byte("\n"))
				e := Event{ID: lastID, Type: typ, Data: json.RawMessage(bytes.Clone(b))}
				if e.Type == "" {
					e.Type = "message"
				}
				if t, err := dataTurnID(e.Data); err == nil && t != nil {
					e.TurnID = *t
				}
				if !fn(e) {
					return nil
				}
			}
			typ, hasData = "", false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := strings.Cut(line, ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "event":
			typ = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				lastID = value
			}
		}
	}
	if err := sc.Err(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		return fmt.Errorf("events: read stream: %w", err)
	}
	return nil
}

// scanSSELines splits on LF, CRLF or a lone CR.
func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		switch {
		case i+1 < len(data) && data[i+1] == '\n':
			return i + 2, data[:i], nil
		case i+1 < len(data) || atEOF:
			return i + 1, data[:i], nil
		}
		return 0, nil, nil // a CR at the end: wait for a possible LF
	}
	if atEOF {
		// An unterminated last line cannot complete an event: drop it.
		return len(data), nil, nil
	}
	return 0, nil, nil
}
