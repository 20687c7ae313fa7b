package game_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/devstack/testkit"
	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/game"
	"github.com/codeofconquest/brightdawn/internal/hotcache"
)

// Every write of a session's lore (create, update, delete) is seen by the
// next turn's read of it once acknowledged, though that read is served
// from the hot cache between writes.
func TestEveryLoreWriteInvalidatesTheHotCache(t *testing.T) {
	b := newBundle(t)
	rdb := testkit.Redis(t)
	b.store.WithHotCache(hotcache.New(rdb, 0))
	ctx := context.Background()
	owner := uuid.New()
	s, err := b.svc.CreateSession(ctx, owner, game.SessionInput{Title: "Hot lore"})
	require.NoError(t, err)

	titles := func() []string {
		t.Helper()
		entries, err := b.store.SessionLore(ctx, s.ID)
		require.NoError(t, err)
		out := []string{}
		for _, e := range entries {
			out = append(out, e.Title)
		}
		return out
	}
	cached := func() bool {
		t.Helper()
		_, _, hit, err := hotcache.New(rdb, 0).Get(ctx, s.ID, "lore")
		require.NoError(t, err)
		return hit
	}

	require.Empty(t, titles())
	require.True(t, cached(), "a read stores what it read")

	e, _, err := b.svc.CreateLore(ctx, owner, s.ID, game.LoreInput{Title: "Harbor", Keys: []string{"harbor"}, Content: "Fog and gulls."})
	require.NoError(t, err)
	require.False(t, cached(), "create invalidates")
	require.Equal(t, []string{"Harbor"}, titles())
	require.True(t, cached())

	title := "Old Harbor"
	_, _, err = b.svc.UpdateLore(ctx, owner, uuid.MustParse(e.ID), game.LorePatch{Title: &title})
	require.NoError(t, err)
	require.False(t, cached(), "update invalidates")
	require.Equal(t, []string{"Old Harbor"}, titles())

	off := false
	_, _, err = b.svc.UpdateLore(ctx, owner, uuid.MustParse(e.ID), game.LorePatch{Enabled: &off})
	require.NoError(t, err)
	require.Empty(t, titles(), "a disabled entry leaves the turn's lore")
	on := true
	_, _, err = b.svc.UpdateLore(ctx, owner, uuid.MustParse(e.ID), game.LorePatch{Enabled: &on})
	require.NoError(t, err)
	require.Equal(t, []string{"Old Harbor"}, titles())

	require.NoError(t, b.svc.DeleteLore(ctx, owner, uuid.MustParse(e.ID)))
	require.False(t, cached(), "delete invalidates")
	require.Empty(t, titles())

	// A refused write (a stranger's) changes nothing and the cache still answers.
	require.True(t, cached())
	_, _, err = b.svc.CreateLore(ctx, uuid.New(), s.ID, game.LoreInput{Title: "Intruder", Keys: []string{"x"}, Content: "No."})
	require.Error(t, err)
	require.Empty(t, titles())
}

// Every change of a session's members (join, removal, leaving, the
// session's deletion) is seen by the next access check once acknowledged,
// though the checks are served from the hot cache between changes.
func TestEveryMembershipChangeInvalidatesTheHotCache(t *testing.T) {
	b := newBundle(t)
	rdb := testkit.Redis(t)
	b.store.WithHotCache(hotcache.New(rdb, 0))
	ctx := context.Background()
	owner, guest := uuid.New(), uuid.New()
	s, err := b.svc.CreateSession(ctx, owner, game.SessionInput{Title: "Hot members"})
	require.NoError(t, err)
	c, err := b.svc.CreateCharacter(ctx, guest, game.CharacterInput{Name: "Wren", Class: "bard"})
	require.NoError(t, err)

	cached := func() bool {
		t.Helper()
		_, _, hit, err := hotcache.New(rdb, 0).Get(ctx, s.ID, "members")
		require.NoError(t, err)
		return hit
	}
	member := func(p uuid.UUID) bool {
		t.Helper()
		err := b.svc.SessionAccess(ctx, p, s.ID)
		if err != nil {
			require.True(t, apperr.Is(err, apperr.NotFound), "a non-member gets not_found: %v", err)
		}
		return err == nil
	}

	require.True(t, member(owner))
	require.True(t, cached(), "a check stores the members it read")
	require.False(t, member(guest), "served from the cache")

	inv, err := b.svc.CreateInvite(ctx, owner, s.ID, game.InviteInput{})
	require.NoError(t, err)
	join := func() {
		t.Helper()
		_, _, err := b.svc.JoinSession(ctx, guest, inv.Code, game.JoinInput{CharacterID: &c.ID})
		require.NoError(t, err)
		require.False(t, cached(), "joining invalidates")
		require.True(t, member(guest))
	}
	join()

	require.NoError(t, b.svc.RemoveMember(ctx, owner, s.ID, guest))
	require.False(t, cached(), "a removal invalidates")
	require.False(t, member(guest))
	require.True(t, member(owner))

	join()
	require.NoError(t, b.svc.RemoveMember(ctx, guest, s.ID, guest))
	require.False(t, cached(), "leaving invalidates")
	require.False(t, member(guest))

	require.True(t, member(owner))
	require.NoError(t, b.svc.DeleteSession(ctx, owner, s.ID))
	require.False(t, cached(), "the session's deletion invalidates")
	require.False(t, member(owner))
}

// A session's mode, which every posted message asks, is served from the
// hot cache between writes, and a PATCH of it is honoured by the very next
// message: rounds mode gathers it into a round, free mode makes it a turn.
// Without the cache (HOT_CACHE=false) the same holds from the database.
func TestEverySessionSettingsWriteInvalidatesTheHotCache(t *testing.T) {
	for _, withCache := range []bool{true, false} {
		t.Run(map[bool]string{true: "cached", false: "no cache"}[withCache], func(t *testing.T) {
			b := newBundle(t)
			rdb := testkit.Redis(t)
			if withCache {
				b.store.WithHotCache(hotcache.New(rdb, 0))
			}
			ctx := context.Background()
			owner := uuid.New()
			s, err := b.svc.CreateSession(ctx, owner, game.SessionInput{Title: "Hot settings"})
			require.NoError(t, err)
			cached := func() bool {
				t.Helper()
				_, _, hit, err := hotcache.New(rdb, 0).Get(ctx, s.ID, "session")
				require.NoError(t, err)
				return hit
			}
			post := func(content string) game.Posted {
				t.Helper()
				p, err := b.svc.PostPartyMessage(ctx, owner, s.ID, content, "")
				require.NoError(t, err)
				return p
			}
			setMode := func(mode string) {
				t.Helper()
				_, err := b.svc.UpdateSession(ctx, owner, s.ID, game.SessionPatch{Mode: &mode})
				require.NoError(t, err)
				require.False(t, cached(), "a PATCH leaves nothing older cached")
			}

			p := post("I open the door.")
			require.Nil(t, p.Round, "free mode: a turn, no round")
			require.NotNil(t, p.Turn)
			require.Equal(t, withCache, cached(), "a post stores the settings it read")

			setMode(game.ModeRounds)
			p = post("I draw my sword.")
			require.NotNil(t, p.Round, "rounds mode at once: an action of a round (the only member's: it closes it)")
			require.Equal(t, withCache, cached())

			setMode(game.ModeFree)
			p = post("I sheathe it again.")
			require.Nil(t, p.Round, "free mode at once")
			require.NotNil(t, p.Turn)

			_, err = b.svc.PostPartyMessage(ctx, uuid.New(), s.ID, "Let me in.", "")
			require.True(t, apperr.Is(err, apperr.NotFound), "a stranger gets not_found: %v", err)

			require.NoError(t, b.svc.DeleteSession(ctx, owner, s.ID))
			require.False(t, cached(), "the session's deletion invalidates")
			_, err = b.svc.PostPartyMessage(ctx, owner, s.ID, "Hello?", "")
			require.True(t, apperr.Is(err, apperr.NotFound), "a deleted session is gone at once: %v", err)
		})
	}
}

// failingInvalidate is a hot cache whose invalidations fail (Redis went
// away after the database committed).
type failingInvalidate struct{ *hotcache.Cache }

func (failingInvalidate) Invalidate(context.Context, uuid.UUID, string) error {
	return errors.New("redis: connection refused")
}

// A write whose invalidation fails is not acknowledged as done: the player
// gets an error (and may retry), never a success the next read could
// contradict. What the database committed stays (the writes are
// idempotent to retry: a PATCH sets the same values again).
func TestAFailedInvalidationIsNotAcknowledged(t *testing.T) {
	b := newBundle(t)
	b.store.WithHotCache(failingInvalidate{hotcache.New(testkit.Redis(t), 0)})
	ctx := context.Background()
	owner := uuid.New()
	s, err := b.svc.CreateSession(ctx, owner, game.SessionInput{Title: "Flaky Redis"})
	require.NoError(t, err)

	mode := game.ModeRounds
	_, err = b.svc.UpdateSession(ctx, owner, s.ID, game.SessionPatch{Mode: &mode})
	require.Error(t, err, "the PATCH is not acknowledged")
	require.True(t, apperr.Is(err, apperr.Internal), "an internal error (a 500 whose body names no internals): %v", err)

	_, _, err = b.svc.CreateLore(ctx, owner, s.ID, game.LoreInput{Title: "Harbor", Keys: []string{"harbor"}, Content: "Fog."})
	require.Error(t, err, "a lore write is not acknowledged either")
}
