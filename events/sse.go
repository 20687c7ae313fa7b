package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Frame is an event already encoded as a text/event-stream block. The hub
// encodes each live event once and hands the same *Frame to every local
// subscriber of the session; nobody may modify it.
type Frame struct {
	ID    StreamID
	Event Event
	Bytes []byte
}

// newFrame encodes an event as `id:`, `event:` and `data:` lines and a
// blank line. Data is compact JSON (one line); should it ever contain line
// breaks, each line becomes its own `data:` field, which the SSE parser
// joins back with "\n" — the same JSON.
func newFrame(id StreamID, e Event) *Frame {
	var ids string
	if !e.Ephemeral {
		ids = id.String()
	}
	e.ID = ids
	var b bytes.Buffer
	b.Grow(len(ids) + len(e.Type) + len(e.Data) + 24)
	if !e.Ephemeral {
		// An ephemeral event has no id: the client's Last-Event-ID stays
		// on the last stored event.
		b.WriteString("id: ")
		b.WriteString(ids)
		b.WriteByte('\n')
	}
	b.WriteString("event: ")
	b.WriteString(e.Type)
	b.WriteByte('\n')
	writeData(&b, e.Data)
	b.WriteByte('\n')
	return &Frame{ID: id, Event: e, Bytes: b.Bytes()}
}

func writeData(b *bytes.Buffer, data []byte) {
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			b.WriteString("data: ")
			b.Write(data)
			b.WriteByte('\n')
			return
		}
		b.WriteString("data: ")
		b.Write(data[:i])
		b.WriteByte('\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// resetFrame tells the client its history is gone. It carries the id the
// client should resume from next time, so a reconnect does not reset again.
func resetFrame(id StreamID, reason string) []byte {
	data, _ := json.Marshal(struct {
		Reason string `json:"reason"`
	}{reason})
	return newFrame(id, Event{Type: TypeReset, Data: data}).Bytes
}

// openingBlock sets the client's reconnection delay and, when known, the id
// to resume from. A block without data dispatches no event, but browsers
// still record its id as the EventSource's lastEventId: a session stream
// that stays idle and then drops resumes without a gap.
func openingBlock(retry time.Duration, id *StreamID) []byte {
	var b []byte
	if retry > 0 {
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, retry.Milliseconds(), 10)
		b = append(b, '\n')
	}
	if id != nil {
		b = append(b, "id: "...)
		b = append(b, id.String()...)
		b = append(b, '\n')
	}
	if len(b) == 0 {
		return nil
	}
	return append(b, '\n')
}

var heartbeat = []byte(": ping\n\n")

// setStreamHeaders writes the headers of an SSE response. X-Accel-Buffering
// keeps nginx-like proxies from buffering; Caddy passes SSE through as is.
func setStreamHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "keep-alive")
}

// live is the pub/sub announcement of one published event (see Publisher).
type live struct {
	ID      string          `json:"id"`
	Session string          `json:"session"`
	Type    string          `json:"type"`
	Turn    string          `json:"turn"`
	To      string          `json:"to"`
	Except  string          `json:"except"`
	Eph     bool            `json:"eph"`
	Data    json.RawMessage `json:"data"`
}

var errMalformed = errors.New("events: malformed live event")

// peekSession reads the session of an announcement in the exact layout the
// Publisher writes ({"id":"…","session":"…",…}) without decoding it. ok
// is false for anything else, which then goes through the full decoder.
func peekSession(p []byte) (uuid.UUID, bool) {
	const head, mid = `{"id":"`, `","session":"`
	if !bytes.HasPrefix(p, []byte(head)) {
		return uuid.Nil, false
	}
	rest := p[len(head):]
	i := bytes.IndexByte(rest, '"')
	if i < 0 || i > MaxIDLength {
		return uuid.Nil, false
	}
	rest = rest[i:]
	if !bytes.HasPrefix(rest, []byte(mid)) || len(rest) < len(mid)+37 || rest[len(mid)+36] != '"' {
		return uuid.Nil, false
	}
	u, err := uuid.ParseBytes(rest[len(mid) : len(mid)+36])
	return u, err == nil
}

// decodeLive parses a pub/sub payload into its session and an encoded frame.
func decodeLive(payload []byte) (uuid.UUID, *Frame, error) {
	sid, id, e, err := parseLive(payload)
	if err != nil {
		return uuid.Nil, nil, err
	}
	return sid, newFrame(id, e), nil
}

// parseLive parses a pub/sub payload. It comes from Redis, not from a
// client, but a broken or foreign publisher must never crash the hub:
// anything odd is an error.
func parseLive(payload []byte) (uuid.UUID, StreamID, Event, error) {
	fail := func(format string, args ...any) (uuid.UUID, StreamID, Event, error) {
		return uuid.Nil, StreamID{}, Event{}, fmt.Errorf("%w: %s", errMalformed, fmt.Sprintf(format, args...))
	}
	var m live
	if err := json.Unmarshal(payload, &m); err != nil {
		return fail("%v", err)
	}
	sid, err := uuid.Parse(m.Session)
	if err != nil || sid == uuid.Nil {
		return fail("session %.40q", m.Session)
	}
	id, ok := redisID(m.ID)
	if !ok && !(m.Eph && m.ID == "") {
		return fail("id %.45q", m.ID)
	}
	for _, a := range []string{m.To, m.Except} {
		if a != "" {
			if u, err := uuid.Parse(a); err != nil || u.String() != a {
				return fail("audience %.40q", a)
			}
		}
	}
	if err := validType(m.Type); err != nil {
		return fail("%v", err)
	}
	if m.Turn != "" {
		if u, err := uuid.Parse(m.Turn); err != nil || u.String() != m.Turn {
			return fail("turn %.40q", m.Turn)
		}
	}
	data := bytes.TrimSpace(m.Data)
	if len(data) == 0 || data[0] != '{' {
		return fail("data is not a JSON object")
	}
	e := Event{Type: m.Type, TurnID: m.Turn, Data: data, To: m.To, Except: m.Except, Ephemeral: m.Eph}
	if !m.Eph {
		e.ID = id.String()
	}
	return sid, id, e, nil
}

// entryFrame decodes an XRANGE entry written by the Publisher.
func entryFrame(msg redis.XMessage) (*Frame, bool) {
	id, ok := redisID(msg.ID)
	if !ok {
		return nil, false
	}
	typ, _ := msg.Values["type"].(string)
	turn, _ := msg.Values["turn"].(string)
	data, _ := msg.Values["data"].(string)
	if validType(typ) != nil || len(data) == 0 || data[0] != '{' {
		return nil, false
	}
	to, _ := msg.Values["to"].(string)
	except, _ := msg.Values["except"].(string)
	return newFrame(id, Event{Type: typ, TurnID: turn, Data: json.RawMessage(data), To: to, Except: except}), true
}
