package sse

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readAll(t testing.TB, s string) ([]Event, error) {
	t.Helper()
	r := NewReader(strings.NewReader(s))
	var out []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestReaderDecodesEvents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want []Event
	}{
		{"an OpenAI chunk is a message event", "data: {\"a\":1}\n\ndata: [DONE]\n\n",
			[]Event{{Type: "message", Data: `{"a":1}`}, {Type: "message", Data: "[DONE]"}}},
		{"Replicate events carry their type and id", "event: output\nid: 1:0\ndata: Hello\n\nevent: done\ndata: {}\n\n",
			[]Event{{Type: "output", Data: "Hello", ID: "1:0"}, {Type: "done", Data: "{}"}}},
		{"several data lines join with a newline", "event: output\ndata: line one\ndata: line two\n\n",
			[]Event{{Type: "output", Data: "line one\nline two"}}},
		{"an empty data line is an empty string", "event: output\ndata:\n\n",
			[]Event{{Type: "output", Data: ""}}},
		{"only one leading space is removed", "data:  two spaces\n\n",
			[]Event{{Type: "message", Data: " two spaces"}}},
		{"CRLF and lone CR end lines too", "event: output\r\ndata: a\r\n\r\nevent: output\rdata: b\r\r",
			[]Event{{Type: "output", Data: "a"}, {Type: "output", Data: "b"}}},
		{"comments and unknown fields are ignored", ": keep-alive\nretry: 10\nfoo: bar\ndata: x\n\n",
			[]Event{{Type: "message", Data: "x"}}},
		{"an event cut off by the end of the stream is dropped", "data: complete\n\ndata: cut",
			[]Event{{Type: "message", Data: "complete"}}},
		{"an event with a type and no data is not dispatched", "event: ping\n\ndata: x\n\n",
			[]Event{{Type: "message", Data: "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestReaderRefusesHugeEvents(t *testing.T) {
	t.Parallel()
	t.Run("a line longer than the limit is an error", func(t *testing.T) {
		_, err := readAll(t, "data: "+strings.Repeat("x", MaxEventBytes+10)+"\n\n")
		require.True(t, errors.Is(err, ErrTooLarge), "%v", err)
	})
	t.Run("many data lines adding up past the limit are an error", func(t *testing.T) {
		line := "data: " + strings.Repeat("x", 1000) + "\n"
		_, err := readAll(t, strings.Repeat(line, MaxEventBytes/1000+2)+"\n")
		require.True(t, errors.Is(err, ErrTooLarge), "%v", err)
	})
}

// FuzzReader feeds arbitrary bytes as a provider's stream: the reader must
// not panic, and no event may exceed the size limit.
func FuzzReader(f *testing.F) {
	f.Add("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: [DONE]\n\n")
	f.Add("event: output\nid: 1\ndata: Hello\n\nevent: done\ndata: {}\n\n")
	f.Add("event: error\ndata: {\"detail\":\"boom\"}\n\n")
	f.Add("\r\r\n\n::\ndata\ndata:\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		r := NewReader(strings.NewReader(in))
		for i := 0; i < 10000; i++ {
			ev, err := r.Next()
			if err != nil {
				return
			}
			if len(ev.Data) > MaxEventBytes {
				t.Fatalf("event of %d bytes", len(ev.Data))
			}
		}
	})
}

func TestLastEventIDCarriesOverAndAByteOrderMarkIsDropped(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("\ufeffretry: 1\nid: 5-0\n\ndata: a\n\nid: 6-0\ndata: b\n\n"))
	ev, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, Event{Type: "message", Data: "a", ID: "5-0"}, ev, "the opening block's id goes with the next event")
	require.Equal(t, "5-0", r.LastEventID())
	ev, err = r.Next()
	require.NoError(t, err)
	require.Equal(t, Event{Type: "message", Data: "b", ID: "6-0"}, ev)
	require.Equal(t, "6-0", r.LastEventID())
	r = NewReader(strings.NewReader("id: 7-0\ndata: c\n\ndata: d\n\n"))
	_, _ = r.Next()
	ev, err = r.Next()
	require.NoError(t, err)
	require.Equal(t, Event{Type: "message", Data: "d"}, ev, "Event.ID is the event's own")
	require.Equal(t, "7-0", r.LastEventID(), "the last id carries over")
}

func TestNewReaderSizeBoundsTheEvent(t *testing.T) {
	t.Parallel()
	_, err := NewReaderSize(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 64).Next()
	require.ErrorIs(t, err, ErrTooLarge)
}
