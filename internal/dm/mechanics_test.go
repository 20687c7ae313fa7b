package dm

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	vdice "github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

func adventurer() rules.Sheet {
	return rules.Sheet{
		Abilities: rules.Abilities{Strength: 14, Dexterity: 16, Constitution: 12, Intelligence: 10, Wisdom: 12, Charisma: 8},
		HP:        rules.HP{Current: 4, Max: 12}, AC: 14, Gold: 3, Level: 1,
		Conditions: []string{},
		Inventory:  []rules.Item{{Name: "healing potion", Qty: 1}, {Name: "shortsword", Qty: 1}, {Name: "rope", Qty: 1}},
	}
}

func TestResolveIntent(t *testing.T) {
	t.Parallel()
	e := rules.New(rules.Default())

	t.Run("drinking the potion uses it and heals; a second drink is refused and narrated", func(t *testing.T) {
		r := vdice.NewRoller(vdice.Seed{1})
		m := ResolveIntent(e, adventurer(), "I drink my healing potion.", r)
		require.Len(t, m.Outcomes, 1)
		o := m.Outcomes[0]
		require.Nil(t, o.Refusal)
		require.Equal(t, rules.ActUseItem, o.Action.Kind)
		require.Zero(t, m.Sheet.Qty("healing potion"))
		require.Equal(t, min(4+o.Rolls[0].Total, 12), m.Sheet.HP.Current)
		text := NarrateMechanics(m)
		require.Contains(t, text, "You drink the healing potion and regain")

		again := ResolveIntent(e, m.Sheet, "I quaff another potion", r)
		require.Len(t, again.Outcomes, 1)
		require.Equal(t, rules.RefuseNotHeld, again.Outcomes[0].Refusal.Code)
		require.Equal(t, m.Sheet, again.Sheet)
		require.Equal(t, "You search your pack, but the potion is gone.", NarrateMechanics(again))
		require.NoError(t, vdice.Verify(vdice.Seed{1}, r.Rolls()))
	})

	t.Run("an attack rolls against AC with the held weapon and names the target", func(t *testing.T) {
		for seed := range byte(20) {
			r := vdice.NewRoller(vdice.Seed{seed})
			m := ResolveIntent(e, adventurer(), "I attack the goblin", r)
			require.Len(t, m.Outcomes, 1)
			o := m.Outcomes[0]
			require.Equal(t, "shortsword", o.Action.Weapon)
			require.Equal(t, "1d20+5", o.Rolls[0].Notation, "finesse: Dexterity +3 and proficiency +2")
			text := NarrateMechanics(m)
			require.Contains(t, text, "(Attack roll: ")
			require.Contains(t, text, "vs AC 13")
			if *o.Success {
				require.Contains(t, text, "You strike the goblin for")
			} else {
				require.Contains(t, text, "You miss the goblin.")
			}
			require.Empty(t, m.Changes())
		}
	})

	t.Run("a failed climb costs hit points and can knock the character out", func(t *testing.T) {
		failed := 0
		for seed := range byte(40) {
			s := adventurer()
			m := ResolveIntent(e, s, "I climb the crumbling cliff", vdice.NewRoller(vdice.Seed{seed}))
			require.Len(t, m.Outcomes, 1)
			o := m.Outcomes[0]
			require.Equal(t, rules.ActCheck, o.Action.Kind)
			require.Equal(t, "strength", o.Action.Ability)
			text := NarrateMechanics(m)
			require.Contains(t, text, "(Strength check: ")
			if !*o.Success {
				failed++
				require.Len(t, o.Rolls, 2)
				require.Less(t, m.Sheet.HP.Current, s.HP.Current)
				require.Contains(t, text, "You slip and fall")
				if m.Sheet.HP.Current == 0 {
					require.Contains(t, text, "You fall unconscious.")
					require.True(t, m.Sheet.Has("unconscious"))
				}
			} else {
				require.Equal(t, s.HP, m.Sheet.HP)
			}
		}
		require.Positive(t, failed, "some of 40 seeds fail a DC 12 check at +2")
	})

	t.Run("paying more gold than held is refused", func(t *testing.T) {
		m := ResolveIntent(e, adventurer(), "I pay the innkeeper 5 gold for a room", vdice.NewRoller(vdice.Seed{}))
		require.Equal(t, rules.RefuseNoGold, m.Outcomes[0].Refusal.Code)
		require.Contains(t, NarrateMechanics(m), "3 gold, not the 5 needed")
		m = ResolveIntent(e, adventurer(), "I pay 2 gold", vdice.NewRoller(vdice.Seed{}))
		require.Equal(t, 1, m.Sheet.Gold)
		require.Equal(t, "You hand over 2 gold and have 1 left.", NarrateMechanics(m))
	})

	t.Run("sleeping is a long rest", func(t *testing.T) {
		m := ResolveIntent(e, adventurer(), "I make camp and sleep", vdice.NewRoller(vdice.Seed{}))
		require.Equal(t, rules.ActLongRest, m.Outcomes[0].Action.Kind)
		require.Equal(t, 12, m.Sheet.HP.Current)
		require.True(t, strings.HasPrefix(NarrateMechanics(m), "You rest and regain 8 hit points."))
	})

	t.Run("a message without mechanics resolves nothing", func(t *testing.T) {
		m := ResolveIntent(e, adventurer(), "Hello there!", vdice.NewRoller(vdice.Seed{}))
		require.Empty(t, m.Outcomes)
		require.Empty(t, NarrateMechanics(m))
	})
}

func TestMechanicsForPrompt(t *testing.T) {
	t.Parallel()
	e := rules.New(rules.Default())
	m := ResolveIntent(e, adventurer(), "I pay 9 gold", vdice.NewRoller(vdice.Seed{}))
	require.Equal(t, "The rules engine has already resolved this turn's mechanics; narrate exactly this outcome, and do not roll again or change it: You count your coins: 3 gold, not the 9 needed.", m.ForPrompt())
	require.Empty(t, ResolveIntent(e, adventurer(), "Hello", vdice.NewRoller(vdice.Seed{})).ForPrompt())
}

// With the engine's mechanics in the prompt, the offline narrator tells
// the engine's rolls and none of its own; a plain-text model's prompt
// carries them as a note.
func TestPromptMechanicsReachTheNarrators(t *testing.T) {
	e := rules.New(rules.Default())
	for _, msg := range []string{"I sneak past the guard.", "I attack the goblin.", "I climb the cliff.", "I cast a spell at the door.", "Hello there."} {
		r := vdice.NewRoller(vdice.Seed{3})
		m := ResolveIntent(e, adventurer(), msg, r)
		p := Prompt{Player: msg, Seed: 7, Character: &Character{Name: "Aria", Class: "rogue", Level: 1}, Mechanics: &m}
		text := narrate(p)
		engine := NarrateMechanics(m)
		if engine != "" {
			require.Contains(t, text, engine, msg)
		}
		// Every parenthesised roll in the reply is one the engine drew.
		require.Equal(t, strings.Count(engine, "("), strings.Count(text, "("), "%s: %q", msg, text)
		if engine != "" {
			require.Contains(t, p.Messages()[0].Content, "The rules engine has already resolved", msg)
		}
	}
}
