package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/codeofconquest/brightdawn/internal/dice"
)

// Action kinds.
const (
	ActCheck           = "check"            // ability check vs a DC
	ActSave            = "save"             // saving throw vs a DC
	ActAttack          = "attack"           // attack roll vs an armour class, then damage on a hit
	ActDamage          = "damage"           // the character takes damage (dice)
	ActHeal            = "heal"             // the character is healed (dice)
	ActUseItem         = "use_item"         // use or consume an item held
	ActGiveItem        = "give_item"        // the character gives an item away (it leaves the sheet)
	ActTakeItem        = "take_item"        // the character receives an item
	ActGainGold        = "gain_gold"        //
	ActSpendGold       = "spend_gold"       //
	ActGainXP          = "gain_xp"          // may level up
	ActAddCondition    = "add_condition"    //
	ActRemoveCondition = "remove_condition" //
	ActShortRest       = "short_rest"       //
	ActLongRest        = "long_rest"        //
)

// ActionKinds lists every action kind, in the order of the docs.
var ActionKinds = []string{ActCheck, ActSave, ActAttack, ActDamage, ActHeal, ActUseItem, ActGiveItem, ActTakeItem,
	ActGainGold, ActSpendGold, ActGainXP, ActAddCondition, ActRemoveCondition, ActShortRest, ActLongRest}

// Action is one thing the engine resolves. Which fields matter depends on
// Kind; the JSON form is what the model's tools send.
type Action struct {
	Kind         string `json:"kind"`
	Ability      string `json:"ability,omitempty"`      // check, save: full or short name
	DC           int    `json:"dc,omitempty"`           // check, save: 1..30
	Difficulty   string `json:"difficulty,omitempty"`   // check, save: a named DC ("medium") instead of DC
	Advantage    bool   `json:"advantage,omitempty"`    // check, save, attack
	Disadvantage bool   `json:"disadvantage,omitempty"` // check, save, attack
	Proficient   bool   `json:"proficient,omitempty"`   // check, save: adds the proficiency bonus
	FailDamage   string `json:"fail_damage,omitempty"`  // check, save: dice of damage taken on a failure
	TargetAC     int    `json:"target_ac,omitempty"`    // attack: 1..30
	Weapon       string `json:"weapon,omitempty"`       // attack: a held weapon; empty = unarmed
	Dice         string `json:"dice,omitempty"`         // damage, heal
	Item         string `json:"item,omitempty"`         // use_item, give_item, take_item
	Qty          int    `json:"qty,omitempty"`          // give_item, take_item: default 1
	Amount       int    `json:"amount,omitempty"`       // gold, xp
	Condition    string `json:"condition,omitempty"`    // add_condition, remove_condition
	Reason       string `json:"reason,omitempty"`       // why, for the roll and the changes
}

// Change is one field of the sheet changing. Path is "hp.current",
// "hp.max", "gold", "xp", "level", "inventory.<item name>" (the quantity; 0
// means absent) or "conditions.<name>" (0 absent, 1 present). From and To
// make it applicable and reversible (Apply, Revert).
type Change struct {
	Path   string `json:"path"`
	From   int    `json:"from"`
	To     int    `json:"to"`
	Reason string `json:"reason,omitempty"`
}

// Refusal codes: the rules did not allow the action. Reason is a sentence
// the narration can use.
const (
	RefuseInvalid      = "invalid"           // the action itself is malformed
	RefuseNotHeld      = "not_held"          // an item the character does not have
	RefuseUnknownItem  = "unknown_item"      // the rules do not know the item
	RefuseUnknownCond  = "unknown_condition" //
	RefuseNoGold       = "insufficient_gold" //
	RefuseIncapacitate = "incapacitated"     // unconscious or similar
	RefuseLimit        = "limit"             // a sheet limit would be exceeded
)

// Refusal is why an action was not carried out.
type Refusal struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Reason }

// Outcome is the result of one action. On a refusal Sheet is the input
// sheet unchanged, and Rolls and Changes are empty.
type Outcome struct {
	Action  Action      `json:"action"`
	Rolls   []dice.Roll `json:"rolls,omitempty"`
	Changes []Change    `json:"changes,omitempty"`
	Refusal *Refusal    `json:"refusal,omitempty"`
	Success *bool       `json:"success,omitempty"` // checks, saves, attacks: did it succeed / hit
	Amount  int         `json:"amount,omitempty"`  // hit points healed or lost, damage dealt on a hit
	Sheet   Sheet       `json:"sheet"`
}

// Engine resolves actions with one pack.
type Engine struct{ pack *Pack }

// New returns an engine for a pack.
func New(p *Pack) *Engine { return &Engine{pack: p} }

// Pack is the engine's rule pack.
func (e *Engine) Pack() *Pack { return e.pack }

// Resolve carries out an action on a copy of sheet, drawing dice from
// roller, and returns what happened. The input sheet is never modified.
// Every roll is also recorded on roller.
func (e *Engine) Resolve(sheet Sheet, a Action, roller *dice.Roller) Outcome {
	st := &state{e: e, p: e.pack, s: sheet.Clone(), r: roller, reason: a.Reason}
	if st.reason == "" {
		st.reason = a.Kind
	}
	ref := st.do(a)
	if ref != nil {
		return Outcome{Action: a, Refusal: ref, Sheet: sheet}
	}
	return Outcome{Action: a, Rolls: st.rolls, Changes: st.changes, Success: st.success, Amount: st.amount, Sheet: st.s}
}

type state struct {
	e       *Engine
	p       *Pack
	s       Sheet
	r       *dice.Roller
	reason  string
	rolls   []dice.Roll
	changes []Change
	success *bool
	amount  int
}

func refuse(code, format string, a ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, a...)}
}

func (st *state) do(a Action) *Refusal {
	switch a.Kind {
	case ActCheck, ActSave:
		return st.check(a)
	case ActAttack:
		return st.attack(a)
	case ActDamage, ActHeal:
		n, ref := notation(a.Dice, "dice")
		if ref != nil {
			return ref
		}
		roll := st.roll(n)
		if a.Kind == ActDamage {
			st.damage(roll.Total)
		} else {
			st.heal(roll.Total)
		}
		return nil
	case ActUseItem:
		return st.useItem(a)
	case ActGiveItem:
		return st.give(a)
	case ActTakeItem:
		return st.take(a)
	case ActGainGold, ActSpendGold:
		return st.gold(a)
	case ActGainXP:
		return st.xp(a)
	case ActAddCondition, ActRemoveCondition:
		c, ok := st.p.Condition(a.Condition)
		if !ok {
			return refuse(RefuseUnknownCond, "the rules know no condition called %q", a.Condition)
		}
		if a.Kind == ActAddCondition {
			if len(st.s.Conditions) >= MaxConditions && !st.s.Has(c.Name) {
				return refuse(RefuseLimit, "too many conditions at once")
			}
			st.setCondition(c.Name, true)
		} else {
			if !st.s.Has(c.Name) {
				return refuse(RefuseNotHeld, "you are not %s", c.Name)
			}
			if st.s.HP.Current == 0 && slices.ContainsFunc(st.p.ZeroHP.AddConditions, func(z string) bool { return strings.EqualFold(z, c.Name) }) {
				return refuse(RefuseIncapacitate, "at 0 hit points you stay %s until you are healed", c.Name)
			}
			st.setCondition(c.Name, false)
		}
		return nil
	case ActShortRest:
		return st.rest(st.p.Rests.Short)
	case ActLongRest:
		return st.rest(st.p.Rests.Long)
	}
	return refuse(RefuseInvalid, "unknown action %q; one of %s", a.Kind, strings.Join(ActionKinds, ", "))
}

func notation(s, field string) (dice.Notation, *Refusal) {
	n, err := dice.Parse(s)
	if err != nil {
		return n, refuse(RefuseInvalid, "%s: %v", field, err)
	}
	return n, nil
}

// incapacitated refuses an action the character cannot take in their state.
func (st *state) incapacitated() *Refusal {
	for _, c := range st.s.Conditions {
		if cond, ok := st.p.Condition(c); ok && cond.Incapacitating {
			return refuse(RefuseIncapacitate, "you are %s and cannot act", cond.Name)
		}
	}
	return nil
}

func (st *state) d20(adv, dis bool, mod int) dice.Notation {
	n := dice.Notation{Count: 1, Sides: 20, Modifier: mod}
	if adv != dis { // both cancel out (SRD)
		n.Count = 2
		n.Keep = dice.KeepHighest
		if dis {
			n.Keep = dice.KeepLowest
		}
	}
	return n
}

func (st *state) roll(n dice.Notation) dice.Roll {
	r := st.r.Roll(n, st.reason)
	st.rolls = append(st.rolls, r)
	return r
}

func (st *state) check(a Action) *Refusal {
	if a.Kind == ActCheck {
		if ref := st.incapacitated(); ref != nil {
			return ref
		}
	}
	ability, ok := st.p.Ability(a.Ability)
	if !ok {
		return refuse(RefuseInvalid, "ability: %q is not one of %s", a.Ability, strings.Join(AbilityNames[:], ", "))
	}
	dc := a.DC
	if a.Difficulty != "" {
		if dc, ok = st.p.DC(a.Difficulty); !ok {
			return refuse(RefuseInvalid, "difficulty: %q is not a named DC", a.Difficulty)
		}
	}
	if dc < 1 || dc > 30 {
		return refuse(RefuseInvalid, "dc: %d is outside 1..30", dc)
	}
	var fail *dice.Notation
	if a.FailDamage != "" {
		n, ref := notation(a.FailDamage, "fail_damage")
		if ref != nil {
			return ref
		}
		fail = &n
	}
	mod := st.s.Modifier(ability)
	if a.Proficient {
		mod += st.s.ProficiencyBonus()
	}
	r := st.r.Check(st.d20(a.Advantage, a.Disadvantage, mod), st.reason, dc)
	st.rolls = append(st.rolls, r)
	ok = r.Outcome == dice.Success || r.Outcome == dice.CriticalSuccess
	st.success = &ok
	if !ok && fail != nil {
		st.damage(st.roll(*fail).Total)
	}
	return nil
}

func (st *state) attack(a Action) *Refusal {
	if ref := st.incapacitated(); ref != nil {
		return ref
	}
	if a.TargetAC < 1 || a.TargetAC > 30 {
		return refuse(RefuseInvalid, "target_ac: %d is outside 1..30", a.TargetAC)
	}
	w := st.p.Unarmed
	if a.Weapon != "" {
		kind, ok := st.p.Item(a.Weapon)
		if !ok || kind.Kind != KindWeapon {
			if st.s.Qty(a.Weapon) == 0 {
				return refuse(RefuseNotHeld, "you reach for your %s, but you do not have one", a.Weapon)
			}
			return refuse(RefuseUnknownItem, "your %s is no weapon the rules know", a.Weapon)
		}
		if st.s.Qty(kind.Name) == 0 {
			return refuse(RefuseNotHeld, "you reach for your %s, but you do not have one", kind.Name)
		}
		w = kind.weapon
	}
	ability := w.Ability
	if ability == "finesse" {
		ability = "strength"
		if st.s.Modifier("dexterity") > st.s.Modifier("strength") {
			ability = "dexterity"
		}
	}
	mod := st.s.Modifier(ability)
	r := st.r.Check(st.d20(a.Advantage, a.Disadvantage, mod+st.s.ProficiencyBonus()), st.reason, a.TargetAC)
	st.rolls = append(st.rolls, r)
	hit := r.Outcome == dice.Success || r.Outcome == dice.CriticalSuccess
	st.success = &hit
	if hit {
		n := w.damage.WithModifier(mod)
		if r.Outcome == dice.CriticalSuccess { // a critical hit rolls the damage dice twice
			n.Count = min(2*n.Count, dice.MaxCount)
		}
		st.amount = max(st.roll(n).Total, 1)
	}
	return nil
}

func (st *state) useItem(a Action) *Refusal {
	if ref := st.incapacitated(); ref != nil {
		return ref
	}
	name := a.Item
	kind, known := st.p.Item(a.Item)
	if known {
		name = kind.Name
	}
	if st.s.Qty(name) == 0 {
		return refuse(RefuseNotHeld, "you search your pack, but the %s is gone", strings.TrimSpace(a.Item))
	}
	if !known {
		return refuse(RefuseUnknownItem, "nothing happens: the rules do not say what the %s does", name)
	}
	if kind.heal != nil {
		st.heal(st.roll(*kind.heal).Total)
	}
	for _, c := range kind.RemoveConditions {
		if cond, _ := st.p.Condition(c); st.s.Has(cond.Name) {
			st.setCondition(cond.Name, false)
		}
	}
	if kind.Kind == KindConsumable {
		st.addItem(kind.Name, -1)
	}
	return nil
}

func (st *state) give(a Action) *Refusal {
	qty := max(a.Qty, 1)
	if a.Qty < 0 {
		return refuse(RefuseInvalid, "qty: %d is negative", a.Qty)
	}
	name := st.canonical(a.Item)
	have := st.s.Qty(name)
	switch {
	case have == 0:
		return refuse(RefuseNotHeld, "you search your pack, but the %s is gone", strings.TrimSpace(a.Item))
	case have < qty:
		return refuse(RefuseNotHeld, "you have only %d %s, not %d", have, name, qty)
	}
	st.addItem(name, -qty)
	return nil
}

func (st *state) take(a Action) *Refusal {
	if a.Qty < 0 || a.Qty > MaxQty {
		return refuse(RefuseInvalid, "qty: %d is outside 1..%d", a.Qty, MaxQty)
	}
	qty := max(a.Qty, 1)
	if err := checkName(a.Item); err != nil {
		return refuse(RefuseInvalid, "item: %v", err)
	}
	name := st.canonical(a.Item)
	have := st.s.Qty(name)
	switch {
	case have+qty > MaxQty:
		return refuse(RefuseLimit, "you cannot carry more than %d %s", MaxQty, name)
	case have == 0 && len(st.s.Inventory) >= MaxItems:
		return refuse(RefuseLimit, "your pack is full: at most %d different items", MaxItems)
	}
	st.addItem(name, qty)
	return nil
}

// canonical is the pack's name for an item, or the sheet's spelling of it,
// or the trimmed name itself.
func (st *state) canonical(name string) string {
	if kind, ok := st.p.Item(name); ok {
		return kind.Name
	}
	if i := st.s.itemIndex(strings.TrimSpace(name)); i >= 0 {
		return st.s.Inventory[i].Name
	}
	return strings.TrimSpace(name)
}

func (st *state) gold(a Action) *Refusal {
	if a.Amount < 1 || a.Amount > MaxGold {
		return refuse(RefuseInvalid, "amount: %d is outside 1..%d", a.Amount, MaxGold)
	}
	if a.Kind == ActSpendGold {
		if st.s.Gold < a.Amount {
			return refuse(RefuseNoGold, "you count your coins: %d gold, not the %d needed", st.s.Gold, a.Amount)
		}
		st.set("gold", &st.s.Gold, st.s.Gold-a.Amount)
		return nil
	}
	st.set("gold", &st.s.Gold, min(st.s.Gold+a.Amount, MaxGold))
	return nil
}

func (st *state) xp(a Action) *Refusal {
	if a.Amount < 1 || a.Amount > MaxXP {
		return refuse(RefuseInvalid, "amount: %d is outside 1..%d", a.Amount, MaxXP)
	}
	st.set("xp", &st.s.XP, min(st.s.XP+a.Amount, MaxXP))
	if lvl := st.p.Level(st.s.XP); lvl > st.s.Level {
		gain := (lvl - st.s.Level) * max(st.p.HPPerLevel+st.s.Modifier("constitution"), 1)
		st.set("level", &st.s.Level, lvl)
		newMax := min(st.s.HP.Max+gain, MaxHP)
		st.set("hp.current", &st.s.HP.Current, st.s.HP.Current+newMax-st.s.HP.Max)
		st.set("hp.max", &st.s.HP.Max, newMax)
	}
	return nil
}

func (st *state) rest(r Rest) *Refusal {
	if r.HealFull {
		st.heal(st.s.HP.Max - st.s.HP.Current)
	} else if r.heal != nil {
		n := *r.heal
		if r.AddAbility != "" {
			n = n.WithModifier(st.s.Modifier(r.AddAbility))
		}
		st.heal(max(st.roll(n).Total, 0))
	}
	for _, c := range r.RemoveConditions {
		if cond, _ := st.p.Condition(c); st.s.Has(cond.Name) {
			st.setCondition(cond.Name, false)
		}
	}
	return nil
}

// damage lowers hit points, not below 0; at 0 the zero_hp conditions apply.
func (st *state) damage(n int) {
	n = max(n, 0)
	to := max(st.s.HP.Current-n, 0)
	st.amount += st.s.HP.Current - to
	st.set("hp.current", &st.s.HP.Current, to)
	if to == 0 {
		for _, c := range st.p.ZeroHP.AddConditions {
			if cond, _ := st.p.Condition(c); !st.s.Has(cond.Name) {
				st.setCondition(cond.Name, true)
			}
		}
	}
}

// heal raises hit points, not above the maximum; above 0 the remove_on_heal
// conditions end.
func (st *state) heal(n int) {
	n = max(n, 0)
	to := min(st.s.HP.Current+n, st.s.HP.Max)
	st.amount += to - st.s.HP.Current
	st.set("hp.current", &st.s.HP.Current, to)
	if to > 0 {
		for _, c := range st.p.ZeroHP.RemoveOnHeal {
			if cond, _ := st.p.Condition(c); st.s.Has(cond.Name) {
				st.setCondition(cond.Name, false)
			}
		}
	}
}

func (st *state) set(path string, field *int, to int) {
	if *field == to {
		return
	}
	st.changes = append(st.changes, Change{Path: path, From: *field, To: to, Reason: st.reason})
	*field = to
}

func (st *state) addItem(name string, delta int) {
	from := st.s.Qty(name)
	setQty(&st.s, name, from+delta)
	st.changes = append(st.changes, Change{Path: "inventory." + name, From: from, To: from + delta, Reason: st.reason})
}

func (st *state) setCondition(name string, on bool) {
	from, to := 0, 0
	if st.s.Has(name) {
		from = 1
	}
	if on {
		to = 1
	}
	if from == to {
		return
	}
	setCondition(&st.s, name, on)
	st.changes = append(st.changes, Change{Path: "conditions." + name, From: from, To: to, Reason: st.reason})
}

func setQty(s *Sheet, name string, qty int) {
	i := s.itemIndex(name)
	switch {
	case i < 0 && qty > 0:
		s.Inventory = append(s.Inventory, Item{Name: name, Qty: qty})
	case i >= 0 && qty > 0:
		s.Inventory[i].Qty = qty
	case i >= 0:
		s.Inventory = append(s.Inventory[:i:i], s.Inventory[i+1:]...)
	}
}

func setCondition(s *Sheet, name string, on bool) {
	i := s.conditionIndex(name)
	switch {
	case on && i < 0:
		s.Conditions = append(s.Conditions, name)
	case !on && i >= 0:
		s.Conditions = append(s.Conditions[:i:i], s.Conditions[i+1:]...)
	}
}
