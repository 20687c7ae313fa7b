package game_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/codeofconquest/brightdawn/internal/dice"
	"github.com/codeofconquest/brightdawn/internal/dm"
	"github.com/codeofconquest/brightdawn/internal/game"
)

// adventurer creates a character with the sheet and a session it plays.
func (b bundle) adventurer(t *testing.T, sheet string) (playerID uuid.UUID, c game.Character, s game.Session) {
	t.Helper()
	ctx := context.Background()
	playerID = uuid.New()
	c, err := b.svc.CreateCharacter(ctx, playerID, game.CharacterInput{Name: "Aria", Class: "rogue", Sheet: json.RawMessage(sheet)})
	require.NoError(t, err)
	s, err = b.svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Rules test", CharacterID: &c.ID})
	require.NoError(t, err)
	return playerID, c, s
}

// play posts a message and runs the turn's stages to the end.
func (b bundle) play(t *testing.T, pipe *game.Pipeline, playerID, sessionID uuid.UUID, content string) game.Turn {
	t.Helper()
	ctx := context.Background()
	_, turn, err := b.svc.PostMessage(ctx, playerID, sessionID, content, "")
	require.NoError(t, err)
	require.Len(t, turn.DiceCommitment, 64, "the commitment is on the accepted turn")
	require.Empty(t, turn.DiceSeed, "the seed is secret until the turn ends")
	for _, s := range []stage{pipe.Embed, pipe.Retrieve, pipe.Generate} {
		require.NoError(t, run(ctx, s, turn.ID))
	}
	got, err := b.svc.GetTurn(ctx, playerID, turn.ID)
	require.NoError(t, err)
	return got
}

func (b bundle) reply(t *testing.T, playerID uuid.UUID, turn game.Turn) string {
	t.Helper()
	require.NotNil(t, turn.DMMessageID)
	m, err := b.store.GetMessage(context.Background(), *turn.DMMessageID)
	require.NoError(t, err)
	return m.Content
}

func verifyTurn(t *testing.T, turn game.Turn) {
	t.Helper()
	seed, err := dice.ParseSeed(turn.DiceSeed)
	require.NoError(t, err, "the seed is revealed once the turn is final")
	require.NoError(t, dice.CheckCommitment(seed, turn.DiceCommitment))
	rolls := make([]dice.Roll, len(turn.Rolls))
	for i, r := range turn.Rolls {
		rolls[i] = r.Roll
	}
	require.NoError(t, dice.Verify(seed, rolls), "every die recomputes from the revealed seed")
}

func TestDrinkingAPotionChangesTheSheetWithTheReplyAndOnlyOnce(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, c, s := b.adventurer(t, `{"hp":{"current":5,"max":20},"inventory":["healing potion"],"abilities":{"str":12}}`)
	turn := b.play(t, b.pipe, playerID, s.ID, "I drink my healing potion.")
	require.Equal(t, game.StatusCompleted, turn.Status)
	verifyTurn(t, turn)
	require.Len(t, turn.Rolls, 1, "the potion's 2d4+2")
	require.Equal(t, "2d4+2", turn.Rolls[0].Notation)
	healed := turn.Rolls[0].Total
	paths := map[string][2]int{}
	for _, ch := range turn.Changes {
		paths[ch.Path] = [2]int{ch.From, ch.To}
	}
	require.Equal(t, [2]int{1, 0}, paths["inventory.healing potion"])
	require.Equal(t, [2]int{5, min(20, 5+healed)}, paths["hp.current"])

	got, err := b.svc.GetCharacter(ctx, playerID, c.ID)
	require.NoError(t, err)
	require.Equal(t, min(20, 5+healed), got.Sheet.HP.Current)
	require.Zero(t, got.Sheet.Qty("healing potion"))
	require.Contains(t, b.reply(t, playerID, turn), "regain", "the narration tells the engine's outcome")
	require.Equal(t, 1, b.rec.count(game.EventRoll, turn.ID.String()))
	require.Equal(t, 1, b.rec.count(game.EventSheetChanged, turn.ID.String()))

	// Running the generate stage again (a redelivered task) applies nothing twice.
	require.NoError(t, run(ctx, b.pipe.Generate, turn.ID))
	h, err := b.svc.CharacterHistory(ctx, playerID, c.ID, nil, 50)
	require.NoError(t, err)
	require.Len(t, h.Changes, len(turn.Changes))

	// The second drink is refused by the engine, and the narration says so.
	again := b.play(t, b.pipe, playerID, s.ID, "I drink my healing potion.")
	require.Equal(t, game.StatusCompleted, again.Status)
	require.Empty(t, again.Changes)
	require.Empty(t, again.Rolls, "a refusal rolls no dice")
	require.Contains(t, strings.ToLower(b.reply(t, playerID, again)), "potion")
	after, err := b.svc.GetCharacter(ctx, playerID, c.ID)
	require.NoError(t, err)
	require.Equal(t, got.Sheet, after.Sheet)
	require.Zero(t, b.rec.count(game.EventSheetChanged, again.ID.String()))
}

// brokenModel fails every generation.
type brokenModel struct{}

func (brokenModel) Name() string { return "broken" }
func (brokenModel) Stream(context.Context, dm.Prompt, func(string) error) (dm.Usage, error) {
	return dm.Usage{}, &dm.Error{Code: dm.CodeError, Message: "the model refused the request"}
}

func TestAFailedTurnChangesNothingAndRevealsItsSeed(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, c, s := b.adventurer(t, `{"hp":{"current":5,"max":20},"inventory":["healing potion"]}`)
	pipe := game.NewPipeline(b.store, b.rec, b.models, b.search, brokenModel{}, game.PipelineOptions{MemoryK: 8, RecentN: 4})
	turn := b.play(t, pipe, playerID, s.ID, "I drink my healing potion.")
	require.Equal(t, game.StatusFailed, turn.Status)
	require.Empty(t, turn.Changes)
	require.Empty(t, turn.Rolls)
	seed, err := hex.DecodeString(turn.DiceSeed)
	require.NoError(t, err)
	require.Len(t, seed, 32, "a failed turn reveals its seed too")
	got, err := b.svc.GetCharacter(ctx, playerID, c.ID)
	require.NoError(t, err)
	require.Equal(t, c.Sheet, got.Sheet)
	require.Equal(t, 1, got.Sheet.Qty("healing potion"))
}

// hookModel is the offline narrator that runs hook (once) before it narrates.
type hookModel struct {
	*dm.Offline
	fired atomic.Bool
	hook  func()
}

func (m *hookModel) Stream(ctx context.Context, p dm.Prompt, emit func(string) error) (dm.Usage, error) {
	if m.fired.CompareAndSwap(false, true) { // the hook's own turn narrates plainly
		m.hook()
	}
	return m.Offline.Stream(ctx, p, emit)
}

// Two turns drink from one character's stack of potions; the second
// completes while the first is still narrating. The first then finds the
// sheet changed, re-resolves on it, and both drinks count.
func TestConcurrentTurnsOnOneCharacterLoseNoUpdate(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, c, s1 := b.adventurer(t, `{"hp":{"current":1,"max":40},"inventory":[{"name":"healing potion","qty":2}]}`)
	s2, err := b.svc.CreateSession(ctx, playerID, game.SessionInput{Title: "Second table", CharacterID: &c.ID})
	require.NoError(t, err)
	_, first, err := b.svc.PostMessage(ctx, playerID, s1.ID, "I drink a healing potion.", "")
	require.NoError(t, err)
	_, second, err := b.svc.PostMessage(ctx, playerID, s2.ID, "I drink a healing potion.", "")
	require.NoError(t, err)
	for _, id := range []uuid.UUID{first.ID, second.ID} {
		require.NoError(t, run(ctx, b.pipe.Embed, id))
		require.NoError(t, run(ctx, b.pipe.Retrieve, id))
	}
	var inner error
	model := &hookModel{Offline: dm.NewOffline(dm.OfflineOptions{})}
	pipe := game.NewPipeline(b.store, b.rec, b.models, b.search, model, game.PipelineOptions{MemoryK: 8, RecentN: 4})
	model.hook = func() { inner = run(ctx, pipe.Generate, second.ID) }
	require.NoError(t, run(ctx, pipe.Generate, first.ID))
	require.NoError(t, inner)

	got, err := b.svc.GetCharacter(ctx, playerID, c.ID)
	require.NoError(t, err)
	require.Zero(t, got.Sheet.Qty("healing potion"), "both potions were drunk")
	t1, err := b.svc.GetTurn(ctx, playerID, first.ID)
	require.NoError(t, err)
	t2, err := b.svc.GetTurn(ctx, playerID, second.ID)
	require.NoError(t, err)
	healed := 0
	for _, tr := range []game.Turn{t1, t2} {
		require.Equal(t, game.StatusCompleted, tr.Status)
		verifyTurn(t, tr)
		healed += tr.Rolls[0].Total
	}
	require.Equal(t, min(40, 1+healed), got.Sheet.HP.Current, "both heals count")
	h, err := b.svc.CharacterHistory(ctx, playerID, c.ID, nil, 50)
	require.NoError(t, err)
	require.Len(t, h.Changes, 4, "two drinks, each: the potion and hp")
	// The history chains: every change starts where the one before it ended.
	last := map[string]int{}
	for i := len(h.Changes) - 1; i >= 0; i-- {
		ch := h.Changes[i]
		if prev, ok := last[ch.Path]; ok {
			require.Equal(t, prev, ch.From, "change %s", ch.Path)
		}
		last[ch.Path] = ch.To
	}
}

func TestPatchOfEngineOwnedFieldsDuringATurnIsAConflict(t *testing.T) {
	b := newBundle(t)
	ctx := context.Background()
	playerID, c, s := b.adventurer(t, `{"gold":5}`)
	_, _, err := b.svc.PostMessage(ctx, playerID, s.ID, "I look around.", "")
	require.NoError(t, err)
	_, err = b.svc.UpdateCharacter(ctx, playerID, c.ID, game.CharacterPatch{Sheet: json.RawMessage(`{"gold":500}`)})
	require.Error(t, err)
	require.Contains(t, err.Error(), "sheet.gold")
	got, err := b.svc.GetCharacter(ctx, playerID, c.ID)
	require.NoError(t, err)
	require.Equal(t, 5, got.Sheet.Gold, "nothing stored")
	name := "Aria the Bold"
	_, err = b.svc.UpdateCharacter(ctx, playerID, c.ID, game.CharacterPatch{Name: &name})
	require.NoError(t, err, "fields the engine does not own stay editable")
}
