package dm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckStatesTheRoll(t *testing.T) {
	t.Parallel()
	for want, ck := range map[string]check{
		"(Dexterity check: 14 + 3 = 17 vs DC 15 — success)":       {ability: Dexterity, roll: 14, bonus: 3, dc: 15},
		"(Strength check: 9 - 1 = 8 vs DC 10 — failure)":          {ability: Strength, roll: 9, bonus: -1, dc: 10},
		"(Wisdom check: 20 + 0 = 20 vs DC 25 — critical success)": {ability: Wisdom, roll: 20, dc: 25},
		"(Charisma check: 1 + 9 = 10 vs DC 5 — fumble)":           {ability: Charisma, roll: 1, bonus: 9, dc: 5},
		"(Strength attack: 12 + 5 = 17 vs AC 12 — hit)":           {ability: Strength, attack: true, roll: 12, bonus: 5, dc: 12},
		"(Dexterity attack: 11 + 0 = 11 vs AC 12 — miss)":         {ability: Dexterity, attack: true, roll: 11, dc: 12},
		"(Dexterity attack: 20 + 0 = 20 vs AC 30 — critical hit)": {ability: Dexterity, attack: true, roll: 20, dc: 30},
		"(Intelligence check: 19 + 5 = 24 vs DC 25 — failure)":    {ability: Intelligence, roll: 19, bonus: 5, dc: 25},
		"(Constitution check: 10 + 0 = 10 vs DC 10 — success)":    {ability: Constitution, roll: 10, dc: 10},
	} {
		require.Equal(t, want, ck.String())
	}
}

func TestRollCheckAddsModifierAndProficiency(t *testing.T) {
	t.Parallel()
	d := newDice(1, "x")
	ck := d.rollCheck(aria(), Dexterity, 15, false)
	require.Equal(t, 3+2, ck.bonus, "dexterity 17 and level 3")
	require.Zero(t, d.rollCheck(nil, Dexterity, 15, false).bonus, "no character rolls +0")
}

func TestDiceAreDeterministicPerSeedAndText(t *testing.T) {
	t.Parallel()
	roll := func(seed int64, text string) []int {
		d := newDice(seed, text)
		var out []int
		for range 20 {
			out = append(out, d.d(20))
		}
		return out
	}
	require.Equal(t, roll(42, "I attack"), roll(42, "I attack"))
	require.NotEqual(t, roll(42, "I attack"), roll(43, "I attack"))
	require.NotEqual(t, roll(42, "I attack"), roll(42, "I hide"))
}

func TestDifficultyReadsTheMessage(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]int{
		"I sneak past the guards":                13,
		"I sneak past the sleeping guard":        8,
		"I climb the wall":                       10,
		"I climb the sheer cliff":                15,
		"I persuade the suspicious captain":      18,
		"I try to persuade the king":             23,
		"I attack the ancient legendary dragon":  27,
		"I climb the easy slope":                 5,
		"I talk to the god of war, a demon king": 23,
	} {
		require.Equal(t, want, difficulty(readAction(text)), "%q", text)
	}
}
