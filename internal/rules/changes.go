package rules

import (
	"errors"
	"fmt"
	"strings"
)

// ErrStale is returned by Apply and Revert when a change's From (or, for
// Revert, To) is not the sheet's current value: the sheet moved on since
// the change was computed, and applying it would lose an update.
var ErrStale = errors.New("the sheet changed since these changes were computed")

// Apply replays changes on a copy of s, in order. Each change's From must
// be the current value.
func Apply(s Sheet, changes []Change) (Sheet, error) {
	s = s.Clone()
	for i, c := range changes {
		if err := apply(&s, c.Path, c.From, c.To); err != nil {
			return Sheet{}, fmt.Errorf("change %d (%s): %w", i, c.Path, err)
		}
	}
	return s, nil
}

// Revert undoes changes on a copy of s, last first: the sheet returns to
// what it was before them.
func Revert(s Sheet, changes []Change) (Sheet, error) {
	s = s.Clone()
	for i := len(changes) - 1; i >= 0; i-- {
		c := changes[i]
		if err := apply(&s, c.Path, c.To, c.From); err != nil {
			return Sheet{}, fmt.Errorf("change %d (%s): %w", i, c.Path, err)
		}
	}
	return s, nil
}

func apply(s *Sheet, path string, from, to int) error {
	var field *int
	switch path {
	case "hp.current":
		field = &s.HP.Current
	case "hp.max":
		field = &s.HP.Max
	case "gold":
		field = &s.Gold
	case "xp":
		field = &s.XP
	case "level":
		field = &s.Level
	}
	if field != nil {
		if *field != from {
			return fmt.Errorf("%w: is %d, expected %d", ErrStale, *field, from)
		}
		*field = to
		return nil
	}
	if name, ok := strings.CutPrefix(path, "inventory."); ok {
		if q := s.Qty(name); q != from {
			return fmt.Errorf("%w: qty is %d, expected %d", ErrStale, q, from)
		}
		if to < 0 {
			return fmt.Errorf("qty %d is negative", to)
		}
		setQty(s, name, to)
		return nil
	}
	if name, ok := strings.CutPrefix(path, "conditions."); ok {
		has := 0
		if s.Has(name) {
			has = 1
		}
		if has != from || (to != 0 && to != 1) {
			return fmt.Errorf("%w: condition is %d, expected %d", ErrStale, has, from)
		}
		setCondition(s, name, to == 1)
		return nil
	}
	return fmt.Errorf("unknown path %q", path)
}

// Restore returns a copy of s with each changed path set back to its From
// value, last change first, whatever the path holds now. Undo and fork use
// it: the story's state before a turn wins over an edit made since (a
// player's PATCH between turns), where Revert would refuse as stale.
// Unknown paths are skipped.
func Restore(s Sheet, changes []Change) Sheet {
	s = s.Clone()
	for i := len(changes) - 1; i >= 0; i-- {
		force(&s, changes[i].Path, changes[i].From)
	}
	return s
}

// Reapply returns a copy of s with each changed path set to its To value,
// in order, whatever the path holds now (selecting an alternative reply
// brings its outcome back).
func Reapply(s Sheet, changes []Change) Sheet {
	s = s.Clone()
	for _, c := range changes {
		force(&s, c.Path, c.To)
	}
	return s
}

func force(s *Sheet, path string, to int) {
	if cur, ok := current(s, path); ok {
		_ = apply(s, path, cur, max(to, 0))
	}
}

// current is the value a change of path compares with.
func current(s *Sheet, path string) (int, bool) {
	switch path {
	case "hp.current":
		return s.HP.Current, true
	case "hp.max":
		return s.HP.Max, true
	case "gold":
		return s.Gold, true
	case "xp":
		return s.XP, true
	case "level":
		return s.Level, true
	}
	if name, ok := strings.CutPrefix(path, "inventory."); ok {
		return s.Qty(name), true
	}
	if name, ok := strings.CutPrefix(path, "conditions."); ok {
		if s.Has(name) {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}
