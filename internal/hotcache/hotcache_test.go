package hotcache_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/hotcache"
)

func TestAReadIsServedUntilAWriteInvalidatesIt(t *testing.T) {
	c := hotcache.New(testkit.Redis(t), 0)
	ctx := context.Background()
	sid := uuid.New()

	_, gen, hit, err := c.Get(ctx, sid, "lore")
	require.NoError(t, err)
	require.False(t, hit, "nothing cached yet")
	require.NoError(t, c.Put(ctx, sid, "lore", gen, []byte("v1")))
	data, _, hit, err := c.Get(ctx, sid, "lore")
	require.NoError(t, err)
	require.True(t, hit)
	require.Equal(t, "v1", string(data))

	require.NoError(t, c.Invalidate(ctx, sid, "lore"))
	_, _, hit, err = c.Get(ctx, sid, "lore")
	require.NoError(t, err)
	require.False(t, hit, "a write drops what was cached")
}

// A reader that saw the generation before a write, and so may have read
// the database before the write committed, cannot store what it read once
// the write is acknowledged (invalidated): the next reader reads afresh.
func TestAReadOlderThanAWriteIsNotStored(t *testing.T) {
	c := hotcache.New(testkit.Redis(t), 0)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		prime bool // a generation existed before the read
	}{{"no generation yet", false}, {"after an earlier write", true}} {
		t.Run(tc.name, func(t *testing.T) {
			sid := uuid.New()
			if tc.prime {
				require.NoError(t, c.Invalidate(ctx, sid, "lore"))
			}
			_, before, hit, err := c.Get(ctx, sid, "lore")
			require.NoError(t, err)
			require.False(t, hit)
			// ... the reader reads the old value from the database; the write commits and is invalidated ...
			require.NoError(t, c.Invalidate(ctx, sid, "lore"))
			require.NoError(t, c.Put(ctx, sid, "lore", before, []byte("old")))
			_, now, hit, err := c.Get(ctx, sid, "lore")
			require.NoError(t, err)
			require.False(t, hit, "the stale read was not stored")
			require.NotEqual(t, before, now)
			require.NoError(t, c.Put(ctx, sid, "lore", now, []byte("new")))
			data, _, hit, err := c.Get(ctx, sid, "lore")
			require.NoError(t, err)
			require.True(t, hit)
			require.Equal(t, "new", string(data))
		})
	}
}

func TestKeysCarryTheSessionsHashTag(t *testing.T) {
	sid := uuid.MustParse("6f1c1a2e-1111-4222-8333-944445555666")
	require.Equal(t, "hot:{6f1c1a2e-1111-4222-8333-944445555666}:lore", hotcache.Key(sid, "lore"))
}
