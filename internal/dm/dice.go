package dm

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"unicode"
	"unicode/utf8"
)

// dice rolls with a PRNG seeded by the turn's seed and the player's text, so
// a turn rolls the same dice every time it is generated (a retried task
// streams the same reply) while two turns with the same seed but different
// messages still differ.
type dice struct{ r *rand.Rand }

func newDice(seed int64, text string) dice {
	h := fnv.New64a()
	h.Write([]byte(text))
	return dice{rand.New(rand.NewPCG(uint64(seed), h.Sum64()))}
}

// d rolls one die with the given number of sides.
func (d dice) d(sides int) int { return d.r.IntN(sides) + 1 }

// pick chooses one of the options.
func (d dice) pick(options []string) string { return options[d.r.IntN(len(options))] }

// outcome is how a check went.
type outcome int

const (
	fumble   outcome = iota // a natural 1: fails, with a complication
	failure                 // below the DC
	success                 // the DC or above
	critical                // a natural 20: succeeds, spectacularly
)

// check is one d20 roll against a difficulty.
type check struct {
	ability string // one of AbilityNames
	attack  bool   // an attack roll against an armour class rather than a DC
	roll    int    // the d20
	bonus   int    // ability modifier + proficiency bonus
	dc      int
}

// rollCheck rolls d20 + the character's modifier and proficiency for
// ability. Without a character the bonus is +0.
func (d dice) rollCheck(c *Character, ability string, dc int, attack bool) check {
	ck := check{ability: ability, attack: attack, roll: d.d(20), dc: dc}
	if c != nil {
		ck.bonus = c.Sheet.Modifier(ability) + ProficiencyBonus(c.Level)
	}
	return ck
}

func (c check) total() int { return c.roll + c.bonus }

// outcome applies the rules: natural 20 and natural 1 decide regardless of
// the total, otherwise the total must meet the DC.
func (c check) outcome() outcome {
	switch {
	case c.roll == 20:
		return critical
	case c.roll == 1:
		return fumble
	case c.total() >= c.dc:
		return success
	default:
		return failure
	}
}

// String states the roll the way a table would hear it, for example
// "(Dexterity check: 14 + 3 = 17 vs DC 15 — success)".
func (c check) String() string {
	kind, against := "check", "DC"
	if c.attack {
		kind, against = "attack", "AC"
	}
	sign, bonus := "+", c.bonus
	if bonus < 0 {
		sign, bonus = "-", -bonus
	}
	return fmt.Sprintf("(%s %s: %d %s %d = %d vs %s %d — %s)",
		capitalize(c.ability), kind, c.roll, sign, bonus, c.total(), against, c.dc, c.outcomeWord())
}

func (c check) outcomeWord() string {
	o := c.outcome()
	if c.attack {
		return [...]string{"fumble", "miss", "hit", "critical hit"}[o]
	}
	return [...]string{"fumble", "failure", "success", "critical success"}[o]
}

// Difficulty words in the player's message move the DC by a step (5) or
// two, following the usual table: easy 10, medium 15, hard 20, very hard 25.
var (
	easyWords = []string{"easy", "easily", "simple", "simply", "small", "weak", "gently",
		"unguarded", "unlocked", "sleeping", "drunk", "friendly"}
	hardWords = []string{"hard", "difficult", "tough", "dangerous", "steep", "sheer",
		"heavy", "huge", "massive", "giant", "ancient", "guarded", "armored", "armoured",
		"locked", "sealed", "powerful", "stubborn", "suspicious", "raging", "icy",
		"dragon", "knight", "captain", "ogre", "troll"}
	veryHardWords = []string{"impossible", "impossibly", "legendary", "god", "gods",
		"demon", "archmage", "king", "queen", "colossal"}
)

// baseDC is each intent's difficulty before the message's own words: a walk
// is easier than talking a stranger round.
var baseDC = map[intent]int{
	intentAttack:   12, // an armour class
	intentSneak:    13,
	intentPersuade: 13,
	intentSearch:   12,
	intentCast:     13,
	intentMove:     10,
	intentRest:     10,
	intentRecall:   12,
}

// difficulty picks the DC for the action, clamped to the table's 5..30.
func difficulty(a action) int {
	dc := baseDC[a.intent]
	if dc == 0 {
		dc = 12
	}
	if a.hasAny(easyWords) {
		dc -= 5
	}
	if a.hasAny(hardWords) {
		dc += 5
	}
	if a.hasAny(veryHardWords) {
		dc += 10
	}
	return min(max(dc, 5), 30)
}

// capitalize upper-cases the first letter of s.
func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}
