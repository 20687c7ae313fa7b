package auth

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/codeofconquest/brightdawn/internal/redisconn"
)

func TestRevocationKeysShareThePlayersSlot(t *testing.T) {
	player := uuid.New()
	// One EXISTS reads both, one MULTI writes them: a Cluster wants one slot.
	assert.Equal(t, player.String(), redisconn.HashTag(revokedTokenKey(player, "jti-1")))
	assert.Equal(t, player.String(), redisconn.HashTag(revokedFamilyKey(player, uuid.New())))
}
