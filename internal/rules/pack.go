// Package rules is the rules engine: it owns the character sheet and
// resolves actions (checks, attacks, damage, items, gold, XP, conditions,
// rests) against a rule pack, with dice from internal/dice. It does no
// I/O: given a sheet, an action and a roller it returns the rolls, the
// changes and the new sheet, and enforces the sheet's invariants itself.
package rules

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/codeofconquest/brightdawn/internal/dice"
)

//go:embed srd.yaml
var srdYAML []byte

// Item kinds of a rule pack.
const (
	KindConsumable = "consumable" // used up when used: healing potions, rations
	KindWeapon     = "weapon"     // attacks with its damage dice
	KindGear       = "gear"       // carried; using it changes nothing
)

// Pack is a loaded, validated rule pack. It is read-only after Load.
type Pack struct {
	Name       string            `yaml:"name"`
	AbilityAbb map[string]string `yaml:"ability_abbreviations"`
	DCs        map[string]int    `yaml:"dcs"`
	Conditions []Condition       `yaml:"conditions"`
	ZeroHP     ZeroHP            `yaml:"zero_hp"`
	Levels     []int             `yaml:"levels"`
	HPPerLevel int               `yaml:"hp_per_level"`
	Rests      Rests             `yaml:"rests"`
	Unarmed    Weapon            `yaml:"unarmed"`
	Items      []ItemKind        `yaml:"items"`

	conditions map[string]*Condition
	items      map[string]*ItemKind // by folded name and alias
}

// Condition is a named condition a character can have.
type Condition struct {
	Name           string `yaml:"name"`
	Description    string `yaml:"description"`
	Incapacitating bool   `yaml:"incapacitating"` // no checks, attacks or item use while it lasts
}

// ZeroHP is what happens when hit points reach 0 and when they rise again.
type ZeroHP struct {
	AddConditions []string `yaml:"add_conditions"`
	RemoveOnHeal  []string `yaml:"remove_on_heal"`
}

// Rests are the short and long rest.
type Rests struct {
	Short Rest `yaml:"short"`
	Long  Rest `yaml:"long"`
}

// Rest is what a rest restores.
type Rest struct {
	Heal             string   `yaml:"heal"`        // dice healed, e.g. 1d8
	AddAbility       string   `yaml:"add_ability"` // its modifier is added to Heal
	HealFull         bool     `yaml:"heal_full"`
	RemoveConditions []string `yaml:"remove_conditions"`

	heal *dice.Notation
}

// Weapon is an attack's damage.
type Weapon struct {
	Damage  string `yaml:"damage"`
	Ability string `yaml:"ability"` // an ability, or "finesse" (the better of strength and dexterity)

	damage dice.Notation
}

// ItemKind is an item the rules know, with what using it does.
type ItemKind struct {
	Name             string   `yaml:"name"`
	Aliases          []string `yaml:"aliases"`
	Kind             string   `yaml:"kind"`
	Heal             string   `yaml:"heal"`
	RemoveConditions []string `yaml:"remove_conditions"`
	Damage           string   `yaml:"damage"`
	Ability          string   `yaml:"ability"`

	heal   *dice.Notation
	weapon Weapon
}

// Default returns the embedded SRD 5.1 basics pack.
func Default() *Pack {
	p, err := Load(srdYAML)
	if err != nil {
		panic("rules: the embedded pack is invalid: " + err.Error())
	}
	return p
}

// LoadFile loads a pack from a YAML file (RULES_PACK).
func LoadFile(path string) (*Pack, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rule pack: %w", err)
	}
	p, err := load(b)
	if err != nil {
		return nil, fmt.Errorf("rule pack %s: %w", path, err)
	}
	return p, nil
}

// Load parses and validates a pack. Unknown fields are errors, and every
// error names the field (for example "items[3].heal: …").
func Load(b []byte) (*Pack, error) {
	p, err := load(b)
	if err != nil {
		return nil, fmt.Errorf("rule pack: %w", err)
	}
	return p, nil
}

func load(b []byte) (*Pack, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var p Pack
	if err := dec.Decode(&p); err != nil {
		return nil, err
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

func (p *Pack) validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if strings.TrimSpace(p.Name) == "" {
		bad("name", "required")
	}
	for abb, full := range p.AbilityAbb {
		if !slices.Contains(AbilityNames[:], full) {
			bad("ability_abbreviations."+abb, "%q is not one of %s", full, strings.Join(AbilityNames[:], ", "))
		}
	}
	if len(p.DCs) == 0 {
		bad("dcs", "required")
	}
	for name, dc := range p.DCs {
		if dc < 1 || dc > 30 {
			bad("dcs."+name, "%d is outside 1..30", dc)
		}
	}
	p.conditions = map[string]*Condition{}
	for i := range p.Conditions {
		c := &p.Conditions[i]
		f := fmt.Sprintf("conditions[%d]", i)
		if err := checkName(c.Name); err != nil {
			bad(f+".name", "%v", err)
			continue
		}
		key := fold(c.Name)
		if _, dup := p.conditions[key]; dup {
			bad(f+".name", "%q is listed twice", c.Name)
		}
		p.conditions[key] = c
	}
	knownCond := func(field string, names []string) {
		for j, n := range names {
			if p.conditions[fold(n)] == nil {
				bad(fmt.Sprintf("%s[%d]", field, j), "unknown condition %q", n)
			}
		}
	}
	knownCond("zero_hp.add_conditions", p.ZeroHP.AddConditions)
	knownCond("zero_hp.remove_on_heal", p.ZeroHP.RemoveOnHeal)
	if len(p.Levels) == 0 || p.Levels[0] != 0 {
		bad("levels", "must start at 0 (level 1)")
	}
	for i := 1; i < len(p.Levels); i++ {
		if p.Levels[i] <= p.Levels[i-1] {
			bad(fmt.Sprintf("levels[%d]", i), "%d is not above the previous level's %d", p.Levels[i], p.Levels[i-1])
		}
	}
	if p.HPPerLevel < 0 || p.HPPerLevel > 100 {
		bad("hp_per_level", "%d is outside 0..100", p.HPPerLevel)
	}
	for name, r := range map[string]*Rest{"rests.short": &p.Rests.Short, "rests.long": &p.Rests.Long} {
		if r.Heal != "" {
			n, err := dice.Parse(r.Heal)
			if err != nil {
				bad(name+".heal", "%v", err)
			}
			r.heal = &n
		}
		if r.AddAbility != "" && !slices.Contains(AbilityNames[:], r.AddAbility) {
			bad(name+".add_ability", "unknown ability %q", r.AddAbility)
		}
		knownCond(name+".remove_conditions", r.RemoveConditions)
	}
	if err := p.Unarmed.parse(); err != nil {
		bad("unarmed", "%v", err)
	}
	p.items = map[string]*ItemKind{}
	for i := range p.Items {
		it := &p.Items[i]
		f := fmt.Sprintf("items[%d]", i)
		for _, n := range append([]string{it.Name}, it.Aliases...) {
			if err := checkName(n); err != nil {
				bad(f+".name", "%v", err)
				continue
			}
			if _, dup := p.items[fold(n)]; dup {
				bad(f, "the name %q is used by two items", n)
			}
			p.items[fold(n)] = it
		}
		switch it.Kind {
		case KindConsumable, KindGear:
			if it.Damage != "" {
				bad(f+".damage", "only weapons have damage")
			}
		case KindWeapon:
			it.weapon = Weapon{Damage: it.Damage, Ability: it.Ability}
			if err := it.weapon.parse(); err != nil {
				bad(f, "%v", err)
			}
		default:
			bad(f+".kind", "%q is not consumable, weapon or gear", it.Kind)
		}
		if it.Heal != "" {
			n, err := dice.Parse(it.Heal)
			if err != nil {
				bad(f+".heal", "%v", err)
			}
			it.heal = &n
		}
		knownCond(f+".remove_conditions", it.RemoveConditions)
	}
	return errors.Join(errs...)
}

func (w *Weapon) parse() error {
	n, err := dice.Parse(w.Damage)
	if err != nil {
		return fmt.Errorf("damage: %w", err)
	}
	w.damage = n
	if w.Ability != "finesse" && !slices.Contains(AbilityNames[:], w.Ability) {
		return fmt.Errorf("ability: %q is not an ability or finesse", w.Ability)
	}
	return nil
}

// Item finds an item kind by name or alias, case-insensitively.
func (p *Pack) Item(name string) (*ItemKind, bool) {
	it, ok := p.items[fold(name)]
	return it, ok
}

// Condition finds a condition by name, case-insensitively.
func (p *Pack) Condition(name string) (*Condition, bool) {
	c, ok := p.conditions[fold(name)]
	return c, ok
}

// DC returns a named difficulty ("medium") from the pack's ladder.
func (p *Pack) DC(name string) (int, bool) {
	dc, ok := p.DCs[fold(name)]
	return dc, ok
}

// Level is the level a character with xp experience points has reached.
func (p *Pack) Level(xp int) int {
	lvl := 0
	for i, t := range p.Levels {
		if xp >= t {
			lvl = i + 1
		}
	}
	return max(lvl, 1)
}

// Ability resolves a full or abbreviated ability name, case-insensitively.
func (p *Pack) Ability(name string) (string, bool) {
	n := fold(name)
	if slices.Contains(AbilityNames[:], n) {
		return n, true
	}
	full, ok := p.AbilityAbb[n]
	return full, ok
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Open returns the pack at path, or the embedded default when path is
// empty: what RULES_PACK configures.
func Open(path string) (*Pack, error) {
	if path == "" {
		return Default(), nil
	}
	return LoadFile(path)
}
