package events

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRead(t *testing.T) {
	type ev struct{ ID, Type, Data, TurnID string }
	for _, tc := range []struct {
		name string
		in   string
		want []ev
	}{
		{
			name: "frames of the server are read with their ids and types",
			in:   "retry: 1500\nid: 1-0\n\nid: 2-0\nevent: dm.delta\ndata: {\"turn_id\":\"t\",\"text\":\"a\"}\n\n: ping\n\n",
			want: []ev{{"2-0", "dm.delta", `{"turn_id":"t","text":"a"}`, "t"}},
		},
		{
			name: "CRLF and lone CR line ends are accepted",
			in:   "id: 1-0\r\nevent: a\r\ndata: {}\r\n\r\nid: 2-0\revent: b\rdata: {}\r\r",
			want: []ev{{"1-0", "a", "{}", ""}, {"2-0", "b", "{}", ""}},
		},
		{
			name: "several data lines are joined with newlines",
			in:   "data: {\ndata: \"a\":1\ndata:}\n\n",
			want: []ev{{"", "message", "{\n\"a\":1\n}", ""}},
		},
		{
			name: "the last id carries over to events without one",
			in:   "id: 7-0\ndata: {}\n\ndata: {}\n\n",
			want: []ev{{"7-0", "message", "{}", ""}, {"7-0", "message", "{}", ""}},
		},
		{
			name: "an incomplete event at the end is dropped",
			in:   "data: {}\n\ndata: {\"half\":",
			want: []ev{{"", "message", "{}", ""}},
		},
		{
			name: "a byte order mark, unknown fields and fields without colon are ignored",
			in:   "\ufeffdata: {}\nfoo: bar\nbaz\n\n",
			want: []ev{{"", "message", "{}", ""}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []ev
			err := Read(t.Context(), strings.NewReader(tc.in), func(e Event) bool {
				got = append(got, ev{e.ID, e.Type, string(e.Data), e.TurnID})
				return true
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}

	t.Run("returning false stops reading", func(t *testing.T) {
		n := 0
		err := Read(t.Context(), strings.NewReader("data: {}\n\ndata: {}\n\n"), func(Event) bool { n++; return false })
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})
	t.Run("a cancelled context stops reading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := Read(ctx, strings.NewReader("data: {}\n\n"), func(Event) bool { return true })
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("an endless line is an error", func(t *testing.T) {
		err := Read(t.Context(), strings.NewReader("data: "+strings.Repeat("x", maxLine+1)), func(Event) bool { return true })
		assert.Error(t, err)
	})
}
