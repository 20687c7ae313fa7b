package rules

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRestoreAndReapply(t *testing.T) {
	before := Sheet{HP: HP{Current: 4, Max: 30}, Gold: 3, Inventory: []Item{{"healing potion", 1}, {"rope", 1}}}
	changes := []Change{
		{Path: "inventory.healing potion", From: 1, To: 0},
		{Path: "hp.current", From: 4, To: 11},
		{Path: "conditions.poisoned", From: 0, To: 1},
	}
	after, err := Apply(before, changes)
	require.NoError(t, err)

	t.Run("restore undoes the changes, last first", func(t *testing.T) {
		got := Restore(after, changes)
		require.Equal(t, before.HP, got.HP)
		require.Equal(t, 1, got.Qty("healing potion"))
		require.False(t, got.Has("poisoned"))
		require.Equal(t, after.Qty("healing potion"), 0, "the input is not changed")
	})
	t.Run("restore wins over an edit made since, where Revert refuses", func(t *testing.T) {
		edited := after.Clone()
		edited.HP.Current = 20
		_, err := Revert(edited, changes)
		require.ErrorIs(t, err, ErrStale)
		require.Equal(t, 4, Restore(edited, changes).HP.Current)
	})
	t.Run("reapply brings the outcome back", func(t *testing.T) {
		got := Reapply(before, changes)
		require.Equal(t, after.HP, got.HP)
		require.Zero(t, got.Qty("healing potion"))
		require.True(t, got.Has("poisoned"))
	})
	t.Run("unknown paths are skipped", func(t *testing.T) {
		require.Equal(t, before.HP, Restore(before, []Change{{Path: "luck", From: 1, To: 2}}).HP)
	})
}
