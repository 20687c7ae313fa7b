package dm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	vdice "github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// RulesTools is the ToolExecutor that gives the model the rules engine:
// one tool per action kind. It keeps the turn's sheet current across calls
// and records every outcome; the caller (the generate stage) commits
// Outcomes' changes with the DM's message.
type RulesTools struct {
	Engine   *rules.Engine
	Sheet    rules.Sheet
	Roller   *vdice.Roller // the turn's roller
	Outcomes []rules.Outcome
}

var _ ToolExecutor = (*RulesTools)(nil)

// Changes are all the changes of the turn so far, in order.
func (t *RulesTools) Changes() []rules.Change {
	var out []rules.Change
	for _, o := range t.Outcomes {
		out = append(out, o.Changes...)
	}
	return out
}

func schema(required []string, props map[string]any) map[string]any {
	props["reason"] = map[string]any{"type": "string", "description": "why, in a few words (shown with the roll)"}
	return map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

var (
	pAbility = map[string]any{"type": "string", "enum": []string{"strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"}}
	pDC      = map[string]any{"type": "integer", "minimum": 1, "maximum": 30, "description": "easy 10, medium 15, hard 20"}
	pBool    = map[string]any{"type": "boolean"}
	pDice    = map[string]any{"type": "string", "description": "dice notation NdM+K, e.g. 2d6+1"}
	pItem    = map[string]any{"type": "string", "description": "item name"}
	pQty     = map[string]any{"type": "integer", "minimum": 1}
	pAmount  = map[string]any{"type": "integer", "minimum": 1}
	pCond    = map[string]any{"type": "string", "description": "condition name, e.g. poisoned, prone, unconscious"}
)

// Tools describes the engine's actions.
func (t *RulesTools) Tools() []Tool {
	checkProps := func() map[string]any {
		return map[string]any{"ability": pAbility, "dc": pDC, "advantage": pBool, "disadvantage": pBool, "proficient": pBool,
			"fail_damage": map[string]any{"type": "string", "description": "dice of damage the character takes on a failure, e.g. 1d6 for a fall"}}
	}
	return []Tool{
		{rules.ActCheck, "Roll an ability check for the player's character against a DC.", schema([]string{"ability", "dc"}, checkProps())},
		{rules.ActSave, "Roll a saving throw for the player's character against a DC.", schema([]string{"ability", "dc"}, checkProps())},
		{rules.ActAttack, "The character attacks a target with a weapon they hold (or unarmed); returns hit and damage dealt.", schema([]string{"target_ac"},
			map[string]any{"target_ac": pDC, "weapon": pItem, "advantage": pBool, "disadvantage": pBool})},
		{rules.ActDamage, "The character takes damage.", schema([]string{"dice"}, map[string]any{"dice": pDice})},
		{rules.ActHeal, "The character is healed.", schema([]string{"dice"}, map[string]any{"dice": pDice})},
		{rules.ActUseItem, "The character uses or consumes an item they hold (a healing potion heals).", schema([]string{"item"}, map[string]any{"item": pItem})},
		{rules.ActGiveItem, "The character gives away or loses items they hold.", schema([]string{"item"}, map[string]any{"item": pItem, "qty": pQty})},
		{rules.ActTakeItem, "The character receives or picks up items.", schema([]string{"item"}, map[string]any{"item": pItem, "qty": pQty})},
		{rules.ActGainGold, "The character gains gold.", schema([]string{"amount"}, map[string]any{"amount": pAmount})},
		{rules.ActSpendGold, "The character spends or pays gold; refused if they have too little.", schema([]string{"amount"}, map[string]any{"amount": pAmount})},
		{rules.ActGainXP, "The character gains experience points (may level up).", schema([]string{"amount"}, map[string]any{"amount": pAmount})},
		{rules.ActAddCondition, "A condition starts affecting the character.", schema([]string{"condition"}, map[string]any{"condition": pCond})},
		{rules.ActRemoveCondition, "A condition ends.", schema([]string{"condition"}, map[string]any{"condition": pCond})},
		{rules.ActShortRest, "The character takes a short rest.", schema(nil, map[string]any{})},
		{rules.ActLongRest, "The character takes a long rest.", schema(nil, map[string]any{})},
	}
}

// toolResult is what the model reads back from a call.
type toolResult struct {
	OK      bool           `json:"ok"`
	Error   string         `json:"error,omitempty"`   // a malformed call
	Refused *rules.Refusal `json:"refused,omitempty"` // the rules said no: narrate it
	Success *bool          `json:"success,omitempty"`
	Amount  int            `json:"amount,omitempty"`
	Rolls   []vdice.Roll   `json:"rolls,omitempty"`
	Changes []rules.Change `json:"changes,omitempty"`
	HP      *rules.HP      `json:"hp,omitempty"`
	Gold    *int           `json:"gold,omitempty"`
}

// Execute resolves one call with the engine. Unknown tools and malformed
// arguments get an error result; nothing is changed for them.
func (t *RulesTools) Execute(ctx context.Context, call ToolCall) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if !slices.Contains(rules.ActionKinds, call.Name) {
		return encode(toolResult{Error: fmt.Sprintf("unknown tool %q", call.Name)}), nil
	}
	var a rules.Action
	args := call.Arguments
	if args == "" {
		args = "{}"
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(args)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return encode(toolResult{Error: "malformed arguments: " + err.Error()}), nil
	}
	a.Kind = call.Name
	o := t.Engine.Resolve(t.Sheet, a, t.Roller)
	if o.Refusal != nil {
		return encode(toolResult{Refused: o.Refusal}), nil
	}
	t.Outcomes = append(t.Outcomes, o)
	t.Sheet = o.Sheet
	gold := o.Sheet.Gold
	return encode(toolResult{OK: true, Success: o.Success, Amount: o.Amount, Rolls: o.Rolls, Changes: o.Changes, HP: &o.Sheet.HP, Gold: &gold}), nil
}

func encode(r toolResult) string {
	b, _ := json.Marshal(r) // plain structs: cannot fail
	return string(b)
}
