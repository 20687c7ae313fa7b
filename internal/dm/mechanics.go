package dm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	vdice "github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// Mechanics is what the rules engine made of a player's message for the
// offline narrator (and, as a fallback, for plain-text models): the actions
// the message implies, their outcomes in order, and the sheet after them.
type Mechanics struct {
	Target   string // "the goblin", "" when none was named
	Outcomes []rules.Outcome
	Sheet    rules.Sheet
}

// Changes are all the changes of the outcomes, in order.
func (m Mechanics) Changes() []rules.Change {
	var out []rules.Change
	for _, o := range m.Outcomes {
		out = append(out, o.Changes...)
	}
	return out
}

// Difficulties the offline reading assumes: a typical foe's armour class and
// the DC of an ordinary risky task (SRD "medium" is 15; a lone adventurer's
// everyday risks are set a little lower).
const (
	offlineTargetAC = 13
	offlineDC       = 12
)

var (
	consumeWords = []string{"drink", "drinks", "quaff", "quaffs", "sip", "sips", "eat", "eats",
		"use", "uses", "consume", "consumes", "apply", "applies", "swallow", "swallows", "gulp", "gulps"}
	payWords   = []string{"pay", "pays", "buy", "buys", "spend", "spends", "bribe", "bribes", "give", "gives", "hand", "hands"}
	goldAmount = regexp.MustCompile(`(?i)\b(\d{1,9})\s*(gold|gp|coins?|gold pieces)\b`)
	// Movement that can hurt: the ability it tests and the damage of a failure.
	dangerousMoves = map[string]struct {
		ability string
		damage  string
	}{
		"climb": {"strength", "1d6"}, "climbs": {"strength", "1d6"}, "scale": {"strength", "1d6"},
		"swim": {"strength", "1d4"}, "swims": {"strength", "1d4"},
		"jump": {"dexterity", "1d6"}, "jumps": {"dexterity", "1d6"}, "leap": {"dexterity", "1d6"}, "leaps": {"dexterity", "1d6"},
	}
	longRestWords = []string{"sleep", "sleeps", "sleeping", "camp", "night"}
)

// ResolveIntent maps the player's message to engine actions and resolves
// them on sheet with the turn's roller: "I drink my healing potion" uses the
// potion, "I attack the goblin" rolls an attack (and its damage on a hit),
// "I climb the cliff" is a Strength check whose failure costs hit points,
// "I pay 5 gold" spends it, sneaking, talking and searching are checks,
// resting is a short (or, for sleep and camp, long) rest. A message that
// implies no mechanics gives no outcomes. Refusals are outcomes too.
func ResolveIntent(e *rules.Engine, sheet rules.Sheet, text string, r *vdice.Roller) Mechanics {
	act := readAction(text)
	m := Mechanics{Sheet: sheet, Target: act.target()}
	do := func(a rules.Action) {
		o := e.Resolve(m.Sheet, a, r)
		m.Outcomes = append(m.Outcomes, o)
		m.Sheet = o.Sheet
	}
	switch {
	case act.hasAny(consumeWords) && mentionedItem(e.Pack(), sheet, act.words) != "":
		do(rules.Action{Kind: rules.ActUseItem, Item: mentionedItem(e.Pack(), sheet, act.words), Reason: "use item"})
		return m
	case act.hasAny(payWords) && goldAmount.MatchString(text):
		n, _ := strconv.Atoi(goldAmount.FindStringSubmatch(text)[1])
		do(rules.Action{Kind: rules.ActSpendGold, Amount: n, Reason: "pay"})
		return m
	}
	switch act.intent {
	case intentAttack:
		do(rules.Action{Kind: rules.ActAttack, Weapon: heldWeapon(e.Pack(), sheet, act.words), TargetAC: offlineTargetAC, Reason: "attack"})
	case intentMove:
		for _, w := range act.words {
			if d, ok := dangerousMoves[w]; ok {
				do(rules.Action{Kind: rules.ActCheck, Ability: d.ability, DC: offlineDC, FailDamage: d.damage, Reason: w})
				break
			}
		}
	case intentSneak:
		do(rules.Action{Kind: rules.ActCheck, Ability: "dexterity", DC: offlineDC, Proficient: true, Reason: "stealth"})
	case intentPersuade:
		do(rules.Action{Kind: rules.ActCheck, Ability: "charisma", DC: offlineDC, Reason: "persuasion"})
	case intentSearch:
		do(rules.Action{Kind: rules.ActCheck, Ability: "wisdom", DC: offlineDC, Reason: "perception"})
	case intentRest:
		if act.hasAny(longRestWords) || strings.Contains(strings.ToLower(text), "long rest") {
			do(rules.Action{Kind: rules.ActLongRest, Reason: "long rest"})
		} else {
			do(rules.Action{Kind: rules.ActShortRest, Reason: "short rest"})
		}
	}
	return m
}

// mentionedItem is the item the message names: a held item whose name's
// words all occur in the message, else a pack item or alias named by one of
// its words ("potion") even when not held, so using it is refused with a
// reason; "" when none.
func mentionedItem(p *rules.Pack, s rules.Sheet, words []string) string {
	for _, it := range s.Inventory {
		if allIn(strings.Fields(strings.ToLower(it.Name)), words) {
			return it.Name
		}
	}
	for n := 3; n >= 1; n-- { // longest phrase first: "healing potion" before "potion"
		for i := 0; i+n <= len(words); i++ {
			phrase := strings.Join(words[i:i+n], " ")
			if kind, ok := p.Item(phrase); ok {
				if _, held := heldItem(s, kind.Name); held {
					return kind.Name
				}
				return phrase
			}
		}
	}
	return ""
}

func heldItem(s rules.Sheet, name string) (rules.Item, bool) {
	for _, it := range s.Inventory {
		if strings.EqualFold(it.Name, name) {
			return it, true
		}
	}
	return rules.Item{}, false
}

func allIn(need, words []string) bool {
	for _, n := range need {
		if !contains(words, n) {
			return false
		}
	}
	return len(need) > 0
}

// heldWeapon is the weapon named in the message if held, else the first
// weapon held, else "" (unarmed).
func heldWeapon(p *rules.Pack, s rules.Sheet, words []string) string {
	first := ""
	for _, it := range s.Inventory {
		kind, ok := p.Item(it.Name)
		if !ok || kind.Kind != rules.KindWeapon {
			continue
		}
		if first == "" {
			first = kind.Name
		}
		if allIn(strings.Fields(kind.Name), words) {
			return kind.Name
		}
		for _, a := range kind.Aliases {
			if allIn(strings.Fields(a), words) {
				return kind.Name
			}
		}
	}
	return first
}

// NarrateMechanics renders the engine's outcomes as the narrator's
// sentences: each roll as "(Strength check: 14 + 3 = 17 vs DC 12 —
// success)", what it changed, and refusals in the rules' own words.
func NarrateMechanics(m Mechanics) string {
	var b strings.Builder
	say := func(format string, a ...any) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, format, a...)
	}
	for _, o := range m.Outcomes {
		if o.Refusal != nil {
			say("%s.", capitalise(o.Refusal.Reason))
			continue
		}
		a := o.Action
		switch a.Kind {
		case rules.ActCheck, rules.ActSave:
			say("%s", rollText(capitalise(a.Ability)+" check", o.Rolls[0]))
			if !*o.Success && o.Amount > 0 {
				say("You slip and fall, taking %d damage.", o.Amount)
			}
		case rules.ActAttack:
			say("%s", rollText("Attack roll", o.Rolls[0]))
			target := m.Target
			if target == "" {
				target = "your foe"
			}
			if *o.Success {
				say("You strike %s for %d damage.", target, o.Amount)
			} else {
				say("You miss %s.", target)
			}
		case rules.ActUseItem:
			item := strings.TrimPrefix(itemChange(o), "inventory.")
			if o.Amount > 0 {
				say("You drink the %s and regain %d hit points.", item, o.Amount)
			} else {
				say("You use the %s.", item)
			}
		case rules.ActSpendGold:
			say("You hand over %d gold and have %d left.", a.Amount, o.Sheet.Gold)
		case rules.ActShortRest, rules.ActLongRest:
			say("You rest and regain %d hit points.", o.Amount)
		}
		if hp := hpChange(o); hp != "" {
			say("%s", hp)
		}
		if unconscious(o) {
			say("You fall unconscious.")
		}
	}
	return b.String()
}

func itemChange(o rules.Outcome) string {
	for _, c := range o.Changes {
		if strings.HasPrefix(c.Path, "inventory.") {
			return c.Path
		}
	}
	return o.Action.Item
}

func hpChange(o rules.Outcome) string {
	for _, c := range o.Changes {
		if c.Path == "hp.current" {
			return fmt.Sprintf("(HP %d → %d/%d)", c.From, c.To, o.Sheet.HP.Max)
		}
	}
	return ""
}

func unconscious(o rules.Outcome) bool {
	for _, c := range o.Changes {
		if c.Path == "conditions.unconscious" && c.To == 1 {
			return true
		}
	}
	return false
}

// rollText is "(Dexterity check: 2d20kh1 [14, 7] + 3 = 17 vs DC 12 — success)".
func rollText(what string, r vdice.Roll) string {
	vals := make([]string, len(r.Dice))
	for i, d := range r.Dice {
		vals[i] = strconv.Itoa(d.Value)
	}
	dice := strings.Join(vals, ", ")
	if len(r.Dice) > 1 {
		dice = r.Notation[:strings.IndexAny(r.Notation+"+", "+-")] + " [" + dice + "]"
	}
	s := fmt.Sprintf("(%s: %s", what, dice)
	if r.Modifier != 0 {
		sign := "+"
		if r.Modifier < 0 {
			sign = "-"
		}
		s += fmt.Sprintf(" %s %d = %d", sign, abs(r.Modifier), r.Total)
	}
	if r.DC != nil {
		label := "DC"
		if strings.HasPrefix(what, "Attack") {
			label = "AC"
		}
		s += fmt.Sprintf(" vs %s %d — %s", label, *r.DC, strings.ReplaceAll(r.Outcome, "_", " "))
	}
	return s + ")"
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ForPrompt is the outcome as a note for a plain-text model (the replicate
// fallback): the mechanics are already decided, and the model narrates them
// rather than inventing its own dice. "" when nothing was resolved.
func (m Mechanics) ForPrompt() string {
	text := NarrateMechanics(m)
	if text == "" {
		return ""
	}
	return "The rules engine has already resolved this turn's mechanics; narrate exactly this outcome, and do not roll again or change it: " + text
}
