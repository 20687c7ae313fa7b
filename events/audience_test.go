package events

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAudience(t *testing.T) {
	sid, alice, bob := uuid.New(), uuid.NewString(), uuid.NewString()
	t.Run("an addressed event is visible to its player alone", func(t *testing.T) {
		e := Event{To: alice}
		assert.True(t, e.VisibleTo(alice))
		assert.False(t, e.VisibleTo(bob))
		assert.False(t, e.VisibleTo(""), "a stream without a player sees public events only")
	})
	t.Run("an event excepting a player reaches everybody else", func(t *testing.T) {
		e := Event{Except: alice}
		assert.False(t, e.VisibleTo(alice))
		assert.True(t, e.VisibleTo(bob))
	})
	t.Run("the live announcement carries the audience", func(t *testing.T) {
		prefix, suffix := liveEnvelope(sid, Event{Type: "dm.delta", To: alice}, []byte(`{"text":"x"}`))
		got, ok := peekSession([]byte(prefix + "5-1" + suffix))
		require.True(t, ok)
		assert.Equal(t, sid, got)
		s, id, e, err := parseLive([]byte(prefix + "5-1" + suffix))
		require.NoError(t, err)
		assert.Equal(t, sid, s)
		assert.Equal(t, "5-1", id.String())
		assert.Equal(t, alice, e.To)
		f := newFrame(id, e)
		assert.Contains(t, string(f.Bytes), "id: 5-1\n")
	})
	t.Run("an ephemeral announcement has no id and its frame no id line", func(t *testing.T) {
		prefix, suffix := liveEnvelope(sid, Event{Type: "typing", Except: bob, Ephemeral: true}, []byte(`{"player_id":"`+bob+`"}`))
		_, id, e, err := parseLive([]byte(prefix + suffix))
		require.NoError(t, err)
		assert.True(t, e.Ephemeral)
		assert.Equal(t, bob, e.Except)
		f := newFrame(id, e)
		assert.NotContains(t, string(f.Bytes), "id:")
		assert.Contains(t, string(f.Bytes), "event: typing\n")
	})
	t.Run("a malformed audience is refused", func(t *testing.T) {
		prefix, suffix := liveEnvelope(sid, Event{Type: "dm.delta", To: "not-a-uuid"}, []byte(`{}`))
		_, _, _, err := parseLive([]byte(prefix + "1-0" + suffix))
		require.Error(t, err)
		_, _, _, err = parseLive([]byte(`{"id":"","session":"` + sid.String() + `","type":"x","turn":"","data":{}}`))
		require.Error(t, err, "only ephemeral events may lack an id")
	})
}
