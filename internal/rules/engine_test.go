package rules

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/dice"
)

var pack = Default()

func hero() Sheet {
	return Sheet{
		Abilities: Abilities{Strength: 16, Dexterity: 14, Constitution: 12, Intelligence: 10, Wisdom: 8, Charisma: 13},
		HP:        HP{Current: 7, Max: 12}, AC: 14, Gold: 10, XP: 250, Level: 1,
		Conditions: []string{},
		Inventory:  []Item{{"healing potion", 1}, {"longsword", 1}, {"rope", 2}},
	}
}

func roller(seed byte) *dice.Roller { return dice.NewRoller(dice.Seed{seed}) }

func TestResolve(t *testing.T) {
	t.Parallel()
	e := New(pack)
	type tc struct {
		name   string
		sheet  func(*Sheet)
		action Action
		check  func(t *testing.T, before Sheet, o Outcome)
	}
	ok := []tc{
		{"drinking a healing potion heals 2d4+2 and uses it up", nil, Action{Kind: ActUseItem, Item: "Potion of Healing"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Len(t, o.Rolls, 1)
			require.Equal(t, "2d4+2", o.Rolls[0].Notation)
			require.Equal(t, min(b.HP.Current+o.Rolls[0].Total, b.HP.Max), o.Sheet.HP.Current)
			require.Zero(t, o.Sheet.Qty("healing potion"))
			require.Contains(t, o.Changes, Change{Path: "inventory.healing potion", From: 1, To: 0, Reason: ActUseItem})
		}},
		{"a check adds the ability modifier and the proficiency bonus", nil, Action{Kind: ActCheck, Ability: "str", DC: 12, Proficient: true}, func(t *testing.T, b Sheet, o Outcome) {
			require.Len(t, o.Rolls, 1)
			require.Equal(t, 3+2, o.Rolls[0].Modifier)
			require.Equal(t, 12, *o.Rolls[0].DC)
			require.NotNil(t, o.Success)
			require.Empty(t, o.Changes)
		}},
		{"a check with advantage rolls 2d20kh1", nil, Action{Kind: ActCheck, Ability: "dexterity", Difficulty: "hard", Advantage: true}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, "2d20kh1+2", o.Rolls[0].Notation)
			require.Equal(t, 20, *o.Rolls[0].DC)
		}},
		{"advantage and disadvantage cancel out", nil, Action{Kind: ActSave, Ability: "wis", DC: 10, Advantage: true, Disadvantage: true}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, "1d20-1", o.Rolls[0].Notation)
		}},
		{"a failed dangerous climb costs hit points", nil, Action{Kind: ActCheck, Ability: "str", DC: 30, FailDamage: "1d6"}, func(t *testing.T, b Sheet, o Outcome) {
			if *o.Success {
				return // a natural 20
			}
			require.Len(t, o.Rolls, 2)
			require.Equal(t, max(b.HP.Current-o.Rolls[1].Total, 0), o.Sheet.HP.Current)
		}},
		{"an attack with a held longsword rolls 1d8+3 on a hit", nil, Action{Kind: ActAttack, Weapon: "sword", TargetAC: 2}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, "1d20+5", o.Rolls[0].Notation)
			if *o.Success {
				require.Len(t, o.Rolls, 2)
				require.Contains(t, []string{"1d8+3", "2d8+3"}, o.Rolls[1].Notation)
				require.Equal(t, o.Rolls[1].Total, o.Amount)
			}
			require.Empty(t, o.Changes, "an attack changes the target, not the sheet")
		}},
		{"damage to 0 makes the character unconscious", nil, Action{Kind: ActDamage, Dice: "100d6"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Zero(t, o.Sheet.HP.Current)
			require.True(t, o.Sheet.Has("unconscious"))
			require.Equal(t, b.HP.Current, o.Amount)
		}},
		{"healing an unconscious character wakes them", func(s *Sheet) { s.HP.Current = 0; s.Conditions = []string{"unconscious"} }, Action{Kind: ActHeal, Dice: "1d4"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Positive(t, o.Sheet.HP.Current)
			require.False(t, o.Sheet.Has("unconscious"))
		}},
		{"healing stops at the maximum", nil, Action{Kind: ActHeal, Dice: "100d10"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, b.HP.Max, o.Sheet.HP.Current)
			require.Equal(t, b.HP.Max-b.HP.Current, o.Amount)
		}},
		{"giving away one of two ropes leaves one", nil, Action{Kind: ActGiveItem, Item: "Rope"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, 1, o.Sheet.Qty("rope"))
		}},
		{"taking an unknown trinket adds it", nil, Action{Kind: ActTakeItem, Item: " goblin ear ", Qty: 2}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, 2, o.Sheet.Qty("goblin ear"))
			require.Equal(t, []Change{{Path: "inventory.goblin ear", From: 0, To: 2, Reason: ActTakeItem}}, o.Changes)
		}},
		{"taking a potion by alias stacks on the one held", nil, Action{Kind: ActTakeItem, Item: "potion"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, 2, o.Sheet.Qty("healing potion"))
		}},
		{"spending gold held", nil, Action{Kind: ActSpendGold, Amount: 10}, func(t *testing.T, b Sheet, o Outcome) {
			require.Zero(t, o.Sheet.Gold)
		}},
		{"gaining gold", nil, Action{Kind: ActGainGold, Amount: 5}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, 15, o.Sheet.Gold)
		}},
		{"50 xp past 300 levels up with more hit points", nil, Action{Kind: ActGainXP, Amount: 50}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, 2, o.Sheet.Level)
			require.Equal(t, 12+5+1, o.Sheet.HP.Max)
			require.Equal(t, 7+6, o.Sheet.HP.Current)
		}},
		{"a condition is added and removed", nil, Action{Kind: ActAddCondition, Condition: "Poisoned"}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, []string{"poisoned"}, o.Sheet.Conditions)
			o2 := New(pack).Resolve(o.Sheet, Action{Kind: ActRemoveCondition, Condition: "poisoned"}, roller(9))
			require.Nil(t, o2.Refusal)
			require.Empty(t, o2.Sheet.Conditions)
		}},
		{"a short rest heals 1d8+1", nil, Action{Kind: ActShortRest}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, "1d8+1", o.Rolls[0].Notation)
			require.Equal(t, min(b.HP.Current+o.Rolls[0].Total, b.HP.Max), o.Sheet.HP.Current)
		}},
		{"a long rest heals fully and ends unconsciousness", func(s *Sheet) { s.HP.Current = 0; s.Conditions = []string{"unconscious", "poisoned"} }, Action{Kind: ActLongRest}, func(t *testing.T, b Sheet, o Outcome) {
			require.Equal(t, b.HP.Max, o.Sheet.HP.Current)
			require.Empty(t, o.Sheet.Conditions)
			require.Empty(t, o.Rolls)
		}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			s := hero()
			if c.sheet != nil {
				c.sheet(&s)
			}
			before := s.Clone()
			r := roller(7)
			o := e.Resolve(s, c.action, r)
			require.Nil(t, o.Refusal)
			require.Equal(t, before, s, "the input sheet is not modified")
			require.NoError(t, pack.Validate(o.Sheet))
			require.Equal(t, r.Rolls(), o.Rolls)
			c.check(t, before, o)
			// The changes take the old sheet to the new one and back.
			applied, err := Apply(before, o.Changes)
			require.NoError(t, err)
			require.Equal(t, o.Sheet, applied)
			reverted, err := Revert(o.Sheet, o.Changes)
			require.NoError(t, err)
			require.ElementsMatch(t, before.Inventory, reverted.Inventory)
			require.Equal(t, before.HP, reverted.HP)
			require.Equal(t, before.Gold, reverted.Gold)
			require.ElementsMatch(t, before.Conditions, reverted.Conditions)
		})
	}

	refused := []struct {
		name   string
		sheet  func(*Sheet)
		action Action
		code   string
		says   string
	}{
		{"drinking a potion not held", func(s *Sheet) { s.Inventory = nil }, Action{Kind: ActUseItem, Item: "healing potion"}, RefuseNotHeld, "you search your pack, but the healing potion is gone"},
		{"using an item the rules do not know", func(s *Sheet) { s.Inventory = []Item{{"odd stone", 1}} }, Action{Kind: ActUseItem, Item: "odd stone"}, RefuseUnknownItem, "odd stone"},
		{"spending more gold than held", nil, Action{Kind: ActSpendGold, Amount: 11}, RefuseNoGold, "10 gold, not the 11 needed"},
		{"giving more than held", nil, Action{Kind: ActGiveItem, Item: "rope", Qty: 3}, RefuseNotHeld, "only 2 rope"},
		{"giving what is not held", nil, Action{Kind: ActGiveItem, Item: "lantern"}, RefuseNotHeld, "lantern is gone"},
		{"attacking with a weapon not held", nil, Action{Kind: ActAttack, Weapon: "dagger", TargetAC: 10}, RefuseNotHeld, "dagger"},
		{"attacking while unconscious", func(s *Sheet) { s.HP.Current = 0; s.Conditions = []string{"unconscious"} }, Action{Kind: ActAttack, TargetAC: 10}, RefuseIncapacitate, "unconscious"},
		{"an unknown condition", nil, Action{Kind: ActAddCondition, Condition: "sleepy"}, RefuseUnknownCond, "sleepy"},
		{"removing a condition not had", nil, Action{Kind: ActRemoveCondition, Condition: "prone"}, RefuseNotHeld, "not prone"},
		{"an unknown ability", nil, Action{Kind: ActCheck, Ability: "luck", DC: 10}, RefuseInvalid, "ability"},
		{"a DC out of range", nil, Action{Kind: ActCheck, Ability: "str", DC: 31}, RefuseInvalid, "dc"},
		{"a bad notation", nil, Action{Kind: ActDamage, Dice: "1d7"}, RefuseInvalid, "d7 does not exist"},
		{"too many dice", nil, Action{Kind: ActHeal, Dice: "101d6"}, RefuseInvalid, "at most 100"},
		{"a negative amount", nil, Action{Kind: ActGainGold, Amount: -5}, RefuseInvalid, "amount"},
		{"an unknown action", nil, Action{Kind: "fly"}, RefuseInvalid, "unknown action"},
		{"an invisible item name", nil, Action{Kind: ActTakeItem, Item: "\u200b\u200b"}, RefuseInvalid, "visible"},
		{"a bidi override in a name", nil, Action{Kind: ActTakeItem, Item: "gold\u202e"}, RefuseInvalid, "bidirectional"},
		{"more than the quantity limit", nil, Action{Kind: ActTakeItem, Item: "rope", Qty: MaxQty}, RefuseLimit, "more than"},
	}
	for _, c := range refused {
		t.Run("refused: "+c.name, func(t *testing.T) {
			s := hero()
			if c.sheet != nil {
				c.sheet(&s)
			}
			r := roller(1)
			o := e.Resolve(s, c.action, r)
			require.NotNil(t, o.Refusal)
			require.Equal(t, c.code, o.Refusal.Code)
			require.Contains(t, o.Refusal.Reason, c.says)
			require.Empty(t, o.Changes)
			require.Empty(t, o.Rolls)
			require.Zero(t, r.Dice(), "a refused action rolls nothing")
			require.Equal(t, s, o.Sheet)
		})
	}
}

func TestApplyRefusesStaleChanges(t *testing.T) {
	t.Parallel()
	s := hero()
	_, err := Apply(s, []Change{{Path: "gold", From: 11, To: 0}})
	require.ErrorIs(t, err, ErrStale)
	_, err = Apply(s, []Change{{Path: "inventory.rope", From: 1, To: 0}})
	require.ErrorIs(t, err, ErrStale)
	_, err = Apply(s, []Change{{Path: "nose", From: 1, To: 0}})
	require.ErrorContains(t, err, "unknown path")
}

// TestRandomActionsKeepInvariants: random sequences of random (often
// invalid) actions never produce a sheet that fails Validate, and the
// changes of each step replay and revert exactly.
func TestRandomActionsKeepInvariants(t *testing.T) {
	t.Parallel()
	e := New(pack)
	rng := rand.New(rand.NewPCG(1, 2))
	items := []string{"healing potion", "potion", "rope", "dagger", "longsword", "goblin ear", "antitoxin", "lantern"}
	conds := []string{"poisoned", "unconscious", "prone", "sleepy"}
	notations := []string{"1d4", "2d6+3", "1d20-2", "10d10", "bad"}
	for seq := range 300 {
		s := hero()
		r := roller(byte(seq))
		for range 40 {
			a := Action{
				Kind: ActionKinds[rng.IntN(len(ActionKinds))], Ability: AbilityNames[rng.IntN(6)][:3],
				DC: rng.IntN(32), TargetAC: rng.IntN(32), Advantage: rng.IntN(2) == 0, Proficient: rng.IntN(2) == 0,
				Dice: notations[rng.IntN(len(notations))], Item: items[rng.IntN(len(items))], Weapon: items[rng.IntN(len(items))],
				Qty: rng.IntN(5) - 1, Amount: rng.IntN(400) - 50, Condition: conds[rng.IntN(len(conds))],
			}
			if rng.IntN(3) == 0 {
				a.FailDamage = "1d6"
			}
			o := e.Resolve(s, a, r)
			require.NoError(t, pack.Validate(o.Sheet), "after %+v", a)
			next, err := Apply(s, o.Changes)
			require.NoError(t, err)
			require.Equal(t, o.Sheet, next)
			back, err := Revert(next, o.Changes)
			require.NoError(t, err)
			require.Equal(t, s.HP, back.HP)
			require.Equal(t, s.Gold, back.Gold)
			require.ElementsMatch(t, s.Inventory, back.Inventory)
			if o.Sheet.HP.Current == 0 {
				require.True(t, o.Sheet.Has("unconscious"))
			}
			s = o.Sheet
		}
		require.NoError(t, dice.Verify(dice.Seed{byte(seq)}, r.Rolls()), "every roll verifies from the seed")
	}
}

func BenchmarkResolve(b *testing.B) {
	e := New(pack)
	for _, a := range []Action{
		{Kind: ActCheck, Ability: "dex", DC: 15, Proficient: true},
		{Kind: ActSave, Ability: "con", DC: 12, Advantage: true},
		{Kind: ActAttack, Weapon: "longsword", TargetAC: 13},
		{Kind: ActDamage, Dice: "2d6+2"},
		{Kind: ActHeal, Dice: "1d8"},
		{Kind: ActUseItem, Item: "healing potion"},
		{Kind: ActGiveItem, Item: "rope"},
		{Kind: ActTakeItem, Item: "torch"},
		{Kind: ActGainGold, Amount: 5},
		{Kind: ActSpendGold, Amount: 5},
		{Kind: ActGainXP, Amount: 100},
		{Kind: ActAddCondition, Condition: "prone"},
		{Kind: ActRemoveCondition, Condition: "prone"},
		{Kind: ActShortRest},
		{Kind: ActLongRest},
	} {
		s := hero()
		s.Conditions = []string{"prone"}
		b.Run(a.Kind, func(b *testing.B) {
			r := roller(3)
			b.ReportAllocs()
			for b.Loop() {
				if o := e.Resolve(s, a, r); o.Refusal != nil {
					b.Fatal(o.Refusal)
				}
			}
		})
	}
}
