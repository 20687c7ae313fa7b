package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/names"
)

// The six abilities, in the sheet's customary order.
var AbilityNames = [6]string{"strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"}

// Limits of a sheet.
const (
	MaxNameLen    = 64 // characters of an item or condition name
	MaxItems      = 100
	MaxQty        = 9999
	MaxConditions = 20
	MaxGold       = 1_000_000_000
	MaxXP         = 10_000_000
	MaxHP         = 999
	MaxNotes      = 4000 // characters
)

// Sheet is a character sheet in the API.md shape. The engine owns hp, gold,
// xp, level, conditions and inventory during play.
type Sheet struct {
	Abilities  Abilities `json:"abilities"`
	HP         HP        `json:"hp"`
	AC         int       `json:"ac"`
	Gold       int       `json:"gold"`
	XP         int       `json:"xp"`
	Level      int       `json:"level"`
	Conditions []string  `json:"conditions"`
	Inventory  []Item    `json:"inventory"`
	Notes      string    `json:"notes"`
}

// Abilities are the six ability scores, 1..30.
type Abilities struct {
	Strength     int `json:"strength"`
	Dexterity    int `json:"dexterity"`
	Constitution int `json:"constitution"`
	Intelligence int `json:"intelligence"`
	Wisdom       int `json:"wisdom"`
	Charisma     int `json:"charisma"`
}

// HP is hit points.
type HP struct {
	Current int `json:"current"`
	Max     int `json:"max"`
}

// Item is one inventory entry.
type Item struct {
	Name string `json:"name"`
	Qty  int    `json:"qty"`
}

// Score returns the score of a full ability name, 0 for an unknown name.
func (a *Abilities) Score(ability string) int {
	if p := a.ptr(ability); p != nil {
		return *p
	}
	return 0
}

func (a *Abilities) ptr(ability string) *int {
	switch ability {
	case "strength":
		return &a.Strength
	case "dexterity":
		return &a.Dexterity
	case "constitution":
		return &a.Constitution
	case "intelligence":
		return &a.Intelligence
	case "wisdom":
		return &a.Wisdom
	case "charisma":
		return &a.Charisma
	}
	return nil
}

// Modifier is floor((score-10)/2) of an ability.
func (s *Sheet) Modifier(ability string) int {
	d := s.Abilities.Score(ability) - 10
	if d < 0 {
		return (d - 1) / 2
	}
	return d / 2
}

// ProficiencyBonus is +2 at levels 1-4, +3 at 5-8, … +6 at 17-20.
func (s *Sheet) ProficiencyBonus() int { return 2 + (max(s.Level, 1)-1)/4 }

// Qty is how many of an item (by name, case-insensitively) the sheet holds.
func (s *Sheet) Qty(name string) int {
	if i := s.itemIndex(name); i >= 0 {
		return s.Inventory[i].Qty
	}
	return 0
}

func (s *Sheet) itemIndex(name string) int {
	for i, it := range s.Inventory {
		if strings.EqualFold(it.Name, name) {
			return i
		}
	}
	return -1
}

// Has reports whether the sheet has a condition.
func (s *Sheet) Has(condition string) bool { return s.conditionIndex(condition) >= 0 }

func (s *Sheet) conditionIndex(name string) int {
	for i, c := range s.Conditions {
		if strings.EqualFold(c, name) {
			return i
		}
	}
	return -1
}

// Clone returns a deep copy; its lists are never nil (they encode as []).
func (s Sheet) Clone() Sheet {
	s.Conditions = append(make([]string, 0, len(s.Conditions)), s.Conditions...)
	s.Inventory = append(make([]Item, 0, len(s.Inventory)), s.Inventory...)
	return s
}

// FieldError is a sheet input error naming the field, for example
// "inventory[2].qty".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// rawSheet is the input form: abilities by any accepted name, inventory
// entries as objects or plain strings, everything optional.
type rawSheet struct {
	Abilities  map[string]int    `json:"abilities"`
	HP         *HP               `json:"hp"`
	AC         *int              `json:"ac"`
	Gold       int               `json:"gold"`
	XP         int               `json:"xp"`
	Level      int               `json:"level"`
	Conditions []string          `json:"conditions"`
	Inventory  []json.RawMessage `json:"inventory"`
	Notes      string            `json:"notes"`
}

// Normalize reads a sheet as a player may write it (API.md): `str`…`cha`
// for the abilities, inventory items as plain strings (qty 1), missing
// fields defaulted (abilities 10, hp 10/10, ac 10, level from xp). It
// refuses what it cannot read with a *FieldError naming the field, and
// validates the result.
func (p *Pack) Normalize(data []byte) (Sheet, error) {
	var raw rawSheet
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Sheet{}, fieldErr(te.Field, "expected %s", te.Type)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return Sheet{}, fieldErr(strings.Trim(f, `"`), "unknown field")
		}
		return Sheet{}, fieldErr("sheet", "not a JSON object")
	}
	s := Sheet{
		Abilities: Abilities{10, 10, 10, 10, 10, 10},
		HP:        HP{10, 10}, AC: 10,
		Gold: raw.Gold, XP: raw.XP, Level: raw.Level, Notes: raw.Notes,
		Conditions: []string{}, Inventory: []Item{},
	}
	seen := map[string]string{}
	for name, score := range raw.Abilities {
		full, ok := p.Ability(name)
		if !ok {
			return Sheet{}, fieldErr("abilities."+name, "unknown ability; use %s or str, dex, con, int, wis, cha", strings.Join(AbilityNames[:], ", "))
		}
		if prev, dup := seen[full]; dup {
			return Sheet{}, fieldErr("abilities."+name, "%s is given twice (also as %q)", full, prev)
		}
		seen[full] = name
		*s.Abilities.ptr(full) = score
	}
	if raw.HP != nil {
		s.HP = *raw.HP
	}
	if raw.AC != nil {
		s.AC = *raw.AC
	}
	if s.Level == 0 {
		s.Level = p.Level(s.XP)
	}
	for _, c := range raw.Conditions {
		if cond, ok := p.Condition(c); ok {
			c = cond.Name
		}
		s.Conditions = append(s.Conditions, c)
	}
	for i, rawItem := range raw.Inventory {
		f := fmt.Sprintf("inventory[%d]", i)
		var it Item
		var name string
		if err := json.Unmarshal(rawItem, &name); err == nil {
			it = Item{Name: name, Qty: 1}
		} else if err := json.Unmarshal(rawItem, &it); err != nil {
			return Sheet{}, fieldErr(f, "expected a name or {name, qty}")
		}
		if err := checkName(it.Name); err != nil {
			return Sheet{}, fieldErr(f+".name", "%v", err)
		}
		it.Name = strings.TrimSpace(it.Name)
		if kind, ok := p.Item(it.Name); ok {
			it.Name = kind.Name
		}
		if j := s.itemIndex(it.Name); j >= 0 {
			// The same item twice is one stack.
			s.Inventory[j].Qty += it.Qty
			continue
		}
		s.Inventory = append(s.Inventory, it)
	}
	if err := p.Validate(s); err != nil {
		return Sheet{}, err
	}
	return s, nil
}

// Validate checks a sheet against the limits and the pack: the invariants
// the engine keeps (0 ≤ hp.current ≤ hp.max, qty ≥ 1, gold ≥ 0, known
// conditions). It returns a *FieldError.
func (p *Pack) Validate(s Sheet) error {
	for _, a := range AbilityNames {
		if v := s.Abilities.Score(a); v < 1 || v > 30 {
			return fieldErr("abilities."+a, "%d is outside 1..30", v)
		}
	}
	switch {
	case s.HP.Max < 1 || s.HP.Max > MaxHP:
		return fieldErr("hp.max", "%d is outside 1..%d", s.HP.Max, MaxHP)
	case s.HP.Current < 0 || s.HP.Current > s.HP.Max:
		return fieldErr("hp.current", "%d is outside 0..%d (hp.max)", s.HP.Current, s.HP.Max)
	case s.AC < 1 || s.AC > 30:
		return fieldErr("ac", "%d is outside 1..30", s.AC)
	case s.Gold < 0 || s.Gold > MaxGold:
		return fieldErr("gold", "%d is outside 0..%d", s.Gold, MaxGold)
	case s.XP < 0 || s.XP > MaxXP:
		return fieldErr("xp", "%d is outside 0..%d", s.XP, MaxXP)
	case s.Level < 1 || s.Level > len(p.Levels):
		return fieldErr("level", "%d is outside 1..%d", s.Level, len(p.Levels))
	case len(s.Conditions) > MaxConditions:
		return fieldErr("conditions", "at most %d", MaxConditions)
	case len(s.Inventory) > MaxItems:
		return fieldErr("inventory", "at most %d items", MaxItems)
	case utf8.RuneCountInString(s.Notes) > MaxNotes:
		return fieldErr("notes", "at most %d characters", MaxNotes)
	}
	for i, c := range s.Conditions {
		f := fmt.Sprintf("conditions[%d]", i)
		if _, ok := p.Condition(c); !ok {
			return fieldErr(f, "unknown condition %q", c)
		}
		if s.conditionIndex(c) != i {
			return fieldErr(f, "%q is listed twice", c)
		}
	}
	for i, it := range s.Inventory {
		f := fmt.Sprintf("inventory[%d]", i)
		if err := checkName(it.Name); err != nil {
			return fieldErr(f+".name", "%v", err)
		}
		if it.Qty < 1 || it.Qty > MaxQty {
			return fieldErr(f+".qty", "%d is outside 1..%d", it.Qty, MaxQty)
		}
		if s.itemIndex(it.Name) != i {
			return fieldErr(f+".name", "%q is listed twice", it.Name)
		}
	}
	return nil
}

// checkName refuses empty, over-long and deceptive names: control
// characters, bidirectional overrides (which can make a name display as
// another) and names made only of invisible characters.
func checkName(name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return errors.New("empty")
	}
	if !utf8.ValidString(name) {
		return errors.New("not valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return fmt.Errorf("longer than %d characters", MaxNameLen)
	}
	return names.Check(name)
}
