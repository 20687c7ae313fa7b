package game

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/names"
)

// Abilities are the six ability scores a sheet may hold.
var Abilities = []string{"strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"}

// cleanText trims s and checks it is 1..max runes with no control characters.
func cleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apperr.Invalidf(field, "is required")
	}
	if err := checkText(field, s, max, false); err != nil {
		return "", err
	}
	if err := names.Check(s); err != nil {
		return "", apperr.Invalidf(field, "%v", err)
	}
	return s, nil
}

func checkText(field, s string, max int, allowNewlines bool) error {
	if !utf8.ValidString(s) {
		return apperr.Invalidf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return apperr.Invalidf(field, "must be at most %d characters (got %d)", max, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(allowNewlines && (r == '\n' || r == '\t' || r == '\r')) {
			return apperr.Invalidf(field, "must not contain control characters")
		}
	}
	return nil
}

func checkLevel(level int) error {
	if level < 1 || level > 20 {
		return apperr.Invalidf("level", "must be between 1 and 20")
	}
	return nil
}

// ValidateSheet checks a character sheet and normalises it (trimmed items,
// lower-case ability names).
func ValidateSheet(s *dm.Sheet) error {
	if len(s.Abilities) > len(Abilities) {
		return apperr.Invalidf("sheet.abilities", "may hold only %s", strings.Join(Abilities, ", "))
	}
	norm := make(map[string]int, len(s.Abilities))
	for name, score := range s.Abilities {
		key := strings.ToLower(strings.TrimSpace(name))
		known := false
		for _, a := range Abilities {
			known = known || a == key
		}
		if !known {
			return apperr.Invalidf("sheet.abilities", "unknown ability %q (known: %s)", truncate(name, 32), strings.Join(Abilities, ", "))
		}
		if score < 1 || score > 30 {
			return apperr.Invalidf("sheet.abilities."+key, "must be between 1 and 30")
		}
		norm[key] = score
	}
	if len(norm) > 0 {
		s.Abilities = norm
	} else {
		s.Abilities = nil
	}
	if s.HP != nil {
		if s.HP.Max < 1 || s.HP.Max > 999 {
			return apperr.Invalidf("sheet.hp.max", "must be between 1 and 999")
		}
		if s.HP.Current < -s.HP.Max || s.HP.Current > s.HP.Max {
			return apperr.Invalidf("sheet.hp.current", "must be between -max and max")
		}
	}
	if len(s.Inventory) > MaxInventory {
		return apperr.Invalidf("sheet.inventory", "may hold at most %d items", MaxInventory)
	}
	for i, item := range s.Inventory {
		clean, err := cleanText("sheet.inventory", item, MaxItemRunes)
		if err != nil {
			return err
		}
		s.Inventory[i] = clean
	}
	if err := checkText("sheet.notes", s.Notes, MaxNotesRunes, true); err != nil {
		return err
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// ValidateContent checks a player's message: 1..8000 characters.
func ValidateContent(content string) (string, error) {
	if strings.TrimSpace(content) == "" {
		return "", apperr.Invalidf("content", "must not be empty")
	}
	if err := checkText("content", content, MaxContentRunes, true); err != nil {
		return "", err
	}
	return content, nil
}

// ValidateIdempotencyKey checks the Idempotency-Key header ("" = none).
func ValidateIdempotencyKey(k string) error {
	if k == "" {
		return nil
	}
	if len(k) > MaxIdemKeyLen {
		return apperr.Invalidf("Idempotency-Key", "must be at most %d characters", MaxIdemKeyLen)
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return apperr.Invalidf("Idempotency-Key", "must be printable ASCII without spaces")
		}
	}
	return nil
}
