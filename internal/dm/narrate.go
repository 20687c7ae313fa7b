package dm

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// narrate composes the offline Dungeon Master's whole reply. Every choice
// comes from the dice, so the same prompt and seed give the same text.
//
// A reply reads: what the character attempts, the roll, what happens, a
// remembered moment when memory was retrieved, and a question back to the
// player. Its words are separated by single spaces, so it can be streamed
// word by word and reassembled exactly.
func narrate(p Prompt) string {
	n := &narration{
		p:    p,
		act:  readAction(p.Player),
		dice: newDice(p.Seed, p.Player),
		vars: map[string]string{},
	}
	n.setPeople()
	if p.Mechanics != nil && n.act.intent != intentRecall {
		n.engine(*p.Mechanics)
	} else {
		n.story()
	}
	if n.act.intent != intentRecall && len(p.Memory) > 0 {
		if q := excerpt(p.Memory[0].Content, p.Player, maxQuoteWords); q != "" {
			n.vars["{quote}"] = q
			n.say(n.dice.pick(memoryLines))
		}
	}
	n.say(n.dice.pick(closings))
	return strings.Join(strings.Fields(strings.Join(n.parts, " ")), " ")
}

// engine narrates what the rules engine resolved (ResolveIntent): the
// action's opening line, then the engine's outcome in its own words, rolls
// and refusals included. The narrator rolls no dice of its own.
func (n *narration) engine(m Mechanics) {
	switch t, ok := templates[n.act.intent]; {
	case n.act.intent == intentAttack:
		n.say(n.dice.pick(attackOpenings))
	case ok:
		n.say(n.dice.pick(t.opening))
	default:
		n.say(n.dice.pick(noneOpenings))
	}
	if text := NarrateMechanics(m); text != "" {
		n.parts = append(n.parts, text) // verbatim: item names are not placeholders
	} else if n.act.intent == intentNone {
		n.say(n.dice.pick(noneBodies))
	}
}

// story is the narration without the rules engine (no turn seed): the
// narrator's own dice.
func (n *narration) story() {
	switch n.act.intent {
	case intentNone:
		n.say(n.dice.pick(noneOpenings))
		n.wounds()
		n.say(n.dice.pick(noneBodies))
	case intentRecall:
		n.recall()
	case intentAttack:
		n.attack()
	case intentRest:
		n.rest()
	default:
		n.attempt()
	}
}

// maxQuoteWords bounds a remembered quote, so memory flavours the reply
// without replaying whole earlier turns.
const maxQuoteWords = 25

type narration struct {
	p     Prompt
	act   action
	dice  dice
	vars  map[string]string // template placeholders and their values
	parts []string
}

// say appends a template with its placeholders filled in. One Replacer
// pass (not a ReplaceAll per placeholder in map order) keeps the result
// deterministic when a value, such as a remembered quote, itself contains
// something that looks like a placeholder.
func (n *narration) say(tmpl string) {
	keys := slices.Sorted(maps.Keys(n.vars))
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, n.vars[k])
	}
	n.parts = append(n.parts, strings.NewReplacer(pairs...).Replace(tmpl))
}

// setPeople fills in who acts and on whom. With a character the narrator
// addresses them by name; without one it says "You".
func (n *narration) setPeople() {
	c := n.p.Character
	n.vars["{You}"], n.vars["{, name}"], n.vars["{class}"] = "You", "", "adventurer"
	if c != nil {
		if name := strings.TrimSpace(c.Name); name != "" {
			n.vars["{You}"], n.vars["{, name}"] = name+", you", ", "+name
		}
		n.vars["{class}"] = strings.ToLower(orDefault(c.Class, "adventurer"))
	}
	t := n.act.target()
	if t == "" {
		t = targetFallback[n.act.intent]
	}
	n.vars["{target}"], n.vars["{Target}"] = t, capitalize(t)
}

// targetFallback names the object of an action when the message names none.
var targetFallback = map[intent]string{
	intentNone:     "what lies ahead",
	intentAttack:   "your foe",
	intentSneak:    "your goal",
	intentPersuade: "your listener",
	intentSearch:   "your surroundings",
	intentCast:     "your target",
	intentMove:     "your destination",
	intentRest:     "your camp",
	intentRecall:   "the past",
}

// attempt narrates a check for sneak, persuade, search, cast and move.
func (n *narration) attempt() {
	t := templates[n.act.intent]
	n.say(n.dice.pick(t.opening))
	n.item()
	n.wounds()
	ck := n.dice.rollCheck(n.p.Character, n.ability(), difficulty(n.act), false)
	n.say(ck.String())
	switch ck.outcome() {
	case critical:
		n.say(n.dice.pick(t.success))
		n.say(n.dice.pick(criticalLines))
	case success:
		n.say(n.dice.pick(t.success))
	case failure:
		n.say(n.dice.pick(t.failure))
	case fumble:
		n.say(n.dice.pick(t.failure))
		n.say(n.dice.pick(fumbleLines))
	}
}

// ability picks the ability an action tests.
func (n *narration) ability() string {
	switch n.act.intent {
	case intentSneak:
		return Dexterity
	case intentPersuade:
		return Charisma
	case intentSearch:
		if n.act.hasAny(perceptionWords) {
			return Wisdom
		}
		return Intelligence
	case intentCast:
		return spellcastingAbility(n.p.Character)
	case intentMove:
		switch {
		case n.act.hasAny(athleticWords):
			return Strength
		case n.act.hasAny(enduranceWords):
			return Constitution
		}
		return Dexterity
	case intentRest:
		return Constitution
	}
	return Intelligence
}

var (
	perceptionWords = []string{"look", "looks", "looking", "listen", "listens", "scan", "scans",
		"peer", "peers", "notice", "watch", "watches", "spot", "track", "tracks", "sniff"}
	athleticWords = []string{"climb", "climbs", "jump", "jumps", "leap", "leaps", "swim",
		"swims", "push", "pull", "force", "break", "lift"}
	enduranceWords = []string{"travel", "travels", "journey", "march", "ride", "rides", "trek"}
)

// spellcastingAbility is the class's casting ability; an unknown class (or
// none) casts with whichever mental ability the sheet rates highest.
func spellcastingAbility(c *Character) string {
	if c == nil {
		return Intelligence
	}
	switch strings.ToLower(strings.TrimSpace(c.Class)) {
	case "wizard", "artificer":
		return Intelligence
	case "cleric", "druid", "ranger", "monk":
		return Wisdom
	case "sorcerer", "warlock", "bard", "paladin":
		return Charisma
	}
	best := Intelligence
	for _, a := range []string{Wisdom, Charisma} {
		if c.Sheet.Modifier(a) > c.Sheet.Modifier(best) {
			best = a
		}
	}
	return best
}

// item mentions an inventory item that suits the action, if the character
// carries one.
func (n *narration) item() {
	c := n.p.Character
	if c == nil {
		return
	}
	if it := findItem(c.Sheet.Inventory, itemWords[n.act.intent]); it != "" {
		n.vars["{item}"], n.vars["{Item}"] = "your "+it, "Your "+it
		n.say(n.dice.pick(itemLines))
	}
}

// itemWords are the words that make an inventory item relevant to an
// action.
var itemWords = map[intent][]string{
	intentSneak:    {"cloak", "hood", "thieves", "tools", "lockpick", "lockpicks", "boots", "mask"},
	intentSearch:   {"lantern", "torch", "lens", "spyglass", "map", "magnifying", "candle"},
	intentCast:     {"staff", "wand", "orb", "spellbook", "tome", "symbol", "focus", "amulet", "rod", "pouch", "grimoire"},
	intentPersuade: {"coin", "coins", "gold", "purse", "letter", "seal", "signet", "badge", "lute"},
	intentMove:     {"rope", "hook", "boots", "horse", "pony", "map", "compass", "climbing"},
	intentRest:     {"bedroll", "rations", "tent", "blanket", "potion", "kit", "herbs"},
}

// findItem returns the first inventory item with one of words in it, in
// lower case ("Thieves' Tools" → "thieves' tools"), or "".
func findItem(inventory []string, words []string) string {
	for _, it := range inventory {
		for _, w := range splitWords(it) {
			if contains(words, strings.ToLower(w)) {
				return strings.ToLower(strings.TrimSpace(it))
			}
		}
	}
	return ""
}

// wounds mentions a badly hurt character's state.
func (n *narration) wounds() {
	c := n.p.Character
	if c == nil || c.Sheet.HP == nil || c.Sheet.HP.Max <= 0 {
		return
	}
	hp := c.Sheet.HP
	if hp.Current*3 > hp.Max {
		return
	}
	n.vars["{hp}"] = fmt.Sprintf("HP %d/%d", max(hp.Current, 0), hp.Max)
	if hp.Current <= 0 {
		n.say("You are barely clinging to consciousness ({hp}).")
		return
	}
	n.say(n.dice.pick(woundLines))
}

// rest narrates a rest: a Constitution check decides how well it goes and
// how many hit points come back, a roll of the class's hit die.
func (n *narration) rest() {
	c := n.p.Character
	n.say(n.dice.pick(templates[intentRest].opening))
	n.item()
	ck := n.dice.rollCheck(c, Constitution, difficulty(n.act), false)
	n.say(ck.String())
	die, con := hitDie(c), 0
	if c != nil {
		con = c.Sheet.Modifier(Constitution)
	}
	var heal int
	o := ck.outcome()
	switch o {
	case critical:
		heal = die + con // the best night's sleep: the hit die at its maximum
	case success:
		heal = n.dice.d(die) + con
	case failure:
		heal = (n.dice.d(die) + con) / 2
	}
	if o != fumble {
		heal = max(heal, 1)
	}
	n.vars["{heal}"] = n.healed(heal)
	switch o {
	case critical, success:
		n.say(n.dice.pick(templates[intentRest].success))
		if o == critical {
			n.say("You wake feeling better than you have in days.")
		}
	case failure:
		n.say(n.dice.pick(templates[intentRest].failure))
	case fumble:
		n.say(n.dice.pick(restInterruptions))
	}
}

// healed describes regained hit points for the rest templates.
func (n *narration) healed(heal int) string {
	c := n.p.Character
	if c == nil || c.Sheet.HP == nil || c.Sheet.HP.Max <= 0 || heal <= 0 {
		return ""
	}
	hp := c.Sheet.HP
	if hp.Current >= hp.Max {
		return fmt.Sprintf(", though you were already whole (HP %d/%d)", hp.Current, hp.Max)
	}
	gained := min(hp.Current+heal, hp.Max) - hp.Current
	return fmt.Sprintf(", recovering %d hit points%s", gained, n.hpChange(gained))
}

// hitDie is the class's hit die, which sets how much a rest heals.
func hitDie(c *Character) int {
	if c == nil {
		return 8
	}
	switch strings.ToLower(strings.TrimSpace(c.Class)) {
	case "barbarian":
		return 12
	case "fighter", "paladin", "ranger":
		return 10
	case "sorcerer", "wizard":
		return 6
	}
	return 8
}
