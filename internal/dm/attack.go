package dm

import (
	"fmt"
	"strings"
)

// attack narrates an attack roll and its damage.
func (n *narration) attack() {
	w := n.weapon()
	n.vars["{weapon}"] = w.name
	n.say(n.dice.pick(attackOpenings))
	n.wounds()
	ck := n.dice.rollCheck(n.p.Character, w.ability, difficulty(n.act), true)
	n.say(ck.String())
	o := ck.outcome()
	switch o {
	case critical, success:
		dmg := n.dice.d(w.die)
		if o == critical {
			dmg += n.dice.d(w.die) // a critical hit rolls the damage dice twice
		}
		if c := n.p.Character; c != nil {
			dmg += c.Sheet.Modifier(w.ability)
		}
		n.vars["{damage}"] = fmt.Sprint(max(dmg, 1))
		n.say(n.dice.pick(attackHits))
		if o == critical {
			n.say(n.dice.pick(attackCriticals))
		}
	case failure:
		n.say(n.dice.pick(attackMisses))
	case fumble:
		n.say(n.dice.pick(attackMisses))
		hurt := n.dice.d(6)
		n.vars["{hurt}"], n.vars["{hpchange}"] = fmt.Sprint(hurt), n.hpChange(-hurt)
		n.say(n.dice.pick(attackFumbles))
	}
}

// weapon is what the character attacks with.
type weapon struct {
	name    string // "your longbow"
	ability string // Strength, or Dexterity for ranged and finesse weapons
	die     int    // damage die
}

// weaponDice are the damage dice of the weapons the narrator knows; a
// weapon of finesseOrRanged is wielded with Dexterity.
var (
	weaponDice = map[string]int{
		"dagger": 4, "knife": 4, "dart": 4, "darts": 4, "sling": 4, "whip": 4, "club": 4,
		"shortsword": 6, "scimitar": 6, "rapier": 8, "mace": 6, "spear": 6, "handaxe": 6,
		"shortbow": 6, "javelin": 6, "staff": 6, "quarterstaff": 6, "hammer": 6,
		"sword": 8, "longsword": 8, "axe": 8, "battleaxe": 8, "warhammer": 8, "flail": 8,
		"morningstar": 8, "trident": 8, "bow": 8, "longbow": 8, "crossbow": 8,
		"greatsword": 12, "greataxe": 12, "maul": 12, "halberd": 10, "glaive": 10, "pike": 10,
	}
	finesseOrRanged = []string{"dagger", "knife", "dart", "darts", "sling", "whip", "shortsword",
		"scimitar", "rapier", "shortbow", "bow", "longbow", "crossbow", "javelin"}
	unarmedWords = []string{"punch", "punches", "kick", "kicks", "fist", "fists", "grapple", "shove", "tackle"}
)

// weapon picks the weapon the message names, preferring the inventory item
// it refers to ("my sword" → "your shortsword", a finesse weapon), then the
// first weapon in the inventory, then bare fists or an unnamed weapon.
func (n *narration) weapon() weapon {
	var inventory []string
	if c := n.p.Character; c != nil {
		inventory = c.Sheet.Inventory
	}
	for _, word := range n.act.words {
		if _, ok := weaponDice[word]; !ok {
			continue
		}
		for _, it := range inventory {
			if w, ok := weaponOf(it); ok && strings.Contains(w.name, word) {
				return w
			}
		}
		return newWeapon(word, word)
	}
	if n.act.hasAny(unarmedWords) {
		return weapon{name: "your fists", ability: Strength, die: 4}
	}
	for _, it := range inventory {
		if w, ok := weaponOf(it); ok {
			return w
		}
	}
	return weapon{name: "your weapon", ability: Strength, die: 6}
}

// weaponOf reads an inventory item as a weapon, if it names one.
func weaponOf(item string) (weapon, bool) {
	for _, w := range splitWords(item) {
		if w = strings.ToLower(w); weaponDice[w] > 0 {
			return newWeapon(w, strings.ToLower(strings.TrimSpace(item))), true
		}
	}
	return weapon{}, false
}

func newWeapon(word, name string) weapon {
	w := weapon{name: "your " + name, ability: Strength, die: weaponDice[word]}
	if contains(finesseOrRanged, word) {
		w.ability = Dexterity
	}
	return w
}

// hpChange describes a change of hit points, " (HP 12 → 8/12)", or "" when
// the sheet keeps no hit points. The narrator only tells; the game package
// owns the sheet.
func (n *narration) hpChange(delta int) string {
	c := n.p.Character
	if c == nil || c.Sheet.HP == nil || c.Sheet.HP.Max <= 0 {
		return ""
	}
	hp := c.Sheet.HP
	after := min(max(hp.Current+delta, 0), hp.Max)
	return fmt.Sprintf(" (HP %d → %d/%d)", hp.Current, after, hp.Max)
}
