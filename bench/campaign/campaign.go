// Package campaign generates deterministic scripted game sessions for the
// memory benchmarks: ordinary play (player actions and Dungeon Master
// narration drawn from shared vocabulary, so every message looks like the
// others) with facts planted early and questions about them asked much
// later. The same seed always gives the same campaign.
package campaign

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Fact is something said early that a question asks about later.
type Fact struct {
	Statement string // said in the session, by Role
	Role      string // "player" or "dm"
	Question  string // asked much later; never contains the answer
}

// Facts are the planted facts. Each question is phrased the way a player
// would ask, not the way the fact was said, and leaves out the answer.
var Facts = []Fact{
	{"The blacksmith's daughter is named Ysolde; she sharpens your blade for free.", "dm", "What was the name of the blacksmith's daughter again?"},
	{"The old hermit whispers that the dragon sleeps beneath Mount Korran.", "dm", "Where did the hermit say the dragon sleeps?"},
	{"Captain Varro owes the thieves' guild three hundred gold crowns.", "dm", "How much does the captain owe to the guild?"},
	{"The password to the vault under the temple is 'silver moon'.", "dm", "What is the vault password?"},
	{"I hide the rusted iron key inside my left boot.", "player", "Where did I put the iron key?"},
	{"Ysolde's mother gave you an amulet carved with a raven.", "dm", "Who gave me the raven amulet?"},
	{"Bram the innkeeper warns you never to drink from the black well.", "dm", "What did the innkeeper warn us about?"},
	{"The bridge over the Silverrun collapsed in the spring storm.", "dm", "What happened to the bridge over the river?"},
	{"Lord Aldric's seal shows a golden stag on a green field.", "dm", "What does Lord Aldric's seal look like?"},
	{"The wizard Melchior lives in a crooked tower by the salt marsh.", "dm", "Where does the wizard live?"},
	{"We buried the goblin chieftain's crown under the twin oaks.", "player", "Where did we bury the crown?"},
	{"Spice merchants sail to Port Selwyn every tenth day.", "dm", "When do the merchants sail to Port Selwyn?"},
	{"My sister Liora was taken by slavers to the mines of Durn.", "player", "Where was my sister taken?"},
	{"The healer's potion cures river fever but tastes of copper.", "dm", "What does the healer's potion cure?"},
	{"The ferryman charges two silver pieces per crossing.", "dm", "How much does the ferryman charge?"},
	{"The cult meets at midnight in the cellar of the tannery.", "dm", "Where does the cult gather?"},
	{"Sir Edric lost his right hand fighting the troll at Harrow Ford.", "dm", "How did Sir Edric lose his hand?"},
	{"The map shows a hidden pass east of the frozen lake.", "dm", "Where is the hidden pass on the map?"},
	{"I promised the orphan Pip a wooden sword if we return alive.", "player", "What did I promise the orphan?"},
	{"The duchess is secretly allergic to honey.", "dm", "What is the duchess allergic to?"},
	{"The mercenaries wear red scarves so they know each other in battle.", "dm", "How do the mercenaries recognise each other?"},
	{"The lighthouse keeper's dog is called Biscuit.", "dm", "What is the lighthouse keeper's dog called?"},
	{"A silver arrow is the only thing that can wound the white stag.", "dm", "What can wound the white stag?"},
	{"The abbey bells ring thirteen times when a monk dies.", "dm", "How many times do the abbey bells ring when a monk dies?"},
}

// Vocabulary shared by ordinary play and the facts, so that a question's
// words also appear in many messages that do not answer it.
var (
	people  = []string{"the blacksmith", "the innkeeper", "the captain", "the hermit", "the wizard", "the healer", "the ferryman", "the duchess", "the mercenaries", "the lighthouse keeper", "the orphan", "the monk", "Sir Edric", "Lord Aldric", "the merchants", "a guard", "the mayor's daughter", "the old woman", "a goblin", "the thieves"}
	places  = []string{"the market", "the river", "the bridge", "the tower", "the vault", "the temple", "the tannery", "the abbey", "the mines", "the marsh", "the inn", "the well", "the ford", "the lake", "the pass", "the docks", "the forest", "the mountain road", "the cellar", "the lighthouse"}
	things  = []string{"a sword", "a map", "a key", "an amulet", "a potion", "a crown", "some gold", "a silver coin", "a lantern", "a rope", "a scroll", "a shield", "an arrow", "a bell", "a scarf", "a loaf of bread", "a seal", "a letter", "a dagger", "a torch"}
	verbs   = []string{"ask", "follow", "greet", "watch", "question", "thank", "warn", "help", "avoid", "bargain with"}
	actions = []string{"I walk to %[2]s and look around.", "I %[4]s %[1]s.", "I search %[2]s for %[3]s.", "I show %[3]s to %[1]s.",
		"We travel to %[2]s before nightfall.", "I ask %[1]s what they know about %[2]s.", "I buy %[3]s at %[2]s.",
		"I hide %[3]s and wait near %[2]s.", "I tell %[1]s about %[3]s we found.", "Can we rest near %[2]s tonight?"}
	narrations = []string{
		"%[1]s eyes you warily at %[2]s, then shrugs and turns back to work.",
		"At %[2]s the crowd is thick; %[1]s haggles loudly over %[3]s.",
		"Rain drums on the roofs of %[2]s. %[1]s mutters about the weather and the price of %[3]s.",
		"You find %[3]s half buried in the mud near %[2]s, worthless but curious.",
		"%[1]s laughs and says the story of %[2]s is older than anyone can remember.",
		"Nothing stirs at %[2]s. Somewhere a dog barks, and %[1]s hurries past with %[3]s.",
		"%[1]s names a price for %[3]s that is far too high, and you walk on toward %[2]s.",
		"The road to %[2]s is quiet. You pass %[1]s carrying %[3]s.",
		"A cold wind blows through %[2]s. %[1]s asks if you have seen the dragon.",
		"%[1]s tells you the gold of %[2]s was spent long ago. What do you do next?"}
)

// Message is one line of a generated session.
type Message struct {
	Role    string
	Content string
	Fact    int // index into Facts when this message states a fact, else -1
	Update  int // index into the corrections when it states a correction's New fact, else -1
}

// Session generates a session of turns player/DM pairs. Facts are planted
// within the first plantWithin turns (in shuffled order); every other
// message is ordinary play. Questions are not part of the session: the
// benchmark asks them after it.
func Session(seed uint64, turns, plantWithin int, facts []Fact) []Message {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	slots := map[int]int{}
	for i, t := range r.Perm(plantWithin)[:len(facts)] {
		slots[t] = i
	}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	var out []Message
	for turn := 0; turn < turns; turn++ {
		action := fmt.Sprintf(pick(actions), pick(people), pick(places), pick(things), pick(verbs))
		narration := fmt.Sprintf(pick(narrations), capitalize(pick(people)), pick(places), pick(things))
		if f, ok := slots[turn]; ok {
			if facts[f].Role == "player" {
				action = facts[f].Statement
				out = append(out, Message{"player", action, f, -1}, Message{"dm", narration, -1, -1})
			} else {
				out = append(out, Message{"player", action, -1, -1}, Message{"dm", narration + " " + facts[f].Statement, f, -1})
			}
			continue
		}
		out = append(out, Message{"player", action, -1, -1}, Message{"dm", narration, -1, -1})
	}
	return out
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
