// Package sse reads server-sent event streams: those of model providers
// (OpenAI-compatible chat completions, Replicate predictions) and the
// game's own (events.Read, for tests and tools). It follows
// the WHATWG event-stream rules that matter to a client: fields `event`,
// `data` (several lines join with "\n"), `id`, comments, CRLF or LF line
// ends; and it bounds what an untrusted server can make it buffer.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// Event is one dispatched event. Type is "message" when the server named none.
type Event struct {
	Type string
	Data string
	ID   string
}

// MaxEventBytes bounds one event's data: a provider chunk is a few hundred
// bytes, so anything near this is a broken or hostile server.
const MaxEventBytes = 1 << 20

// ErrTooLarge is returned when a line or an event exceeds the reader's limit.
var ErrTooLarge = errors.New("sse: event too large")

// Reader decodes events from a stream.
type Reader struct {
	sc      *bufio.Scanner
	data    strings.Builder
	max     int
	started bool   // the first line was read (a byte order mark is dropped from it)
	lastID  string // the spec's "last event ID buffer"
}

// NewReader returns a reader of r whose events are at most MaxEventBytes.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, MaxEventBytes) }

// NewReaderSize returns a reader of r that refuses a line or an event's
// data longer than max bytes.
func NewReaderSize(r io.Reader, max int) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), max)
	sc.Split(scanLines)
	return &Reader{sc: sc, max: max}
}

// LastEventID is the last `id:` the stream set, carried over events that
// set none and set by blocks that dispatch nothing (the id a client
// resumes from); Event.ID is only the id the event itself named.
func (r *Reader) LastEventID() string { return r.lastID }

// Next returns the next event. At the end of the stream it returns io.EOF;
// an event not terminated by a blank line before the end is dropped, as
// the spec says (a stream cut mid-event must not look complete).
func (r *Reader) Next() (Event, error) {
	var ev Event
	r.data.Reset()
	hasData := false
	for r.sc.Scan() {
		line := r.sc.Text()
		if !r.started {
			r.started = true
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" {
			if !hasData && ev.Type == "" {
				continue // nothing to dispatch (e.g. after a comment)
			}
			if !hasData {
				// An event with a type but no data is not dispatched by
				// browsers; providers' `done` events carry data anyway.
				ev = Event{}
				continue
			}
			if ev.Type == "" {
				ev.Type = "message"
			}
			ev.Data = r.data.String()
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Type = value
		case "data":
			if hasData {
				r.data.WriteByte('\n')
			}
			if r.data.Len()+len(value) > r.max {
				return Event{}, ErrTooLarge
			}
			r.data.WriteString(value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				ev.ID, r.lastID = value, value
			}
		}
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Event{}, ErrTooLarge
		}
		return Event{}, err
	}
	return Event{}, io.EOF
}

// scanLines splits on LF, CRLF or a lone CR.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if !atEOF {
				return 0, nil, nil // a CR at the buffer's end may precede LF
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}
