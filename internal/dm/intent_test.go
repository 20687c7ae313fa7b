package dm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadActionFindsTheIntent(t *testing.T) {
	t.Parallel()
	cases := map[intent][]string{
		intentAttack: {
			"I attack the goblin!",
			"Fight them all",
			"I strike at the bandit with my mace",
			"I shoot an arrow at the wolf",
			"I punch him in the face",
		},
		intentSneak: {
			"I sneak past the guards",
			"I hide behind the barrels",
			"I quietly walk to the door", // sneaking outranks moving
			"I try to pick the lock",
			"I creep along the wall",
		},
		intentPersuade: {
			"I try to persuade the captain to let us through",
			"I talk to the innkeeper",
			"I ask the guard to open the gate", // asking outranks moving
			"Can I convince her?",
			"I threaten the merchant",
		},
		intentSearch: {
			"I search the room",
			"I look at the strange runes",
			"I examine the body",
			"I investigate the altar",
			"Listen at the door",
		},
		intentCast: {
			"I cast fireball at the orcs",
			"I cast a spell",
			"I use magic to light the way",
			"I pray to Pelor for guidance",
			"Magic missile!",
		},
		intentMove: {
			"I go to the tavern",
			"We travel north",
			"I walk into the forest",
			"I open the door",
			"I climb the cliff",
		},
		intentRest: {
			"We rest for the night",
			"I sleep by the fire",
			"I bandage my wounds",
			"Let's make camp", // "camp" rests
			"I need to heal",
		},
		intentRecall: {
			"What was the name of the blacksmith's daughter?",
			"Do you remember what the hermit told us?",
			"Who was the man in the red cloak?",
			"Remind me, where did we leave the horses?",
			"What did we fight last time?", // a question about the past outranks fighting
		},
		intentNone: {
			"I sing a song",
			"Hmm.",
			"",
			"I eat an apple",
		},
	}
	for want, texts := range cases {
		t.Run(string(want), func(t *testing.T) {
			for _, text := range texts {
				require.Equal(t, want, readAction(text).intent, "%q", text)
			}
		})
	}
}

func TestActionTargetNamesTheObject(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"I attack the goblin chieftain with my axe": "the goblin chieftain",
		"I sneak past the guards":                   "the guards",
		"I look at the strange runes on the wall":   "the strange runes",
		"I ask Varro about the debt":                "Varro",
		"I go to a tavern":                          "the tavern",
		"I attack!":                                 "",
		"I talk to him":                             "",
	} {
		require.Equal(t, want, readAction(text).target(), "%q", text)
	}
}
