package dm

// The six abilities of a character sheet, by their keys in Sheet.Abilities.
const (
	Strength     = "strength"
	Dexterity    = "dexterity"
	Constitution = "constitution"
	Intelligence = "intelligence"
	Wisdom       = "wisdom"
	Charisma     = "charisma"
)

// AbilityNames lists the abilities in the sheet's customary order. It is an
// array, so callers get a copy and cannot change it.
var AbilityNames = [6]string{Strength, Dexterity, Constitution, Intelligence, Wisdom, Charisma}

// Sheet is a character sheet: the JSON stored in characters.sheet. The game
// package validates it; here it only feeds the dice and the prompt.
type Sheet struct {
	Abilities map[string]int `json:"abilities,omitempty"` // keys from AbilityNames, scores 1..30
	HP        *HP            `json:"hp,omitempty"`
	Inventory []string       `json:"inventory,omitempty"`
	Notes     string         `json:"notes,omitempty"`
	// Gold and Conditions come from the rules engine's sheet (rules.Sheet),
	// for the prompt only.
	Gold       int      `json:"-"`
	Conditions []string `json:"-"`
}

// HP is a character's hit points.
type HP struct {
	Current int `json:"current"`
	Max     int `json:"max"`
}

// Modifier is the ability modifier of a score, floor((score-10)/2): 10 and
// 11 give +0, 8 and 9 give -1, 18 gives +4. An ability missing from the
// sheet counts as an average 10.
func (s Sheet) Modifier(ability string) int {
	score, ok := s.Abilities[ability]
	if !ok {
		return 0
	}
	d := score - 10
	// Go's division truncates toward zero; the rules floor.
	if d < 0 {
		return (d - 1) / 2
	}
	return d / 2
}

// ProficiencyBonus is the bonus a character of the given level adds to
// checks it is trained in: +2 at levels 1-4, +3 at 5-8, up to +6 at 17-20.
// Levels below 1 count as 1.
func ProficiencyBonus(level int) int {
	return 2 + (max(level, 1)-1)/4
}
