package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/alexedwards/argon2id"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/config"
)

func testPasswords(t testing.TB) *passwords {
	t.Helper()
	p, err := newPasswords(config.Auth{ArgonMemoryKiB: 19456, ArgonTime: 2, ArgonThreads: 1})
	require.NoError(t, err)
	return p
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := testPasswords(t)
	hash, err := p.hash(ctx, "correct horse battery")
	require.NoError(t, err)

	t.Run("the hash is Argon2id with the configured parameters", func(t *testing.T) {
		require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
		params, salt, key, err := argon2id.DecodeHash(hash)
		require.NoError(t, err)
		require.Equal(t, uint32(19456), params.Memory)
		require.Len(t, salt, 16)
		require.Len(t, key, 32)
	})
	t.Run("the right password matches", func(t *testing.T) {
		ok, err := p.verify(ctx, "correct horse battery", hash)
		require.NoError(t, err)
		require.True(t, ok)
	})
	t.Run("a wrong password does not match", func(t *testing.T) {
		ok, err := p.verify(ctx, "correct horse battery!", hash)
		require.NoError(t, err)
		require.False(t, ok)
	})
	t.Run("hashing twice salts differently", func(t *testing.T) {
		again, err := p.hash(ctx, "correct horse battery")
		require.NoError(t, err)
		require.NotEqual(t, hash, again)
	})
	t.Run("an unknown account never matches, not even the dummy's own password", func(t *testing.T) {
		ok, err := p.verify(ctx, "", "")
		require.NoError(t, err)
		require.False(t, ok)
		require.True(t, strings.HasPrefix(p.dummy, "$argon2id$v=19$m=19456,t=2,p=1$"), "the dummy costs what a real hash costs")
	})
	t.Run("a cancelled context stops waiting for a hashing slot", func(t *testing.T) {
		for i := 0; i < cap(p.slots); i++ {
			p.slots <- struct{}{}
		}
		defer func() {
			for i := 0; i < cap(p.slots); i++ {
				<-p.slots
			}
		}()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := p.hash(cctx, "whatever password")
		require.ErrorIs(t, err, context.Canceled)
	})
}
