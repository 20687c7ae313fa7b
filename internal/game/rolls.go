package game

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/apperr"
	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// The rules engine's side of the service: sheets normalised with the pack,
// the engine-owned fields, player rolls and a character's history.

// MaxRollReasonRunes bounds a player roll's reason.
const MaxRollReasonRunes = 100

// WithRules sets the rule pack sheets are normalised with (default: the
// embedded SRD pack).
func WithRules(p *rules.Pack) ServiceOption {
	return func(s *Service) {
		if p != nil {
			s.pack = p
		}
	}
}

// sheet normalises a sheet as a player wrote it (API.md: str/dex…,
// plain-string items, defaults filled in); an absent sheet is the default one.
func (s *Service) sheet(raw []byte) (rules.Sheet, error) {
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	sh, err := s.pack.Normalize(raw)
	if err != nil {
		var fe *rules.FieldError
		if errors.As(err, &fe) {
			return sh, apperr.Invalidf("sheet."+fe.Field, "%s", fe.Message)
		}
		return sh, apperr.Invalidf("sheet", "is not a valid sheet")
	}
	return sh, nil
}

// engineOwnedChange names the first field the rules engine owns during
// play (API.md: hp, gold, xp, conditions, inventory) that differs between
// two sheets, "" when none does.
func engineOwnedChange(old, new rules.Sheet) string {
	switch {
	case old.HP != new.HP:
		return "sheet.hp"
	case old.Gold != new.Gold:
		return "sheet.gold"
	case old.XP != new.XP:
		return "sheet.xp"
	case !slices.Equal(old.Conditions, new.Conditions):
		return "sheet.conditions"
	case !slices.Equal(old.Inventory, new.Inventory):
		return "sheet.inventory"
	}
	return ""
}

// RollCommand reads a composer message of the form "/roll NOTATION
// [reason]"; ok is false for any other message.
func RollCommand(content string) (notation, reason string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(content), "/roll")
	if !found || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return "", "", false
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", true // "/roll" alone: the notation is missing (400)
	}
	return fields[0], strings.Join(fields[1:], " "), true
}

// RollInput is a player's own roll.
type RollInput struct {
	Notation string `json:"notation"`
	Reason   string `json:"reason"`
}

// Roll makes a player's own roll from the session's open seed (docs/DICE.md),
// stores it with a system message that the DM reads on the next turn, and
// publishes it as a `roll` event. A roll spends one of the player's turns
// of the minute (the turn rate limit).
func (s *Service) Roll(ctx context.Context, playerID, sessionID uuid.UUID, in RollInput) (Roll, error) {
	if strings.TrimSpace(in.Notation) == "" {
		return Roll{}, apperr.Invalidf("notation", "is required")
	}
	n, err := dice.Parse(in.Notation)
	if err != nil {
		return Roll{}, apperr.Invalidf("notation", "%s", strings.TrimPrefix(err.Error(), "dice: "))
	}
	reason := strings.TrimSpace(in.Reason)
	if err := checkText("reason", reason, MaxRollReasonRunes, false); err != nil {
		return Roll{}, err
	}
	if err := s.SessionAccess(ctx, playerID, sessionID); err != nil {
		return Roll{}, err
	}
	if s.limits.Rate != nil {
		if err := s.limits.Rate.AllowTurn(ctx, playerID); err != nil {
			return Roll{}, err
		}
	}
	fresh, err := newOpenSeed()
	if err != nil {
		return Roll{}, err
	}
	r, _, err := s.store.insertPlayerRoll(ctx, sessionID, playerID, fresh,
		func(roller *dice.Roller) dice.Roll { return roller.Roll(n, reason) }, describeRoll)
	if err != nil {
		return Roll{}, err
	}
	if _, err := s.pub.PublishTurn(ctx, sessionID, uuid.Nil, EventRoll, map[string]any{"roll": r}); err != nil {
		logPublishFailure(ctx, EventRoll, err)
	}
	return r, nil
}

// SessionSeed serves a session's seed of player rolls by its commitment
// (the `seed_commitment` of each roll drawn from it), with its rolls; the
// seed itself once revealed, so a player can recompute their own rolls.
func (s *Service) SessionSeed(ctx context.Context, playerID, sessionID uuid.UUID, commitment string) (SessionSeed, error) {
	if len(commitment) != 64 || strings.Trim(commitment, "0123456789abcdef") != "" {
		return SessionSeed{}, apperr.Invalidf("commitment", "must be 64 lowercase hex digits")
	}
	if err := s.SessionAccess(ctx, playerID, sessionID); err != nil {
		return SessionSeed{}, err
	}
	return s.store.sessionSeed(ctx, sessionID, commitment)
}

// describeRoll is the system message of a player's roll: what the DM reads
// in the recent messages of the next turn.
func describeRoll(r dice.Roll) string {
	vals := make([]string, len(r.Dice))
	for i, d := range r.Dice {
		vals[i] = fmt.Sprint(d.Value)
	}
	what := "The player rolled " + r.Notation
	if r.Reason != "" {
		what += " for " + r.Reason
	}
	return fmt.Sprintf("%s: [%s] = %d.", what, strings.Join(vals, ", "), r.Total)
}

// CharacterHistory pages backwards through the changes the rules engine
// made to one of the player's characters, newest first.
func (s *Service) CharacterHistory(ctx context.Context, playerID, characterID uuid.UUID, before *uuid.UUID, limit int) (History, error) {
	if err := CheckPageLimit(limit); err != nil {
		return History{}, err
	}
	if _, err := s.GetCharacter(ctx, playerID, characterID); err != nil {
		return History{}, err
	}
	cs, err := s.store.listChanges(ctx, characterID, before, limit+1)
	if err != nil {
		return History{}, err
	}
	var h History
	h.Changes, h.NextBefore = CutPage(cs, limit, func(c ChangeRecord) uuid.UUID { return c.ID })
	return h, nil
}
