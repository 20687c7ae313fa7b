package events

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseID(t *testing.T) {
	t.Run("valid ids parse and print back the same", func(t *testing.T) {
		for _, tc := range []struct {
			in   string
			want StreamID
		}{
			{"0-0", StreamID{}},
			{"1526919030474-55", StreamID{1526919030474, 55}},
			{"18446744073709551615-18446744073709551615", StreamID{^uint64(0), ^uint64(0)}},
		} {
			got, err := ParseID(tc.in)
			require.NoError(t, err, tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String())
		}
	})
	t.Run("malformed ids are invalid input naming Last-Event-ID", func(t *testing.T) {
		for _, in := range []string{
			"", "-", "1", "1-", "-1", "1-2-3", "a-1", "1-a", " 1-1", "1-1 ", "+1-1", "1-+1",
			"01-1", "1-01", "1.5-1", "18446744073709551616-0", "0-18446744073709551616",
			strings.Repeat("1", 42), "１-1", "1-1\n", "0x1-1",
		} {
			_, err := ParseID(in)
			require.Error(t, err, "%q", in)
			e, ok := apperr.As(err)
			require.True(t, ok, "%q: %v", in, err)
			assert.Equal(t, apperr.Invalid, e.Code)
			assert.Contains(t, e.Message, "Last-Event-ID")
		}
	})
	t.Run("ids compare by milliseconds then sequence, not as text", func(t *testing.T) {
		for _, tc := range []struct {
			a, b string
			want int
		}{
			{"9-0", "10-0", -1},
			{"10-9", "10-10", -1},
			{"10-10", "10-10", 0},
			{"11-0", "10-99", 1},
		} {
			a, _ := ParseID(tc.a)
			b, _ := ParseID(tc.b)
			assert.Equal(t, tc.want, a.Compare(b), "%s vs %s", tc.a, tc.b)
			assert.Equal(t, tc.want < 0, a.Less(b))
		}
	})
}

func TestNewEvent(t *testing.T) {
	turn := uuid.New()
	t.Run("turn_id is added to the data", func(t *testing.T) {
		for _, data := range []any{nil, map[string]any{}, map[string]any{"text": "hi"}, struct {
			Status string `json:"status"`
		}{"queued"}} {
			e, err := NewEvent(TypeTurnStatus, turn, data)
			require.NoError(t, err)
			assert.Equal(t, turn.String(), e.TurnID)
			var m map[string]any
			require.NoError(t, json.Unmarshal(e.Data, &m), "%s", e.Data)
			assert.Equal(t, turn.String(), m["turn_id"])
		}
	})
	t.Run("a matching turn_id is kept and session events have none", func(t *testing.T) {
		e, err := NewEvent(TypeDMDelta, turn, map[string]any{"turn_id": turn.String(), "text": "x"})
		require.NoError(t, err)
		assert.Equal(t, 1, strings.Count(string(e.Data), "turn_id"))
		e, err = NewEvent("session.note", uuid.Nil, map[string]any{"text": "x"})
		require.NoError(t, err)
		assert.Empty(t, e.TurnID)
		assert.JSONEq(t, `{"text":"x"}`, string(e.Data))
	})
	t.Run("bad events are refused", func(t *testing.T) {
		for name, tc := range map[string]struct {
			typ  string
			data any
		}{
			"an empty type":           {"", nil},
			"a type with a newline":   {"dm.delta\nevil", nil},
			"data that is an array":   {TypeDMDelta, []int{1}},
			"data that is a string":   {TypeDMDelta, "text"},
			"a different turn_id":     {TypeDMDelta, map[string]any{"turn_id": uuid.NewString()}},
			"data that cannot encode": {TypeDMDelta, map[string]any{"f": func() {}}},
		} {
			_, err := NewEvent(tc.typ, turn, tc.data)
			assert.Error(t, err, name)
		}
	})
}

func TestEventNormalize(t *testing.T) {
	turn := uuid.New()
	t.Run("data is compacted to one line", func(t *testing.T) {
		e := Event{Type: TypeDMDelta, TurnID: turn.String(), Data: json.RawMessage("{\n  \"turn_id\": \"" + turn.String() + "\",\n  \"text\": \"a\\nb\"\n}")}
		data, err := e.normalize()
		require.NoError(t, err)
		assert.NotContains(t, string(data), "\n")
	})
	t.Run("events that cannot be published are refused", func(t *testing.T) {
		for name, e := range map[string]Event{
			"reset is only written by the server": {Type: TypeReset, Data: json.RawMessage(`{}`)},
			"data without the turn's turn_id":     {Type: TypeDMDelta, TurnID: turn.String(), Data: json.RawMessage(`{"text":"x"}`)},
			"a turn id that is not a uuid":        {Type: TypeDMDelta, TurnID: "t1", Data: json.RawMessage(`{"turn_id":"t1"}`)},
			"invalid JSON":                        {Type: TypeDMDelta, Data: json.RawMessage(`{"a":}`)},
			"no data":                             {Type: TypeDMDelta},
			"data larger than MaxDataSize":        {Type: TypeDMDelta, Data: json.RawMessage(`{"a":"` + strings.Repeat("x", MaxDataSize) + `"}`)},
		} {
			_, err := e.normalize()
			assert.Error(t, err, name)
		}
	})
}

func TestFrame(t *testing.T) {
	t.Run("a frame is id, event and data lines and a blank line", func(t *testing.T) {
		f := newFrame(StreamID{5, 1}, Event{Type: TypeDMDelta, Data: json.RawMessage(`{"text":"x"}`)})
		assert.Equal(t, "id: 5-1\nevent: dm.delta\ndata: {\"text\":\"x\"}\n\n", string(f.Bytes))
		assert.Equal(t, "5-1", f.Event.ID)
	})
	t.Run("data with line breaks becomes several data lines that read back the same", func(t *testing.T) {
		data := "{\n\"a\":1,\r\n\"b\":2\r}"
		f := newFrame(StreamID{5, 1}, Event{Type: TypeDMDelta, Data: json.RawMessage(data)})
		var got []Event
		require.NoError(t, Read(t.Context(), strings.NewReader(string(f.Bytes)), func(e Event) bool { got = append(got, e); return true }))
		require.Len(t, got, 1)
		assert.Equal(t, "{\n\"a\":1,\n\"b\":2\n}", string(got[0].Data))
	})
}

func TestPeekSession(t *testing.T) {
	sid := uuid.New()
	t.Run("the publisher's layout is read without decoding", func(t *testing.T) {
		prefix, suffix := liveEnvelope(sid, Event{Type: TypeDMDelta}, []byte(`{"session":"x"}`))
		got, ok := peekSession([]byte(prefix + "1-0" + suffix))
		require.True(t, ok)
		assert.Equal(t, sid, got)
	})
	t.Run("any other layout is left to the decoder", func(t *testing.T) {
		for _, p := range []string{
			`{"session":"` + sid.String() + `","id":"1-0"}`,
			`{"id":"1-0", "session":"` + sid.String() + `"}`,
			`{"id":"1-0","session":"` + sid.String() + `x"}`,
			`{"id":"1-0","session":"` + sid.String()[:30] + `"}`,
			`{"id":"`,
		} {
			_, ok := peekSession([]byte(p))
			assert.False(t, ok, p)
		}
	})
}
