package campaign

import "math/rand/v2"

// Paraphrases ask about Facts[i] in other words: each shares few or no
// words with its fact, so only an embedder that knows meaning (or a lucky
// word) finds it. Written before any retrieval change of issue #20 and not
// edited after seeing results.
var Paraphrases = []string{
	"Which girl at the forge hones weapons without charging?",
	"Under which peak is the great wyrm resting, according to the recluse?",
	"What debt does the officer have with the band of robbers?",
	"What secret phrase opens the treasury below the shrine?",
	"Where did I stash the rusty old key?",
	"Whose mom handed me the pendant with the black bird on it?",
	"Which water did the tavern owner tell us to avoid?",
	"Which crossing fell apart during the bad weather?",
	"What emblem is on the nobleman's signet?",
	"Where is the mage's home?",
	"Under which trees is the tribal leader's circlet hidden?",
	"How often do the traders' ships leave for the harbor town?",
	"Where did the kidnappers carry off my sibling?",
	"Which illness does the medicine from the physician treat?",
	"What is the price of the boat ride across?",
	"When and where do the fanatics hold their gatherings?",
	"How was the knight maimed in battle?",
	"Which secret route through the mountains does the chart mark?",
	"What gift did I pledge to the parentless child?",
	"Which food makes the noblewoman sick?",
	"What do the hired soldiers put on to identify their comrades?",
	"What name did the beacon tender give his hound?",
	"Which weapon can hurt the pale deer?",
	"What happens at the monastery when a brother passes away?",
}

// Correction is a fact said early (Old) and changed later (New); the
// question asks about it, and the newer statement should rank above the
// stale one.
type Correction struct {
	Old, New, Question string
}

// Corrections are the corrections set, written before any retrieval
// change of issue #20 and not edited after seeing results.
var Corrections = []Correction{
	{"The healer works beside the temple.", "The healer moved her shop down to the docks.", "Where is the healer's shop?"},
	{"The ferry leaves at dawn each day.", "From now on the ferry only leaves at dusk.", "When does the ferry leave?"},
	{"Captain Varro commands the city watch.", "Captain Varro was dismissed; Mirelle now commands the city watch.", "Who commands the city watch?"},
	{"The toll on the king's road is one copper.", "The toll on the king's road has been raised to five coppers.", "How much is the toll on the king's road?"},
	{"I keep the signet ring in my backpack.", "I move the signet ring from my backpack to a chain around my neck.", "Where do I keep the signet ring?"},
	{"The innkeeper's cat is named Whiskers.", "Whiskers died; the innkeeper's new cat is named Soot.", "What is the innkeeper's cat called?"},
	{"The baron's army camps by the northern mill.", "The baron's army has marched south and now camps at the old quarry.", "Where is the baron's army camped?"},
	{"The alchemist sells healing draughts for ten gold.", "The alchemist halved her prices: healing draughts now cost five gold.", "What do the alchemist's healing draughts cost?"},
	{"Our guide through the swamp is a trapper named Oswin.", "Oswin fled in the night, so a frog-catcher girl named Tansy guides us through the swamp now.", "Who guides us through the swamp?"},
	{"The gate to the old city opens with a brass token.", "The guards changed the lock: the gate to the old city now opens only with a spoken oath.", "How does the gate to the old city open?"},
	{"The mayor is an elderly man called Fenwick.", "After the election, the new mayor is a young woman called Dara.", "Who is the mayor?"},
	{"Our boat is moored at the east pier.", "We moved our boat from the east pier to the fishermen's cove.", "Where is our boat moored?"},
	{"The smuggler meets clients at the lantern shop.", "The smuggler no longer uses the lantern shop; he meets clients under the mill bridge.", "Where does the smuggler meet clients?"},
	{"My horse is a grey mare called Ash.", "I traded Ash for a black stallion named Thunder.", "What is my horse called?"},
	{"The library of the college is open to everyone.", "The college has closed its library to anyone without a scholar's badge.", "Who can use the college library?"},
	{"The queen's envoy stays at the Red Lantern inn.", "The queen's envoy left the Red Lantern and stays at the governor's palace now.", "Where is the queen's envoy staying?"},
}

// HeldOut reports whether item i of a set belongs to the held-out half
// (odd indexes), looked at once, at the end; the even half is for tuning.
func HeldOut(i int) bool { return i%2 == 1 }

// Corrected generates a session of turns like Session whose early turns
// (within plantWithin) state every correction's Old fact, by the Dungeon
// Master, and whose later turns (between turns/2 and turns-lateMargin)
// state its New fact. Message.Fact is the correction's index on Old
// statements, Message.Update on New ones.
func Corrected(seed uint64, turns, plantWithin, lateMargin int, cs []Correction) []Message {
	olds := make([]Fact, len(cs))
	for i, c := range cs {
		olds[i] = Fact{Statement: c.Old, Role: "dm", Question: c.Question}
	}
	out := Session(seed, turns, plantWithin, olds)
	r := rand.New(rand.NewPCG(seed^0x5bd1e995, seed))
	from, to := turns/2, turns-lateMargin
	for i, t := range r.Perm(to - from)[:len(cs)] {
		m := &out[2*(from+t)+1] // the turn's DM narration
		m.Content += " " + cs[i].New
		m.Update = i
	}
	return out
}
