package dm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSheetModifier(t *testing.T) {
	t.Parallel()
	s := Sheet{Abilities: map[string]int{}}
	for score, want := range map[int]int{1: -5, 3: -4, 7: -2, 8: -1, 9: -1, 10: 0, 11: 0, 12: 1, 15: 2, 18: 4, 20: 5, 30: 10} {
		s.Abilities[Strength] = score
		require.Equal(t, want, s.Modifier(Strength), "score %d", score)
	}
	t.Run("a missing ability counts as 10", func(t *testing.T) {
		require.Zero(t, s.Modifier(Wisdom))
		require.Zero(t, Sheet{}.Modifier(Charisma))
	})
}

func TestProficiencyBonus(t *testing.T) {
	t.Parallel()
	for level, want := range map[int]int{-1: 2, 0: 2, 1: 2, 4: 2, 5: 3, 8: 3, 9: 4, 13: 5, 17: 6, 20: 6} {
		require.Equal(t, want, ProficiencyBonus(level), "level %d", level)
	}
}

func TestAbilityNamesAreTheSixOfTheSheet(t *testing.T) {
	t.Parallel()
	require.Equal(t, [6]string{"strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"}, AbilityNames)
}

func TestCharacterDescribe(t *testing.T) {
	t.Parallel()
	require.Equal(t,
		"Aria, a level 3 Rogue. Abilities: strength 10 (+0), dexterity 17 (+3), constitution 12 (+1), "+
			"intelligence 13 (+1), wisdom 11 (+0), charisma 14 (+2). HP 4/21. "+
			"Inventory: Shortsword, Thieves' Tools, Hooded cloak, Rations.",
		aria().Describe())
	require.Equal(t, "Nobody, a level 1 adventurer.", (&Character{Name: "Nobody"}).Describe())
	require.Empty(t, (*Character)(nil).Describe())
}
