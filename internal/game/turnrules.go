package game

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/rules"
)

// turnRules is the rules engine of one generate run: the turn's roller
// (from its committed seed), the character's sheet as the stage read it,
// and what the engine did, for Complete to store with the DM's message.
//
// How the engine reaches the model depends on the provider (docs/RULES.md):
// a model that calls tools (openai) gets the engine's actions as tools; any
// other (replicate, offline) gets the engine's reading of the player's
// message resolved before it narrates (dm.ResolveIntent), as Prompt.Mechanics.
type turnRules struct {
	p       *Pipeline
	turn    Turn
	char    *Character // nil: the session has no character (rolls only)
	seed    dice.Seed
	roller  *dice.Roller
	sheet   rules.Sheet // as read: the engine resolves on it
	version int64
	tools   *dm.RulesTools
	mech    *dm.Mechanics
	rollIDs []uuid.UUID // of the rolls published so far, by index
	// intent is the text the engine reads ("": the prompt's player part).
	// A round turn's is its last action alone, by the turn's player, so
	// no action is resolved against another member's sheet.
	intent string
}

// newTurnRules prepares the engine for a turn; nil for a turn accepted
// before the rules engine (no committed seed).
func (p *Pipeline) newTurnRules(t Turn, char *Character) *turnRules {
	if len(t.diceSeed) != dice.SeedSize {
		return nil
	}
	r := &turnRules{p: p, turn: t, char: char}
	copy(r.seed[:], t.diceSeed)
	r.roller = dice.NewRoller(r.seed)
	if char != nil {
		r.sheet, r.version = char.Sheet, char.SheetVersion
	} else {
		r.sheet, _ = storedSheet([]byte("{}"))
	}
	return r
}

// setup puts the engine into the prompt and publishes the rolls it drew
// before the model runs. announced waits for the turn's status event, so
// rolls follow it.
func (r *turnRules) setup(ctx context.Context, pr *dm.Prompt, announced func()) {
	if r.p.model.Name() == "openai" {
		r.tools = &dm.RulesTools{Engine: r.p.engine, Sheet: r.sheet, Roller: r.roller}
		pr.Tools = &publishingTools{RulesTools: r.tools, after: func() { announced(); r.publishRolls(ctx) }}
		return
	}
	intent := r.intent
	if intent == "" {
		intent = pr.Player
	}
	m := dm.ResolveIntent(r.p.engine, r.sheet, intent, r.roller)
	r.mech = &m
	pr.Mechanics = r.mech
	announced()
	r.publishRolls(ctx)
}

// publishingTools publishes the rolls of each tool call as it is made.
type publishingTools struct {
	*dm.RulesTools
	after func()
}

func (t *publishingTools) Execute(ctx context.Context, call dm.ToolCall) (string, error) {
	out, err := t.RulesTools.Execute(ctx, call)
	t.after()
	return out, err
}

// publishRolls publishes the rolls drawn since the last call as `roll`
// events, giving each the id it will be stored under.
func (r *turnRules) publishRolls(ctx context.Context) {
	rolls := r.roller.Rolls()
	for i := len(r.rollIDs); i < len(rolls); i++ {
		id := uuid.Must(uuid.NewV7())
		r.rollIDs = append(r.rollIDs, id)
		roll := Roll{ID: id, TurnID: &r.turn.ID, Actor: RollActor{DM: true}, Roll: rolls[i]}
		publish(ctx, r.p.pub, r.turn, EventRoll, map[string]any{"roll": roll})
	}
}

// outcomes are the engine's outcomes of the run so far.
func (r *turnRules) outcomes() []rules.Outcome {
	switch {
	case r.tools != nil:
		return r.tools.Outcomes
	case r.mech != nil:
		return r.mech.Outcomes
	}
	return nil
}

// effects are what Complete stores: the rolls, and the changes and new
// sheet when the turn changed its character.
func (r *turnRules) effects() Effects {
	var changes []rules.Change
	sheet := r.sheet
	for _, o := range r.outcomes() {
		changes = append(changes, o.Changes...)
		if o.Refusal == nil {
			sheet = o.Sheet
		}
	}
	e := Effects{Rolls: r.roller.Rolls(), Sheet: sheet, Changes: changes, SheetVersion: r.version, RollIDs: r.rollIDs}
	if r.char != nil {
		e.CharacterID = &r.char.ID
		e.Apply = len(changes) > 0
	}
	return e
}

// reresolve runs the turn's actions again, in order, on the character's
// current sheet (another turn or a PATCH changed it since the stage read
// it), with a roller from the same seed, so no update is lost and every
// stored roll is still the seed's. The narration already streamed told the
// first resolution; the stored rolls and changes are the engine's word.
func (r *turnRules) reresolve(ctx context.Context) error {
	c, err := r.p.store.characterByID(ctx, r.char.ID)
	if err != nil {
		return fmt.Errorf("re-resolve: %w", err)
	}
	r.char, r.sheet, r.version = &c, c.Sheet, c.SheetVersion
	r.roller = dice.NewRoller(r.seed)
	var again []rules.Outcome
	sheet := r.sheet
	for _, o := range r.outcomes() {
		n := r.p.engine.Resolve(sheet, o.Action, r.roller)
		again = append(again, n)
		sheet = n.Sheet
	}
	switch {
	case r.tools != nil:
		r.tools.Outcomes, r.tools.Sheet, r.tools.Roller = again, sheet, r.roller
	case r.mech != nil:
		r.mech.Outcomes, r.mech.Sheet = again, sheet
	}
	return nil
}
