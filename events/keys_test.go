package events

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

func TestSessionKeysShareASlot(t *testing.T) {
	sid := uuid.New()
	t.Run("a session's stream and live channel share its hash tag, as the publish script needs on a Cluster", func(t *testing.T) {
		assert.Equal(t, sid.String(), redisconn.HashTag(StreamKey(sid)))
		assert.Equal(t, sid.String(), redisconn.HashTag(LiveChannel(sid)))
	})
	t.Run("different sessions hash apart, so they spread over the masters", func(t *testing.T) {
		assert.NotEqual(t, redisconn.HashTag(StreamKey(sid)), redisconn.HashTag(StreamKey(uuid.New())))
	})
	t.Run("the session is read back from its channel name and from nothing else", func(t *testing.T) {
		got, ok := sessionOfChannel(LiveChannel(sid))
		require.True(t, ok)
		assert.Equal(t, sid, got)
		for _, ch := range []string{"events:live", "events:hub:" + sid.String(), "events:live:{" + sid.String(), "events:live:{nope}"} {
			_, ok := sessionOfChannel(ch)
			assert.False(t, ok, ch)
		}
	})
}
